"""Every door writes the roster and pay through the same services (docs/architecture.md).

The same rule, broken through the API, the admin form, the admin inline and an import, is refused
with the same message on the same field, and nothing is written; a write that succeeds has the
same side effects whichever door it came in by: the roster change is announced once
(``ROSTER_CHANGED``, which re-resolves pull-request authors), and the recompute is asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from opsite.core import events, testing
from opsite.core.testing import admin_url as url
from opsite.core.testing import exported_row, form_data
from staff.models import Compensation, StaffMember
from staff.resources import CompensationResource, StaffMemberResource

from .factories import CompensationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

START = dt.date(2022, 1, 3)
Errors = dict[str, list[str]] | None  # what a door refused, by field; None when it wrote


@pytest.fixture
def ada() -> StaffMember:
    return StaffMemberFactory(slug="ada", name="Ada Lovelace", github="ada-l", start_on=START)


@pytest.fixture
def side_effects(monkeypatch):
    """Run a door's write and its commit callbacks; record announcements and recompute requests."""
    announced: list[str] = []
    monkeypatch.setitem(events._handlers, events.ROSTER_CHANGED, [lambda: announced.append("roster")])
    with testing.enqueues_recorded() as kinds:

        def run(write: Callable[[], Errors]) -> tuple[Errors, dict[str, list[str]]]:
            # What the setup asked for waits for the test's transaction, which never commits; run it
            # now, so that the door's write starts a batch of its own rather than joining that one.
            testing.run_on_commit_now()
            announced.clear()
            errors, recomputed = testing.enqueued_by(kinds, write)
            return errors, {"announced": sorted(announced), "recompute": recomputed}

        yield run


# --- the doors ----------------------------------------------------------------------------------


def api(client, method: str, path: str, data: dict | None = None) -> Errors:
    return testing.api_errors(getattr(client, method)(path, data, content_type="application/json"))


def admin_form(client, path: str, changes: dict[str, Any]) -> Errors:
    return testing.admin_errors(client.post(path, form_data(client.get(path)) | changes))


def imported(resource, row: dict[str, str]) -> Errors:
    return testing.import_errors(resource, testing.csv_text(list(row), [list(row.values())]))


# --- staff members ------------------------------------------------------------------------------

GRACE = {
    "slug": "grace",
    "name": "Grace Hopper",
    "team": "engineering",
    "employment": "full_time",
    "fte": "1.00",
    "start_on": "2023-02-01",
}


def create_member(door: str, client, fields: dict[str, str]) -> Errors:
    if door == "api":
        return api(client, "post", reverse("staff-api:member-list"), fields)
    if door == "admin":
        return admin_form(client, url(StaffMember, "add"), fields)
    return imported(StaffMemberResource(), {**GRACE, "github": "", "end_on": "", **fields})


def update_member(door: str, client, member: StaffMember, changes: dict[str, str]) -> Errors:
    if door == "api":
        return api(client, "patch", reverse("staff-api:member-detail", args=[member.slug]), changes)
    if door == "admin":
        return admin_form(client, url(StaffMember, "change", member.pk), changes)
    queryset = StaffMember.objects.filter(pk=member.pk)
    return imported(StaffMemberResource(), exported_row(StaffMemberResource(), queryset) | changes)


MEMBER_DOORS = ["api", "admin", "import"]
MEMBER_RULES = {
    "login taken in another case": (
        {"github": "ADA-L"},
        {
            "github": [
                "GitHub login 'ADA-L' is already used by Ada Lovelace (as 'ada-l'); "
                "logins are unique regardless of case."
            ]
        },
    ),
    "not a login": (
        {"github": "-ada lovelace"},
        {
            "github": [
                "'-ada lovelace' is not a GitHub login: use letters, digits and hyphens, "
                "at most 39 characters, not starting with a hyphen."
            ]
        },
    ),
    "end before start": (
        {"end_on": "2023-01-31"},
        {"end_on": ["End on 2023-01-31 is before start on 2023-02-01."]},
    ),
}


