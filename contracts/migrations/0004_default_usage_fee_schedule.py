"""The usage fee schedule every installation starts with, ``mau-2024``.

Users 1-10 at 10.00 each, 11-100 at 5.00, 101-1,000 at 2.50, 1,001-10,000 at 1.25, above 10,000
at 0.00: so 10 users cost 100.00 a month, 100 cost 550.00, 1,000 cost 2,800.00, and 10,000 or
more cost 14,050.00 (docs/definitions.md "Usage fees"). In the reporting currency.

Idempotent: created only when no schedule has the slug, so a schedule someone changed is kept.
Reversing it leaves the schedule: contracts may be priced on it by then.
"""

from decimal import Decimal

from django.conf import settings
from django.db import migrations

DEFAULT_SCHEDULE = ("mau-2024", "Monthly active users (2024)")
DEFAULT_TIERS = (
    (10, Decimal("10.00")),
    (100, Decimal("5.00")),
    (1_000, Decimal("2.50")),
    (10_000, Decimal("1.25")),
    (None, Decimal("0.00")),
)


def create_default_schedule(apps, schema_editor):
    Schedule = apps.get_model("contracts", "UsageFeeSchedule")
    Tier = apps.get_model("contracts", "UsageFeeTier")
    slug, name = DEFAULT_SCHEDULE
    if Schedule.objects.filter(slug=slug).exists():
        return
    schedule = Schedule.objects.create(slug=slug, name=name, currency=settings.OPSITE_CURRENCY)
    Tier.objects.bulk_create(
        Tier(schedule=schedule, up_to=up_to, unit_price=price) for up_to, price in DEFAULT_TIERS
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0003_usage_fee_schedules"),
    ]

    operations = [
        migrations.RunPython(create_default_schedule, migrations.RunPython.noop),
    ]
