"""Operations and Finance keep the usage fee schedules and tiers, as they keep contracts;
Leadership reads them (docs/roles.md)."""

from django.db import migrations


def sync_roles(apps, schema_editor):
    from opsite.core.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0004_default_usage_fee_schedule"),
        ("opsite", "0005_recompute_queue_and_failure"),
        ("staff", "0003_plausible_dates"),
        ("communities", "0004_plausible_dates"),
        ("contributions", "0003_plausible_dates"),
        ("funding", "0005_plausible_dates"),
    ]

    operations = [
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
