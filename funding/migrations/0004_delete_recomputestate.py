from django.db import migrations


def sync_roles(apps, schema_editor):
    from opsite.core.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    """The recompute state now lives in the kernel (opsite 0004 copied its rows)."""

    dependencies = [
        ("funding", "0003_default_scenarios"),
        ("opsite", "0004_recomputestate"),
    ]

    operations = [
        migrations.DeleteModel(name="RecomputeState"),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
