from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("opsite", "0001_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="Rollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("key", models.CharField(max_length=200, unique=True)),
                ("value", models.JSONField()),
                ("version", models.CharField(max_length=64)),
                ("computed_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["key"],
            },
        ),
    ]
