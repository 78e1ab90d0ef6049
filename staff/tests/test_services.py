"""The rules of the roster and of compensation, and their exact messages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from staff.choices import Team
from staff.models import Compensation, StaffMember
from staff.selectors import (
    compensation_in_effect,
    staff_employed_on,
    staff_member_list_with_pay,
    staff_members_by_github,
)
from staff.services import (
    compensation_create,
    compensation_update,
    staff_member_create,
    staff_member_update,
)

from .factories import CompensationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

START = dt.date(2022, 3, 1)


def create(**overrides) -> StaffMember:
    fields = {"slug": "ada", "name": "Ada", "team": Team.ENGINEERING, "start_on": START} | overrides
    return staff_member_create(**fields)


# --- staff_member_validate -------------------------------------------------------------------


def test_github_login_is_unique_regardless_of_case():
    StaffMemberFactory(name="Grace", github="Octo-Cat")
    with pytest.raises(ValidationError) as exc:
        create(github="octo-cat")
    assert exc.value.message_dict == {
        "github": [
            "GitHub login 'octo-cat' is already used by Grace (as 'Octo-Cat'); logins are unique regardless of case."
        ]
    }
    assert not StaffMember.objects.filter(slug="ada").exists()


def test_a_staff_member_keeps_their_own_github_login_on_update():
    ada = create(github="ada-l")
    staff_member_update(staff_member=ada, data={"github": "Ada-L", "title": "Lead"})
    ada.refresh_from_db()
    assert (ada.github, ada.title) == ("Ada-L", "Lead")


def test_github_login_is_trimmed_and_a_blank_one_is_stored_as_null():
    ada = create(github="  @ada-l ")
    assert ada.github == "ada-l"
    first = create(slug="a", github="")
    second = create(slug="b", github="   ")
    assert first.github is None and second.github is None


def test_github_login_must_look_like_one():
    with pytest.raises(ValidationError) as exc:
        create(github="-ada lovelace")
    assert exc.value.message_dict == {
        "github": [
            "'-ada lovelace' is not a GitHub login: use letters, digits and hyphens, "
            "at most 39 characters, not starting with a hyphen."
        ]
    }


def test_end_on_cannot_be_before_start_on():
    with pytest.raises(ValidationError) as exc:
        create(end_on=START - dt.timedelta(days=1))
    assert exc.value.message_dict == {"end_on": ["End on 2022-02-28 is before start on 2022-03-01."]}


def test_end_on_may_be_the_start_day():
    assert create(end_on=START).end_on == START


def test_fte_above_one_is_refused_on_the_field():
    with pytest.raises(ValidationError) as exc:
        create(fte=Decimal("1.50"))
    assert list(exc.value.message_dict) == ["fte"]


def test_update_refuses_fields_it_does_not_know():
    with pytest.raises(TypeError, match="compensations"):
        staff_member_update(staff_member=create(), data={"compensations": []})


# --- compensation_validate -------------------------------------------------------------------


def test_pay_cannot_begin_before_employment():
    ada = create()
    with pytest.raises(ValidationError) as exc:
        compensation_create(
            staff=ada, effective_on=START - dt.timedelta(days=1), annual_salary=Decimal("90000")
        )
    assert exc.value.message_dict == {
        "effective_on": [
            "Effective on 2022-02-28 is before Ada's start on 2022-03-01; pay cannot begin before employment does."
        ]
    }
    assert not Compensation.objects.exists()


def test_pay_cannot_change_after_employment_ends():
    ada = create(end_on=dt.date(2023, 6, 30))
    with pytest.raises(ValidationError) as exc:
        compensation_create(staff=ada, effective_on=dt.date(2023, 7, 1), annual_salary=Decimal("90000"))
    assert exc.value.message_dict == {
        "effective_on": [
            "Effective on 2023-07-01 is after Ada's end on 2023-06-30; pay cannot change after employment ends."
        ]
    }


def test_compensation_errors_never_repeat_the_amount():
    ada = create()
    with pytest.raises(ValidationError) as exc:
        compensation_create(staff=ada, effective_on=dt.date(2000, 1, 1), annual_salary=Decimal("123456.78"))
    assert "123456" not in str(exc.value.messages)


def test_money_with_three_places_is_refused_not_rounded():
    ada = create()
    with pytest.raises(ValidationError) as exc:
        compensation_create(staff=ada, effective_on=START, annual_salary=Decimal("90000.005"))
    assert list(exc.value.message_dict) == ["annual_salary"]
    assert not Compensation.objects.exists()


def test_compensation_create_takes_a_staff_slug_and_the_reporting_currency_by_default():
    create()
    pay = compensation_create(staff="ada", effective_on=START, annual_salary=Decimal("90000.00"))
    assert (pay.staff.slug, pay.currency, pay.benefits_rate) == ("ada", "USD", Decimal("0"))


def test_compensation_create_refuses_an_unknown_staff_slug():
    with pytest.raises(ValidationError) as exc:
        compensation_create(staff="nobody", effective_on=START, annual_salary=Decimal("1"))
    assert exc.value.message_dict == {"staff": ["No staff member with slug 'nobody'."]}


def test_one_pay_record_per_person_and_day():
    ada = create()
    compensation_create(staff=ada, effective_on=START, annual_salary=Decimal("90000"))
    with pytest.raises(ValidationError) as exc:
        compensation_create(staff=ada, effective_on=START, annual_salary=Decimal("95000"))
    assert list(exc.value.message_dict) == ["__all__"]


def test_compensation_update_changes_pay_and_validates_it():
    pay = CompensationFactory(staff=create())
    compensation_update(compensation=pay, data={"annual_salary": Decimal("130000.00")})
    pay.refresh_from_db()
    assert pay.annual_salary == Decimal("130000.00")
    with pytest.raises(ValidationError):
        compensation_update(compensation=pay, data={"benefits_rate": Decimal("1.5")})
    with pytest.raises(TypeError, match="staff"):
        compensation_update(compensation=pay, data={"staff": create(slug="other")})


def test_a_pay_change_is_recorded_in_the_audit_history():
    pay = CompensationFactory(staff=create())
    compensation_update(compensation=pay, data={"annual_salary": Decimal("130000.00")})
    assert [h.annual_salary for h in pay.history.order_by("history_date")] == [
        Decimal("120000.00"),
        Decimal("130000.00"),
    ]


# --- selectors -------------------------------------------------------------------------------


def test_staff_employed_on_counts_the_start_and_end_days():
    StaffMemberFactory(slug="early", name="Early", start_on=dt.date(2021, 1, 1), end_on=dt.date(2022, 2, 28))
    StaffMemberFactory(slug="now", name="Now", start_on=dt.date(2022, 3, 1))
    StaffMemberFactory(slug="last", name="Last", start_on=dt.date(2021, 1, 1), end_on=dt.date(2022, 3, 1))
    StaffMemberFactory(slug="later", name="Later", start_on=dt.date(2022, 3, 2))
    employed = staff_employed_on(dt.date(2022, 3, 1))
    assert [m.slug for m in employed] == ["last", "now"]


def test_compensation_in_effect_is_the_latest_on_or_before_the_day():
    ada = create()
    first = CompensationFactory(staff=ada, effective_on=START)
    raise_ = CompensationFactory(staff=ada, effective_on=dt.date(2023, 1, 1), annual_salary=Decimal("130000"))
    assert compensation_in_effect(ada, START - dt.timedelta(days=1)) is None
    assert compensation_in_effect(ada, dt.date(2022, 12, 31)) == first
    assert compensation_in_effect(ada, dt.date(2023, 1, 1)) == raise_
    assert compensation_in_effect(ada.pk, dt.date(2030, 1, 1)) == raise_


def test_staff_member_list_with_pay_annotates_the_pay_in_effect(django_assert_num_queries):
    ada = create()
    CompensationFactory(staff=ada, effective_on=START, annual_salary=Decimal("100000.00"))
    CompensationFactory(staff=ada, effective_on=dt.date(2023, 1, 1), annual_salary=Decimal("110000.00"))
    create(slug="bob", name="Bob")
    with django_assert_num_queries(1):
        rows = [(m.slug, m.current_annual_salary) for m in staff_member_list_with_pay(dt.date(2022, 6, 1))]
    assert rows == [("ada", Decimal("100000.00")), ("bob", None)]


def test_staff_members_by_github_is_keyed_by_lower_case_login():
    ada = create(github="Ada-L")
    create(slug="bob", name="Bob")
    assert staff_members_by_github() == {"ada-l": ada}
