"""Restricted money through every door: budget lines, staff allocations, funder reports.

Each rule is refused alike by the services, the admin (its own page and the inlines: budget lines
on the grant's page, allocations on the staff member's), an import and the API; and allocations,
spent figures and reports stay out of Operations' reach (docs/roles.md).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from funding import resources, services
from funding.models import FunderReport, GrantBudgetLine, StaffAllocation
from opsite.core.testing import (
    admin_errors,
    admin_url,
    api_errors,
    csv_text,
    form_data,
    import_errors,
    with_inline_row,
)
from staff.models import StaffMember
from staff.tests.factories import CompensationFactory, StaffMemberFactory

from .factories import FunderReportFactory, GrantBudgetLineFactory, GrantFactory, StaffAllocationFactory

pytestmark = pytest.mark.django_db

D = Decimal
OVER_ONE = "Ada Lovelace's allocations would sum to 1.1 on 2024-03-01, past 1"


@pytest.fixture
def ada():
    return StaffMemberFactory(slug="ada", name="Ada Lovelace", start_on=date(2020, 1, 6))


@pytest.fixture
def grants():
    return GrantFactory(reference="g-one"), GrantFactory(reference="g-two")


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


# --- the rules, in the services ------------------------------------------------------------------


def test_allocations_past_one_on_a_day_are_refused_naming_the_day(ada, grants):
    StaffAllocationFactory(staff=ada, grant=grants[0], share=D("0.6"), start_on=date(2024, 3, 1))
    with pytest.raises(ValidationError) as refused:
        services.staff_allocation_create(
            staff=ada, grant=grants[1], share=D("0.5"), start_on=date(2024, 1, 1), end_on=date(2024, 6, 30)
        )
    assert OVER_ONE in refused.value.message_dict["share"][0]
    assert StaffAllocation.objects.filter(grant=grants[1]).count() == 0


def test_allocations_that_meet_at_exactly_one_or_do_not_overlap_are_kept(ada, grants):
    StaffAllocationFactory(staff=ada, grant=grants[0], share=D("0.6"), end_on=date(2024, 5, 31))
    services.staff_allocation_create(
        staff=ada, grant=grants[1], share=D("0.4"), start_on=date(2024, 1, 1), end_on=date(2024, 12, 31)
    )
    services.staff_allocation_create(
        staff=ada, grant=grants[1], share=D("0.6"), start_on=date(2024, 6, 1), end_on=date(2024, 12, 31)
    )
    assert StaffAllocation.objects.filter(staff=ada).count() == 3


def test_an_allocation_outside_the_grant_dates_is_refused(ada, grants):
    with pytest.raises(ValidationError) as refused:
        services.staff_allocation_create(
            staff=ada, grant=grants[0], share=D("0.5"), start_on=date(2023, 12, 1), end_on=date(2025, 1, 31)
        )
    errors = refused.value.message_dict
    assert "before grant g-one starts on 2024-01-01" in errors["start_on"][0]
    assert "after grant g-one ends on 2024-12-31" in errors["end_on"][0]


def test_budget_lines_never_sum_past_the_grant(grants):
    GrantBudgetLineFactory(grant=grants[0], category="personnel", amount=D("60000.00"))
    with pytest.raises(ValidationError) as refused:
        services.grant_budget_line_create(grant=grants[0], category="cloud", amount=D("40000.01"))
    assert "budget lines" in str(refused.value)
    services.grant_budget_line_create(grant=grants[0], category="cloud", amount=D("40000.00"))


def test_a_grant_cannot_shrink_below_its_budget_lines_nor_its_allocations_fall_outside(ada, grants):
    GrantBudgetLineFactory(grant=grants[0], amount=D("60000.00"))
    StaffAllocationFactory(staff=ada, grant=grants[0], end_on=date(2024, 12, 31))
    with pytest.raises(ValidationError):
        services.grant_update(grant=grants[0], data={"amount": D("59999.99")})
    with pytest.raises(ValidationError):
        services.grant_update(grant=grants[0], data={"end_on": date(2024, 11, 30)})


def test_a_new_due_date_clears_the_reminders_already_sent(grants):
    report = FunderReportFactory(grant=grants[0])
    FunderReport.objects.filter(pk=report.pk).update(reminded_35_at="2024-06-25T06:30:00Z")
    report.refresh_from_db()
    services.funder_report_update(funder_report=report, data={"due_on": date(2024, 8, 30)})
    report.refresh_from_db()
    assert report.reminded_35_at is None


# --- the same rule at each door --------------------------------------------------------------------


def test_the_api_refuses_allocations_past_one_with_the_same_message(finance_user, ada, grants):
    StaffAllocationFactory(staff=ada, grant=grants[0], share=D("0.6"), start_on=date(2024, 3, 1))
    response = api_client(finance_user).post(
        "/api/v1/funding/staff-allocations/",
        {"staff": "ada", "grant": "g-two", "share": "0.5", "start_on": "2024-01-01", "end_on": "2024-06-30"},
        format="json",
    )
    assert OVER_ONE in api_errors(response)["share"][0]
    response = api_client(finance_user).post(
        "/api/v1/funding/staff-allocations/",
        {"staff": "ada", "grant": "g-two", "share": "0.4", "start_on": "2024-01-01", "end_on": "2024-06-30"},
        format="json",
    )
    assert api_errors(response) is None
    assert response.json()["share"] == "0.400"


def test_an_import_refuses_allocations_past_one_and_writes_nothing(ada, grants):
    StaffAllocationFactory(staff=ada, grant=grants[0], share=D("0.6"), start_on=date(2024, 3, 1))
    content = csv_text(
        ["id", "staff", "grant", "share", "start_on", "end_on"],
        [
            ["", "ada", "g-two", "0.2", "2024-01-01", "2024-02-28"],
            ["", "ada", "g-two", "0.5", "2024-01-01", "2024-06-30"],
        ],
    )
    errors = import_errors(resources.StaffAllocationResource(), content, row=2)
    assert OVER_ONE in errors["share"][0]
    assert StaffAllocation.objects.filter(grant=grants[1]).count() == 0


def test_budget_lines_import_by_grant_and_category_as_an_update(grants):
    GrantBudgetLineFactory(grant=grants[0], category="personnel", amount=D("60000.00"))
    content = csv_text(
        ["grant", "category", "amount"], [["g-one", "personnel", "70000.00"], ["g-one", "travel", "5000.00"]]
    )
    assert import_errors(resources.GrantBudgetLineResource(), content) is None
    lines = dict(GrantBudgetLine.objects.filter(grant=grants[0]).values_list("category", "amount"))
    assert lines == {"personnel": D("70000.00"), "travel": D("5000.00")}


def test_the_staff_page_checks_new_allocations_as_a_set(super_client, ada, grants):
    """Two new rows, each fine alone, together past 1 on a day: refused on the page, nothing saved."""
    url = admin_url(StaffMember, "change", ada.pk)
    data = form_data(super_client.get(url))
    prefix = "allocations"
    row = {"share": "0.6", "start_on": "2024-01-01", "end_on": "2024-06-30"}
    data = with_inline_row(data, prefix, {"grant": grants[0].pk, **row})
    data = with_inline_row(
        data, prefix, {"grant": grants[1].pk, **row | {"share": "0.5", "start_on": "2024-03-01"}}
    )
    errors = admin_errors(super_client.post(url, data))
    assert any("would sum to 1.1 on 2024-03-01" in message for message in errors["__all__"])
    assert not StaffAllocation.objects.exists()
    data[f"{prefix}-1-share"] = "0.4"
    assert admin_errors(super_client.post(url, data)) is None
    assert StaffAllocation.objects.filter(staff=ada).count() == 2


def test_one_save_may_lower_one_share_and_raise_another(super_client, ada, grants):
    low = StaffAllocationFactory(staff=ada, grant=grants[0], share=D("0.3"))
    high = StaffAllocationFactory(staff=ada, grant=grants[1], share=D("0.7"))
    url = admin_url(StaffMember, "change", ada.pk)
    data = form_data(super_client.get(url))
    forms = {data[f"allocations-{i}-id"]: i for i in range(2)}
    data[f"allocations-{forms[str(low.pk)]}-share"] = "0.6"
    data[f"allocations-{forms[str(high.pk)]}-share"] = "0.4"
    assert admin_errors(super_client.post(url, data)) is None
    low.refresh_from_db()
    high.refresh_from_db()
    assert (low.share, high.share) == (D("0.600"), D("0.400"))


def test_budget_lines_on_the_grant_page_never_pass_the_grant_together(super_client, grants):
    url = admin_url(type(grants[0]), "change", grants[0].pk)
    data = form_data(super_client.get(url))
    data = with_inline_row(data, "budget_lines", {"category": "personnel", "amount": "60000.00"})
    data = with_inline_row(data, "budget_lines", {"category": "cloud", "amount": "40000.01"})
    errors = admin_errors(super_client.post(url, data))
    assert any("budget lines" in message for message in errors["__all__"])
    assert not GrantBudgetLine.objects.exists()


# --- who sees what ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["staff-allocations", "budget-lines", "funder-reports"])
def test_operations_gets_403_on_the_restricted_money_api(operations_user, route):
    assert api_client(operations_user).get(f"/api/v1/funding/{route}/").status_code == 403


@pytest.mark.parametrize("model", [StaffAllocation, GrantBudgetLine, FunderReport])
def test_operations_gets_403_on_their_admin_pages(operations_client, model):
    assert operations_client.get(admin_url(model, "changelist")).status_code == 403


def test_the_staff_page_shows_allocations_to_finance_only(operations_client, finance_client, ada, grants):
    StaffAllocationFactory(staff=ada, grant=grants[0], share=D("0.25"))
    url = admin_url(StaffMember, "change", ada.pk)
    finance_page = finance_client.get(url).content.decode()
    assert "g-one" in finance_page and "0.25" in finance_page
    operations_page = operations_client.get(url)
    assert operations_page.status_code == 200
    assert "g-one" not in operations_page.content.decode()
    assert "allocation" not in operations_page.content.decode().lower()


def test_the_grant_page_shows_budget_vs_actual_to_finance_only(
    operations_client, finance_client, ada, grants
):
    CompensationFactory(staff=ada, annual_salary=D("120000.00"), benefits_rate=D("0"))
    GrantBudgetLineFactory(grant=grants[0], category="personnel", amount=D("60000.00"))
    StaffAllocationFactory(staff=ada, grant=grants[0], share=D("0.5"))
    url = admin_url(type(grants[0]), "change", grants[0].pk)
    finance_page = finance_client.get(url).content.decode()
    assert "Budget vs actual" in finance_page and "60,000.00" in finance_page
    operations_page = operations_client.get(url).content.decode()
    assert "Budget vs actual" not in operations_page
    assert "budget" not in operations_page.lower()


# --- expenses charged to a grant ------------------------------------------------------------------

WITHIN = "an expense charged to grant g-one lies within its dates, 2024-01-01 to 2024-12-31."


def test_an_expense_charged_to_a_grant_lies_within_its_dates(grants):
    with pytest.raises(ValidationError) as refused:
        services.expense_create(
            name="Cloud", category="cloud", amount=D("100.00"), start_on=date(2024, 6, 1), grant=grants[0]
        )
    assert refused.value.message_dict["end_on"] == [f"It has no end: {WITHIN}"]
    with pytest.raises(ValidationError) as refused:
        services.expense_create(
            name="Gathering",
            category="travel",
            amount=D("100.00"),
            recurrence="once",
            start_on=date(2025, 1, 10),
            grant=grants[0],
        )
    assert refused.value.message_dict["start_on"] == [
        f"It falls on 2025-01-10, after the grant ends: {WITHIN}"
    ]
    kept = services.expense_create(
        name="Cloud",
        category="cloud",
        amount=D("100.00"),
        start_on=date(2024, 6, 1),
        end_on=date(2024, 12, 31),
        grant=grants[0],
    )
    with pytest.raises(ValidationError):
        services.grant_update(grant=grants[0], data={"end_on": date(2024, 11, 30)})
    assert kept.grant == grants[0]


def test_the_api_refuses_an_expense_outside_its_grant_with_the_same_message(finance_user, grants):
    response = api_client(finance_user).post(
        "/api/v1/funding/expenses/",
        {
            "name": "Cloud",
            "category": "cloud",
            "amount": "100.00",
            "recurrence": "monthly",
            "start_on": "2023-12-01",
            "end_on": "2024-06-30",
            "grant": "g-one",
        },
        format="json",
    )
    assert api_errors(response)["start_on"] == [f"It starts on 2023-12-01, before the grant starts: {WITHIN}"]
