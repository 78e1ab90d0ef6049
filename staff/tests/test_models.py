"""The database holds the roster's rules even when validation is skipped (bulk loads, raw SQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from staff.models import Compensation, StaffMember

from .factories import CompensationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db


def refused(**fields) -> None:
    model = fields.pop("model")
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)


def person(**overrides) -> dict:
    return {
        "model": StaffMember,
        "slug": "x",
        "name": "X",
        "team": "engineering",
        "start_on": dt.date(2022, 1, 1),
    } | overrides


def test_slug_is_unique():
    StaffMemberFactory(slug="x")
    refused(**person(slug="x"))


def test_github_login_is_unique_regardless_of_case():
    StaffMemberFactory(github="Octo")
    refused(**person(github="oCTO"))


def test_many_people_may_have_no_github_login():
    StaffMemberFactory(github=None)
    StaffMemberFactory(github=None)
    assert StaffMember.objects.filter(github__isnull=True).count() == 2


@pytest.mark.parametrize("fte", [Decimal("-0.01"), Decimal("1.01")])
def test_fte_is_between_zero_and_one(fte):
    refused(**person(fte=fte))


def test_end_on_is_not_before_start_on():
    refused(**person(end_on=dt.date(2021, 12, 31)))


def test_one_pay_record_per_person_and_day():
    pay = CompensationFactory()
    refused(model=Compensation, staff=pay.staff, effective_on=pay.effective_on, annual_salary=Decimal("1"))


def test_salary_is_not_negative():
    refused(
        model=Compensation,
        staff=StaffMemberFactory(),
        effective_on=dt.date(2022, 1, 1),
        annual_salary=Decimal("-1"),
    )


@pytest.mark.parametrize("rate", [Decimal("-0.01"), Decimal("1.01")])
def test_benefits_rate_is_a_fraction(rate):
    refused(
        model=Compensation,
        staff=StaffMemberFactory(),
        effective_on=dt.date(2022, 1, 1),
        annual_salary=Decimal("1"),
        benefits_rate=rate,
    )


def test_str_names_the_person_and_never_the_pay():
    pay = CompensationFactory(
        staff__name="Ada", effective_on=dt.date(2022, 1, 1), annual_salary=Decimal("99999.00")
    )
    assert str(pay) == "Ada from 2022-01-01"
    assert str(pay.staff) == "Ada"