@pytest.mark.parametrize("rule", list(MEMBER_RULES))
@pytest.mark.parametrize("door", MEMBER_DOORS)
def test_a_staff_member_rule_is_refused_alike_by_every_door_on_create(
    super_client, ada, side_effects, door, rule
):
    fields, expected = MEMBER_RULES[rule]
    errors, seen = side_effects(lambda: create_member(door, super_client, {**GRACE, **fields}))
    assert errors == expected
    assert not StaffMember.objects.filter(slug="grace").exists()
    assert seen == {"announced": [], "recompute": []}


@pytest.mark.parametrize("rule", list(MEMBER_RULES))
@pytest.mark.parametrize("door", MEMBER_DOORS)
def test_a_staff_member_rule_is_refused_alike_by_every_door_on_update(
    super_client, ada, side_effects, door, rule
):
    fields, expected = MEMBER_RULES[rule]
    grace = StaffMemberFactory(slug="grace", name="Grace Hopper", github=None, start_on=dt.date(2023, 2, 1))
    errors, seen = side_effects(lambda: update_member(door, super_client, grace, fields))
    assert errors == expected
    grace.refresh_from_db()
    assert (grace.github, grace.end_on) == (None, None)
    assert seen == {"announced": [], "recompute": []}


@pytest.mark.parametrize("door", MEMBER_DOORS)
def test_a_new_staff_member_is_announced_once_and_recomputed_by_every_door(super_client, side_effects, door):
    errors, seen = side_effects(lambda: create_member(door, super_client, {**GRACE, "github": " @GHopper"}))
    assert errors is None
    assert StaffMember.objects.get(slug="grace").github == "GHopper"
    assert seen == {"announced": ["roster"], "recompute": ["rollups", "runway"]}


@pytest.mark.parametrize(
    ("changes", "announced"),
    [
        ({"github": "ada-lovelace"}, ["roster"]),
        ({"end_on": "2024-06-30"}, ["roster"]),
        ({"title": "Principal engineer"}, []),
        ({"github": "@ada-l"}, []),  # the same login once normalized
    ],
)
@pytest.mark.parametrize("door", MEMBER_DOORS)
def test_only_a_change_to_login_or_dates_is_announced_by_every_door(
    super_client, ada, side_effects, door, changes, announced
):
    errors, seen = side_effects(lambda: update_member(door, super_client, ada, changes))
    assert errors is None
    assert seen["announced"] == announced


def delete_member(door: str, client, member: StaffMember) -> int:
    """The status of the delete: a success (204 or the admin's redirect) or its refusal."""
    if door == "api":
        return client.delete(reverse("staff-api:member-detail", args=[member.slug])).status_code
    if door == "admin":
        return testing.admin_delete(client, member).status_code
    return testing.admin_delete_selected(client, member).status_code


DELETE_DOORS = ["api", "admin", "admin bulk action"]


@pytest.mark.parametrize("door", DELETE_DOORS)
def test_a_deleted_staff_member_is_announced_once_by_every_door(super_client, ada, side_effects, door):
    status, seen = side_effects(lambda: delete_member(door, super_client, ada))
    assert status in (204, 302)
    assert not StaffMember.objects.exists()
    assert seen == {"announced": ["roster"], "recompute": ["rollups", "runway"]}


@pytest.mark.parametrize(("door", "refused"), zip(DELETE_DOORS, [409, 200, 200], strict=True))
def test_a_staff_member_with_pay_is_kept_by_every_door(super_client, ada, side_effects, door, refused):
    CompensationFactory(staff=ada)
    status, seen = side_effects(lambda: delete_member(door, super_client, ada))
    assert status == refused  # the API's conflict, the admin's page naming what protects it
    assert StaffMember.objects.filter(pk=ada.pk).exists()
    assert seen == {"announced": [], "recompute": []}


