"""Writes with business rules for usage fee schedules and their tiers.

Every door (the admin, imports and the API) writes through these services (docs/architecture.md
"One write path"). The rules across rows of one schedule: each bound appears once, and at most
one tier is open (no upper bound). A schedule in use by a contract cannot be deleted (PROTECT).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.services import ModelWrites, assign, by_natural_key, full_clean_with

from .models import UsageFeeSchedule, UsageFeeTier

SCHEDULE_FIELDS = frozenset({"slug", "name", "currency"})
TIER_FIELDS = frozenset({"schedule", "up_to", "unit_price"})


def _schedule_by_slug(value: UsageFeeSchedule | str) -> UsageFeeSchedule:
    return by_natural_key(UsageFeeSchedule, value, key="slug", field="schedule", noun="usage fee schedule")


@transaction.atomic
def usage_fee_schedule_create(*, slug: str, name: str, currency: str | None = None) -> UsageFeeSchedule:
    schedule = UsageFeeSchedule(slug=slug, name=name)
    if currency:
        schedule.currency = currency
    schedule.full_clean()
    schedule.save()
    return schedule


@transaction.atomic
def usage_fee_schedule_update(
    *, usage_fee_schedule: UsageFeeSchedule, data: Mapping[str, Any]
) -> UsageFeeSchedule:
    assign(usage_fee_schedule, data, SCHEDULE_FIELDS)
    usage_fee_schedule.full_clean()
    usage_fee_schedule.save()
    return usage_fee_schedule


def usage_fee_tier_validate(tier: UsageFeeTier) -> None:
    """The rules across the schedule's tiers: a bound once, one open tier."""
    if tier.schedule_id is None:
        return
    others = UsageFeeTier.objects.filter(schedule_id=tier.schedule_id).exclude(pk=tier.pk)
    if tier.up_to is None and others.filter(up_to__isnull=True).exists():
        raise ValidationError(
            {
                "up_to": f"Schedule {tier.schedule.slug} already has a tier without an upper bound; give this one a bound."
            }
        )
    if tier.up_to is not None and others.filter(up_to=tier.up_to).exists():
        raise ValidationError(
            {"up_to": f"Schedule {tier.schedule.slug} already has a tier up to {tier.up_to:,} users."}
        )


@transaction.atomic
def usage_fee_tier_create(
    *, schedule: UsageFeeSchedule | str, unit_price: Decimal, up_to: int | None = None
) -> UsageFeeTier:
    tier = UsageFeeTier(schedule=_schedule_by_slug(schedule), up_to=up_to, unit_price=unit_price)
    full_clean_with(tier, usage_fee_tier_validate)
    tier.save()
    return tier


@transaction.atomic
def usage_fee_tier_update(*, usage_fee_tier: UsageFeeTier, data: Mapping[str, Any]) -> UsageFeeTier:
    data = dict(data)
    if "schedule" in data:
        data["schedule"] = _schedule_by_slug(data["schedule"])
    assign(usage_fee_tier, data, TIER_FIELDS)
    full_clean_with(usage_fee_tier, usage_fee_tier_validate)
    usage_fee_tier.save()
    return usage_fee_tier


USAGE_FEE_SCHEDULE_WRITES = ModelWrites(
    model=UsageFeeSchedule,
    create=usage_fee_schedule_create,
    update=usage_fee_schedule_update,
    fields=SCHEDULE_FIELDS,
)
USAGE_FEE_TIER_WRITES = ModelWrites(
    model=UsageFeeTier,
    create=usage_fee_tier_create,
    update=usage_fee_tier_update,
    validate=usage_fee_tier_validate,
    fields=TIER_FIELDS,
)
