"""Finance keeps the cloud costs and their sources; Operations and Leadership read them
(docs/roles.md)."""

from django.db import migrations


def sync_roles(apps, schema_editor):
    from opsite.core.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("communities", "0005_cloud_costs"),
        ("opsite", "0006_importjob"),
        ("staff", "0003_plausible_dates"),
        ("contributions", "0003_plausible_dates"),
        ("contracts", "0005_usage_fee_roles"),
        ("funding", "0005_plausible_dates"),
        ("kpis", "0002_impact_story_roles"),
    ]

    operations = [
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
