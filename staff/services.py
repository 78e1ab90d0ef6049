"""Writes to the roster and its compensation history, with the rules that guard them.

Every door (admin, import, API) writes through the :class:`~opsite.core.services.ModelWrites` at
the bottom of this module, and the demo loader and the other apps call these functions directly
(docs/architecture.md "One write path"). A row's own fields are checked by the model's ``clean()``;
the rules across rows are the ``*_validate`` functions below, which a form also runs before saving.

A roster change that can change who authored a pull request (a person added or deleted, their
GitHub login or their employment dates changed) is announced as ``ROSTER_CHANGED``, once per
transaction: ``contributions`` (an app above this one) re-resolves pull-request authors on it.

Error messages about compensation never repeat an amount: they may reach a log or a screen, and
only Finance and Leadership may see pay (docs/roles.md "What is sensitive").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.events import ROSTER_CHANGED, announce
from opsite.core.services import ModelWrites, assign, by_natural_key, full_clean_with

from .choices import Employment
from .models import GITHUB_LOGIN, Compensation, StaffMember, normalize_github

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

# The columns whose change can change which pull requests are ours.
ROSTER_COLUMNS = ("github", "start_on", "end_on")


def _day(value: object) -> date | None:
    """``value`` if it is already a date. Fields that failed to parse are reported elsewhere."""
    return value if isinstance(value, date) else None


# --- rules across rows ------------------------------------------------------------------------


def github_login_clash(login: str | None, *, staff_member: StaffMember) -> str | None:
    """Who else has ``login`` in any letter case, as the message to show; ``None`` if no one."""
    login = normalize_github(login)
    if login is None or not GITHUB_LOGIN.match(login):
        return None  # no login, or one the model's clean() refuses for its form
    clashes = StaffMember.objects.filter(github__iexact=login)
    if staff_member.pk is not None:
        clashes = clashes.exclude(pk=staff_member.pk)
    clash = clashes.only("name", "github").first()
    if clash is None:
        return None
    return (
        f"GitHub login {login!r} is already used by {clash.name} (as {clash.github!r}); "
        "logins are unique regardless of case."
    )


def staff_member_validate(staff_member: StaffMember) -> None:
    """No one else has the same GitHub login, in any letter case."""
    clash = github_login_clash(staff_member.github, staff_member=staff_member)
    if clash is not None:
        raise ValidationError({"github": clash})


def compensation_validate(compensation: Compensation) -> None:
    """Pay runs only while the person is employed: ``effective_on`` within start and end.

    In the admin's inline the staff member may be unsaved, which is fine: only its dates are read.
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


# --- staff members ----------------------------------------------------------------------------


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
    """Add a person to the roster; ``github`` is trimmed, a leading ``@`` dropped."""
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
    full_clean_with(staff_member, staff_member_validate)
    staff_member.save()
    announce(ROSTER_CHANGED)
    return staff_member


@transaction.atomic
def staff_member_update(*, staff_member: StaffMember, data: Mapping[str, Any]) -> StaffMember:
    """Change the fields named in ``data`` (any of :data:`STAFF_MEMBER_FIELDS`).

    The roster change is told by comparing with the stored row, not with ``staff_member``: the
    admin's form and an import set the new values on the instance before it reaches here.
    """
    stored = StaffMember.objects.filter(pk=staff_member.pk).values_list(*ROSTER_COLUMNS).first()
    assign(staff_member, data, STAFF_MEMBER_FIELDS)
    full_clean_with(staff_member, staff_member_validate)
    staff_member.save()
    if stored != tuple(getattr(staff_member, name) for name in ROSTER_COLUMNS):
        announce(ROSTER_CHANGED)
    return staff_member


@transaction.atomic
def staff_member_delete(*, staff_member: StaffMember) -> None:
    """Remove a person from the roster.

    Refused with ``ProtectedError`` while they have pay records (``Compensation`` protects its
    person: set ``end_on`` instead); the API answers that with a 409.
    """
    staff_member.delete()
    announce(ROSTER_CHANGED)


# --- compensation -----------------------------------------------------------------------------


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
    full_clean_with(compensation, compensation_validate)
    compensation.save()
    return compensation


@transaction.atomic
def compensation_update(*, compensation: Compensation, data: Mapping[str, Any]) -> Compensation:
    """Change the fields named in ``data`` (any of :data:`COMPENSATION_FIELDS`).

    The staff member of a pay record is not changeable: record the pay under the right person
    and delete the wrong row, so the audit history of each person stays their own. An import
    row names the record's own person (it is how the row was matched), which is no change.
    """
    data = dict(data)
    if "staff" in data:
        stored = Compensation.objects.filter(pk=compensation.pk).values_list("staff_id", flat=True).first()
        if _staff_member_by_slug(data["staff"]).pk == stored:
            del data["staff"]
    assign(compensation, data, COMPENSATION_FIELDS)
    full_clean_with(compensation, compensation_validate)
    compensation.save()
    return compensation


@transaction.atomic
def compensation_delete(*, compensation: Compensation) -> None:
    """Delete a pay record; its audit history keeps what it was."""
    compensation.delete()


# --- what every door writes through (docs/adding-a-model.md, step 3) --------------------------

STAFF_MEMBER_WRITES = ModelWrites(
    model=StaffMember,
    create=staff_member_create,
    update=staff_member_update,
    delete=staff_member_delete,
    validate=staff_member_validate,
    fields=STAFF_MEMBER_FIELDS,
)
COMPENSATION_WRITES = ModelWrites(
    model=Compensation,
    create=compensation_create,
    update=compensation_update,
    delete=compensation_delete,
    validate=compensation_validate,
    fields=COMPENSATION_FIELDS | {"staff"},
)
