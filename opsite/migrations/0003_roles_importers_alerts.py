from django.db import migrations


def sync_roles(apps, schema_editor):
    from opsite.core.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    """Give the roles the models added since 0001: importer sources and runs, runway alerts."""

    dependencies = [
        ("opsite", "0002_rollups"),
        ("communities", "0002_usage_sources"),
        ("contributions", "0002_sync_runs"),
        ("funding", "0003_default_scenarios"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
