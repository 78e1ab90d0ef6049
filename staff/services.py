"""Writes to the roster and its compensation history, with the rules that guard them.

Every write path (admin, import, API, demo loader) ends in these functions or in the model's
``clean()``, which calls the ``*_validate`` functions below, so the rules hold whoever writes.

Error messages about compensation never repeat an amount: they may reach a log or a screen, and
only Finance and Leadership may see pay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.services import by_natural_key

from .choices import Employment
from .models import Compensation, StaffMember

# GitHub logins: letters, digits and hyphens, 39 characters at most, not starting with a hyphen.
# (Some old accounts have doubled or trailing hyphens, so those are allowed.)
GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")

STAFF_MEMBER_FIELDS = frozenset(
    {
        "slug",
        "name",
        "github",
        "email",
        "title",
        "team",
        "employment",
        "fte",
        "start_on",
        "end_on",
        "country",
        "distinguished_contributor",
    }
)
COMPENSATION_FIELDS = frozenset({"effective_on", "annual_salary", "benefits_rate", "currency"})


def _day(value: object) -> date | None:
    """``value`` if it is already a date. Fields that failed to parse are reported elsewhere."""
    return value if isinstance(value, date) else None


def _assign(instance, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Set ``data`` on ``instance``; an unknown field is a programming error, not bad input."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise TypeError(f"{type(instance).__name__} cannot be updated with {', '.join(unknown)}")
    for field, value in data.items():
        setattr(instance, field, value)


def _normalize_github(value: str | None) -> str | None:
    # A blank login is stored as NULL: several people without one must not collide on "" in the
    # case-insensitive unique index.
    if value is None:
        return None
    value = value.strip().removeprefix("@").strip()
    return value or None


def staff_member_validate(staff_member: StaffMember) -> None:
    """The rules of a staff member that span rows or fields (called from ``clean()``).

    Normalizes ``github`` (trimmed, leading ``@`` dropped, blank stored as NULL) before checking
    that no one else has the same login in any letter case.
    """
    errors: dict[str, str] = {}
    staff_member.github = _normalize_github(staff_member.github)
    login = staff_member.github
    if login is not None:
        if not GITHUB_LOGIN.match(login):
            errors["github"] = (
                f"{login!r} is not a GitHub login: use letters, digits and hyphens, "
                "at most 39 characters, not starting with a hyphen."
            )
        else:
            clashes = StaffMember.objects.filter(github__iexact=login)
            if staff_member.pk is not None:
                clashes = clashes.exclude(pk=staff_member.pk)
            clash = clashes.only("name", "github").first()
            if clash is not None:
                errors["github"] = (
                    f"GitHub login {login!r} is already used by {clash.name} (as {clash.github!r}); "
                    "logins are unique regardless of case."
                )

    start_on, end_on = _day(staff_member.start_on), _day(staff_member.end_on)
    if start_on and end_on and end_on < start_on:
        errors["end_on"] = f"End on {end_on.isoformat()} is before start on {start_on.isoformat()}."
    if errors:
        raise ValidationError(errors)


def compensation_validate(compensation: Compensation) -> None:
    """Pay runs only while the person is employed: ``effective_on`` within start and end.

    Called from ``Compensation.clean()``; in the admin's inline the staff member may be unsaved,
    which is fine: only its dates are read.
    """
    try:
        staff_member = compensation.staff
    except StaffMember.DoesNotExist:
        return  # the missing staff member is reported by field validation
    effective_on = _day(compensation.effective_on)
    start_on, end_on = _day(staff_member.start_on), _day(staff_member.end_on)
    if effective_on is None or start_on is None:
        return
    if effective_on < start_on:
        raise ValidationError(
            {
                "effective_on": (
                    f"Effective on {effective_on.isoformat()} is before {staff_member.name}'s start on "
                    f"{start_on.isoformat()}; pay cannot begin before employment does."
                )
            }
        )
    if end_on is not None and effective_on > end_on:
        raise ValidationError(
            {
                "effective_on": (
                    f"Effective on {effective_on.isoformat()} is after {staff_member.name}'s end on "
                    f"{end_on.isoformat()}; pay cannot change after employment ends."
                )
            }
        )


def _staff_member_by_slug(value: StaffMember | str, *, field: str = "staff") -> StaffMember:
    return by_natural_key(StaffMember, value, key="slug", field=field)


@transaction.atomic
def staff_member_create(
    *,
    slug: str,
    name: str,
    team: str,
    start_on: date,
    employment: str = Employment.FULL_TIME,
    fte: Decimal = Decimal("1.00"),
    github: str | None = None,
    email: str = "",
    title: str = "",
    end_on: date | None = None,
    country: str = "",
    distinguished_contributor: bool = False,
) -> StaffMember:
    staff_member = StaffMember(
        slug=slug,
        name=name,
        team=team,
        start_on=start_on,
        employment=employment,
        fte=fte,
        github=github,
        email=email,
        title=title,
        end_on=end_on,
        country=country,
        distinguished_contributor=distinguished_contributor,
    )
    staff_member.full_clean()
    staff_member.save()
    return staff_member


@transaction.atomic
def staff_member_update(*, staff_member: StaffMember, data: Mapping[str, Any]) -> StaffMember:
    """Change the fields named in ``data`` (any of :data:`STAFF_MEMBER_FIELDS`)."""
    _assign(staff_member, data, STAFF_MEMBER_FIELDS)
    staff_member.full_clean()
    staff_member.save()
    return staff_member


@transaction.atomic
def compensation_create(
    *,
    staff: StaffMember | str,
    effective_on: date,
    annual_salary: Decimal,
    benefits_rate: Decimal = Decimal("0"),
    currency: str | None = None,
) -> Compensation:
    """Record pay from ``effective_on``; ``staff`` is a staff member or its slug.

    Amounts are taken as given: one with more places than the column holds is refused by
    ``full_clean()``, never rounded.
    """
    compensation = Compensation(
        staff=_staff_member_by_slug(staff),
        effective_on=effective_on,
        annual_salary=annual_salary,
        benefits_rate=benefits_rate,
    )
    if currency is not None:
        compensation.currency = currency
    compensation.full_clean()
    compensation.save()
    return compensation


@transaction.atomic
def compensation_update(*, compensation: Compensation, data: Mapping[str, Any]) -> Compensation:
    """Change the fields named in ``data`` (any of :data:`COMPENSATION_FIELDS`).

    The staff member of a pay record is not changeable: record the pay under the right person
    and delete the wrong row, so the audit history of each person stays their own.
    """
    _assign(compensation, data, COMPENSATION_FIELDS)
    compensation.full_clean()
    compensation.save()
    return compensation
