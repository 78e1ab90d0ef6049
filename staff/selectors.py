"""Reads of the roster and its compensation history.

Compensation is sensitive: callers decide who may see what these return (see docs/roles.md);
nothing here checks permissions.
"""

from __future__ import annotations

from datetime import date

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from .models import Compensation, StaffMember


def employed_on_q(day: date, prefix: str = "") -> Q:
    """Employed on ``day`` (docs/definitions.md "Headcount / FTE"): started, and not yet ended.

    ``start_on <= day`` and no end or ``end_on >= day``: the last day counts.

    ``prefix`` (e.g. ``"author__"``) applies the rule through a relation.
    """
    return Q(**{f"{prefix}start_on__lte": day}) & (
        Q(**{f"{prefix}end_on__isnull": True}) | Q(**{f"{prefix}end_on__gte": day})
    )


def staff_member_list() -> QuerySet[StaffMember]:
    return StaffMember.objects.order_by("name", "slug")


def staff_employed_on(day: date) -> QuerySet[StaffMember]:
    """The people on the team on ``day``, by name."""
    return StaffMember.objects.filter(employed_on_q(day)).order_by("name", "slug")


def staff_members_by_github() -> dict[str, StaffMember]:
    """Every staff member with a GitHub login, keyed by the login in lower case.

    One query, for resolving many pull-request authors at once (logins are case-insensitive).
    """
    return {m.github.lower(): m for m in StaffMember.objects.exclude(github__isnull=True).order_by("pk")}


def compensation_list() -> QuerySet[Compensation]:
    return Compensation.objects.select_related("staff").order_by(
        "staff__name", "staff__slug", "-effective_on"
    )


def compensation_in_effect(staff: StaffMember | int, day: date) -> Compensation | None:
    """The pay record of ``staff`` in effect on ``day``: the latest ``effective_on <= day``."""
    return Compensation.objects.filter(staff=staff, effective_on__lte=day).order_by("-effective_on").first()


def compensation_in_effect_subquery(day: date, field: str, staff_ref: str = "pk") -> Subquery:
    """A column of the pay record in effect on ``day`` for the staff member at ``staff_ref``.

    For annotating a staff queryset without a query per row.
    """
    return Subquery(
        Compensation.objects.filter(staff=OuterRef(staff_ref), effective_on__lte=day)
        .order_by("-effective_on")
        .values(field)[:1]
    )


def staff_member_list_with_pay(day: date | None = None) -> QuerySet[StaffMember]:
    """:func:`staff_member_list` with ``current_annual_salary``/``current_benefits_rate``/
    ``current_currency`` of the pay in effect on ``day`` (``None`` when there is none).

    **Sensitive**: only for users who may view compensation. ``day`` is today by default.
    """
    day = day or timezone.localdate()
    return staff_member_list().annotate(
        current_annual_salary=compensation_in_effect_subquery(day, "annual_salary"),
        current_benefits_rate=compensation_in_effect_subquery(day, "benefits_rate"),
        current_currency=compensation_in_effect_subquery(day, "currency"),
    )