# --- compensation -------------------------------------------------------------------------------

PAY = {
    "effective_on": "2022-01-03",
    "annual_salary": "98000.00",
    "benefits_rate": "0.2500",
    "currency": "USD",
}
BEFORE_START = {
    "effective_on": [
        "Effective on 2021-12-31 is before Ada Lovelace's start on 2022-01-03; "
        "pay cannot begin before employment does."
    ]
}


def create_pay(door: str, client, member: StaffMember, fields: dict[str, str]) -> Errors:
    if door == "api":
        return api(client, "post", reverse("staff-api:compensation-list"), {"staff": member.slug, **fields})
    if door == "admin":
        return admin_form(client, url(Compensation, "add"), {"staff": member.pk, **fields})
    if door == "admin inline":
        path = url(StaffMember, "change", member.pk)
        return admin_form(
            client, path, testing.with_inline_row(form_data(client.get(path)), "compensations", fields)
        )
    return imported(CompensationResource(), {"staff": member.slug, **fields})


def update_pay(door: str, client, pay: Compensation, changes: dict[str, str]) -> Errors:
    if door == "api":
        return api(client, "patch", reverse("staff-api:compensation-detail", args=[pay.pk]), changes)
    if door == "admin":
        return admin_form(client, url(Compensation, "change", pay.pk), changes)
    path = url(StaffMember, "change", pay.staff.pk)
    return admin_form(client, path, {f"compensations-0-{k}": v for k, v in changes.items()})


@pytest.mark.parametrize("door", ["api", "admin", "admin inline", "import"])
def test_pay_before_employment_is_refused_alike_by_every_door(super_client, ada, side_effects, door):
    errors, seen = side_effects(
        lambda: create_pay(door, super_client, ada, {**PAY, "effective_on": "2021-12-31"})
    )
    assert errors == BEFORE_START
    assert "98000" not in str(errors)
    assert not Compensation.objects.exists()
    assert seen == {"announced": [], "recompute": []}


@pytest.mark.parametrize("door", ["api", "admin", "admin inline"])
def test_pay_moved_before_employment_is_refused_alike_by_every_door(super_client, ada, side_effects, door):
    pay = CompensationFactory(staff=ada, effective_on=dt.date(2022, 6, 1))
    errors, seen = side_effects(lambda: update_pay(door, super_client, pay, {"effective_on": "2021-12-31"}))
    assert errors == BEFORE_START
    pay.refresh_from_db()
    assert pay.effective_on == dt.date(2022, 6, 1)
    assert seen == {"announced": [], "recompute": []}


@pytest.mark.parametrize("door", ["api", "admin", "admin inline", "import"])
def test_new_pay_asks_for_the_runway_by_every_door(super_client, ada, side_effects, door):
    errors, seen = side_effects(lambda: create_pay(door, super_client, ada, PAY))
    assert errors is None
    assert Compensation.objects.get().effective_on == START
    assert seen == {"announced": [], "recompute": ["runway"]}


def delete_pay(door: str, client, pay: Compensation) -> int:
    if door == "api":
        return client.delete(reverse("staff-api:compensation-detail", args=[pay.pk])).status_code
    if door == "admin":
        return testing.admin_delete(client, pay).status_code
    if door == "admin bulk action":
        return testing.admin_delete_selected(client, pay).status_code
    path = url(StaffMember, "change", pay.staff.pk)
    return client.post(path, form_data(client.get(path)) | {"compensations-0-DELETE": "on"}).status_code


@pytest.mark.parametrize("door", [*DELETE_DOORS, "admin inline"])
def test_deleted_pay_asks_for_the_runway_by_every_door(super_client, ada, side_effects, door):
    pay = CompensationFactory(staff=ada)
    status, seen = side_effects(lambda: delete_pay(door, super_client, pay))
    assert status in (204, 302)
    assert not Compensation.objects.exists()
    assert seen == {"announced": [], "recompute": ["runway"]}
