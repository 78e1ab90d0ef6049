from django.db import migrations, models


def copy_states(apps, schema_editor):
    """Carry over what the funding app's table said was still owed."""
    old = apps.get_model("funding", "RecomputeState")
    new = apps.get_model("opsite", "RecomputeState")
    new.objects.bulk_create(
        new(
            kind=row.kind,
            pending=row.pending,
            requested_at=row.requested_at,
            succeeded_at=row.succeeded_at,
        )
        for row in old.objects.all()
    )


def copy_back(apps, schema_editor):
    old = apps.get_model("funding", "RecomputeState")
    new = apps.get_model("opsite", "RecomputeState")
    old.objects.bulk_create(
        old(kind=row.kind, pending=row.pending, requested_at=row.requested_at, succeeded_at=row.succeeded_at)
        for row in new.objects.all()
    )




class Migration(migrations.Migration):
    """The recompute scheduler's state moves from the funding app to the kernel."""

    dependencies = [
        ("opsite", "0003_roles_importers_alerts"),
        ("funding", "0003_default_scenarios"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecomputeState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[("rollups", "Impact rollups"), ("runway", "Runway")], max_length=20, unique=True
                    ),
                ),
                ("pending", models.BooleanField(default=False)),
                ("requested_at", models.DateTimeField(blank=True, null=True)),
                ("succeeded_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={"ordering": ["kind"]},
        ),
        migrations.RunPython(copy_states, copy_back),
    ]
