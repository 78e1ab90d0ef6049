"""Operations and Finance keep the impact stories; Leadership reads them (docs/roles.md)."""

from django.db import migrations


def sync_roles(apps, schema_editor):
    from opsite.core.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0001_impact_story"),
        ("opsite", "0005_recompute_queue_and_failure"),
        ("staff", "0003_plausible_dates"),
        ("communities", "0004_plausible_dates"),
        ("contributions", "0003_plausible_dates"),
        ("funding", "0005_plausible_dates"),
    ]

    operations = [
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
