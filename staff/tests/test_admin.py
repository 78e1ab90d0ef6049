"""The staff admin: daily use, cost, and above all who may see pay."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from opsite.core.testing import admin_url as url
from opsite.core.testing import changelist_queries, form_data
from staff.models import Compensation, StaffMember
from staff.resources import StaffMemberResource

from .factories import CompensationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

SALARY = Decimal("187654.32")
# How the salary may appear on a page: raw, grouped, or localized.
SALARY_TEXTS = ("187654", "187,654", "187.654")


@pytest.fixture
def ada() -> StaffMember:
    ada = StaffMemberFactory(slug="ada", name="Ada Lovelace", github="ada-l", start_on=dt.date(2022, 1, 3))
    CompensationFactory(staff=ada, effective_on=dt.date(2022, 1, 3), annual_salary=SALARY)
    return ada


def shows_no_salary(response) -> bool:
    html = response.content.decode()
    return not any(text in html for text in SALARY_TEXTS)


# --- superuser: every page works --------------------------------------------------------------


@pytest.mark.parametrize(("model", "search"), [(StaffMember, "ada-l"), (Compensation, "Lovelace")])
def test_superuser_smoke_changelist_search_add_and_change(super_client, ada, model, search):
    obj = ada if model is StaffMember else ada.compensations.get()
    StaffMemberFactory(name="Someone Else")
    response = super_client.get(url(model, "changelist"))
    assert response.status_code == 200
    response = super_client.get(url(model, "changelist"), {"q": search})
    assert list(response.context["cl"].result_list) == [obj]
    assert super_client.get(url(model, "changelist"), {"q": "zzz"}).context["cl"].result_count == 0
    assert super_client.get(url(model, "add")).status_code == 200
    assert super_client.get(url(model, "change", obj.pk)).status_code == 200


def test_a_staff_member_is_added_through_the_admin_with_their_pay(super_client):
    data = form_data(super_client.get(url(StaffMember, "add")))
    data |= {
        "name": "Grace Hopper",
        "slug": "grace",
        "github": "@GHopper",
        "team": "engineering",
        "employment": "full_time",
        "fte": "0.80",
        "start_on": "2023-02-01",
        "compensations-TOTAL_FORMS": "1",
        "compensations-0-effective_on": "2023-02-01",
        "compensations-0-annual_salary": "150000.00",
        "compensations-0-benefits_rate": "0.2500",
        "compensations-0-currency": "USD",
    }
    response = super_client.post(url(StaffMember, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    grace = StaffMember.objects.get(slug="grace")
    assert (grace.github, grace.fte) == ("GHopper", Decimal("0.80"))
    assert list(grace.compensations.values_list("annual_salary", flat=True)) == [Decimal("150000.00")]


def test_a_duplicate_github_login_is_shown_on_the_github_field(super_client, ada):
    data = form_data(super_client.get(url(StaffMember, "add")))
    data |= {
        "name": "Imposter",
        "slug": "imposter",
        "github": "ADA-L",
        "team": "product",
        "start_on": "2023-01-02",
    }
    response = super_client.post(url(StaffMember, "add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "github": [
            "GitHub login 'ADA-L' is already used by Ada Lovelace (as 'ada-l'); logins are unique regardless of case."
        ]
    }


def test_pay_before_the_start_is_shown_on_the_inline_field(super_client, ada):
    data = form_data(super_client.get(url(StaffMember, "change", ada.pk)))
    data["compensations-0-effective_on"] = "2021-12-31"
    response = super_client.post(url(StaffMember, "change", ada.pk), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.errors[0] == {
        "effective_on": [
            "Effective on 2021-12-31 is before Ada Lovelace's start on 2022-01-03; "
            "pay cannot begin before employment does."
        ]
    }


def test_compensation_changelist_computes_loaded_cost_and_until(super_client, ada):
    CompensationFactory(
        staff=ada,
        effective_on=dt.date(2023, 1, 1),
        annual_salary=Decimal("200000.00"),
        benefits_rate=Decimal("0.25"),
    )
    html = super_client.get(url(Compensation, "changelist")).content.decode()
    assert "250000.00" in html or "250,000.00" in html
    assert "before 2023-01-01" in html


# --- cost ------------------------------------------------------------------------------------


def grow(n: int) -> None:
    for _ in range(n):
        person = StaffMemberFactory()
        CompensationFactory(staff=person)
        CompensationFactory(staff=person, effective_on=dt.date(2023, 1, 1))


@pytest.mark.parametrize("model", [StaffMember, Compensation])
def test_changelist_queries_do_not_grow_with_rows(super_client, model):
    grow(3)
    few = changelist_queries(super_client, model)
    grow(12)
    assert model.objects.count() >= 15
    assert changelist_queries(super_client, model) == few


def test_staff_changelist_with_pay_column_does_not_grow_with_rows(finance_client):
    grow(3)
    few = changelist_queries(finance_client, StaffMember)
    grow(12)
    assert changelist_queries(finance_client, StaffMember) == few


# --- Operations never sees pay ---------------------------------------------------------------


def test_operations_gets_403_on_every_compensation_page(operations_client, ada):
    pay = ada.compensations.get()
    for page in (
        url(Compensation, "changelist"),
        url(Compensation, "add"),
        url(Compensation, "change", pay.pk),
        url(Compensation, "history", pay.pk),
        url(Compensation, "export"),
        url(Compensation, "import"),
        url(Compensation, "delete", pay.pk),
    ):
        response = operations_client.get(page)
        assert response.status_code == 403, page
        assert shows_no_salary(response)
    assert operations_client.post(url(Compensation, "export"), {"format": "0"}).status_code == 403


def test_operations_sees_a_staff_member_without_any_pay(operations_client, ada):
    response = operations_client.get(url(StaffMember, "change", ada.pk))
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"] == []
    assert "compensations-TOTAL_FORMS" not in response.content.decode()
    assert shows_no_salary(response)

    response = operations_client.get(url(StaffMember, "changelist"))
    assert "current_pay" not in response.context["cl"].list_display
    assert shows_no_salary(response)


def test_operations_deleting_a_staff_member_sees_no_pay_record_and_is_refused(operations_client, ada):
    response = operations_client.get(url(StaffMember, "delete", ada.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ada Lovelace" in html
    assert "from 2022-01-03" not in html
    assert shows_no_salary(response)
    # Pay records protect the person: the delete is refused, without naming their dates.
    assert response.context["protected"] == ["Records you may not see"]
    refused = operations_client.post(url(StaffMember, "delete", ada.pk), {"post": "yes"})
    assert refused.status_code in (200, 403)
    assert shows_no_salary(refused)
    assert StaffMember.objects.filter(pk=ada.pk).exists()


def test_finance_sees_the_pay_records_a_delete_would_remove(finance_client, ada):
    html = finance_client.get(url(StaffMember, "delete", ada.pk)).content.decode()
    assert "Ada Lovelace from 2022-01-03" in html


def test_operations_exports_staff_without_pay(operations_client, ada):
    fields = {f"staffmemberresource_{name}": "on" for name in StaffMemberResource().get_export_order()}
    response = operations_client.post(url(StaffMember, "export"), {"format": "0", "resource": "0", **fields})
    assert response.status_code == 200
    content = response.content.decode()
    assert "ada-l" in content
    assert not any(text in content for text in SALARY_TEXTS)


def test_operations_adds_and_changes_staff_members(operations_client, ada):
    assert operations_client.get(url(StaffMember, "add")).status_code == 200
    data = form_data(operations_client.get(url(StaffMember, "change", ada.pk)))
    data["title"] = "Principal engineer"
    response = operations_client.post(url(StaffMember, "change", ada.pk), data)
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.title == "Principal engineer"
    # Pay was not touched by a save that could not see it.
    assert ada.compensations.get().annual_salary == SALARY

    data = {"name": "New Hire", "slug": "new-hire", "team": "operations", "employment": "part_time"}
    data |= {"fte": "0.50", "start_on": "2024-09-02"}
    assert operations_client.post(url(StaffMember, "add"), data).status_code == 302
    assert StaffMember.objects.filter(slug="new-hire").exists()


def test_pay_changes_stay_out_of_the_staff_history_operations_can_read(
    finance_client, operations_client, ada
):
    data = form_data(finance_client.get(url(StaffMember, "change", ada.pk)))
    data["compensations-0-annual_salary"] = "190000.00"
    data["title"] = "Lead"
    assert finance_client.post(url(StaffMember, "change", ada.pk), data).status_code == 302
    assert ada.compensations.get().annual_salary == Decimal("190000.00")

    response = operations_client.get(url(StaffMember, "history", ada.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Title" in html
    assert "ompensation" not in html
    assert "alary" not in html


# --- Finance and Leadership -------------------------------------------------------------------


def test_finance_sees_and_edits_compensation(finance_client, ada):
    pay = ada.compensations.get()
    response = finance_client.get(url(StaffMember, "change", ada.pk))
    # Pay, and the grants the person's time is charged to (which reveal pay as much).
    assert [i.formset.prefix for i in response.context["inline_admin_formsets"]] == [
        "compensations",
        "allocations",
    ]
    response = finance_client.get(url(StaffMember, "changelist"))
    assert "187,654.32 USD" in response.content.decode()

    data = form_data(finance_client.get(url(Compensation, "change", pay.pk)))
    data["annual_salary"] = "190000.00"
    assert finance_client.post(url(Compensation, "change", pay.pk), data).status_code == 302
    pay.refresh_from_db()
    assert pay.annual_salary == Decimal("190000.00")
    assert finance_client.get(url(Compensation, "history", pay.pk)).status_code == 200
    assert finance_client.get(url(Compensation, "export")).status_code == 200


def test_leadership_sees_compensation_but_cannot_change_it(leadership_client, ada):
    pay = ada.compensations.get()
    response = leadership_client.get(url(Compensation, "change", pay.pk))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert leadership_client.get(url(Compensation, "add")).status_code == 403
    response = leadership_client.get(url(StaffMember, "change", ada.pk))
    assert [i.formset.prefix for i in response.context["inline_admin_formsets"]] == [
        "compensations",
        "allocations",
    ]
