"""The three scenarios every installation starts with: base (the default), committed, full.

Idempotent: each is looked up by slug and only created when missing, so running it on a database
that already has them (or where someone changed their names or reserve) changes nothing. ``base``
becomes the default only if no other scenario already is (there is exactly one default). Reversing
it leaves the scenarios in place: by then they may carry adjustments and snapshots worth keeping.
"""

from decimal import Decimal

from django.db import migrations

DEFAULT_SCENARIOS = (
    ("base", "Base (weighted pipeline)", "weighted", True),
    ("committed", "Committed only", "committed", False),
    ("full", "Full pipeline", "full", False),
)


def create_default_scenarios(apps, schema_editor):
    Scenario = apps.get_model("funding", "Scenario")
    for slug, name, pipeline, is_default in DEFAULT_SCENARIOS:
        if Scenario.objects.filter(slug=slug).exists():
            continue
        Scenario.objects.create(
            slug=slug,
            name=name,
            pipeline=pipeline,
            reserve=Decimal("0.00"),
            horizon_months=60,
            is_default=is_default and not Scenario.objects.filter(is_default=True).exists(),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0002_runway_alert"),
    ]

    operations = [
        migrations.RunPython(create_default_scenarios, migrations.RunPython.noop),
    ]
