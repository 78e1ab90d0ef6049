"""The staff CRUD API at /api/v1/staff/: through the test client and the router's URLs.

Pay is sensitive (docs/roles.md): besides the CRUD, these tests look for it where an
Operations user could find it: nested in staff members, in ordering and filter side channels,
in OPTIONS metadata and in error messages.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from staff.models import Compensation, StaffMember

from .factories import CompensationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

# Words that would give pay away in a response to someone who may not see it.
PAY_WORDS = ("compensation", "salary", "benefits", "pay")


def url(name: str, *args: Any) -> str:
    return reverse(f"staff-api:{name}", args=args)


def results(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def slugs(response) -> list[str]:
    return [row["slug"] for row in results(response)]


def post(client, name: str, data: Any, *args: Any):
    return client.post(url(name, *args), data, content_type="application/json")


def patch(client, name: str, data: Any, *args: Any):
    return client.patch(url(name, *args), data, content_type="application/json")


def member_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "slug": "ada",
        "name": "Ada Lovelace",
        "github": "@Ada-GH",
        "team": "engineering",
        "fte": "0.80",
        "start_on": "2022-03-01",
        "country": "GB",
        **overrides,
    }


def pay_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "staff": "ada",
        "effective_on": "2022-03-01",
        "annual_salary": "98000.00",
        "benefits_rate": "0.2500",
        **overrides,
    }


@pytest.fixture
def ada():
    return StaffMemberFactory(slug="ada", name="Ada Lovelace", start_on=dt.date(2022, 3, 1))


# --- staff members ------------------------------------------------------------------------------


def test_operations_creates_a_staff_member_and_the_service_normalizes_the_login(operations_client):
    response = post(operations_client, "member-list", member_payload())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body | {"created_at": None, "updated_at": None} == {
        "slug": "ada",
        "name": "Ada Lovelace",
        "github": "Ada-GH",
        "email": "",
        "title": "",
        "team": "engineering",
        "employment": "full_time",
        "fte": "0.80",
        "start_on": "2022-03-01",
        "end_on": None,
        "country": "GB",
        "distinguished_contributor": False,
        "created_at": None,
        "updated_at": None,
    }
    assert StaffMember.objects.get().github == "Ada-GH"


def test_a_staff_member_is_retrieved_updated_and_deleted_by_slug(operations_client, ada):
    assert operations_client.get(url("member-detail", "ada")).json()["name"] == "Ada Lovelace"
    assert operations_client.get(url("member-detail", "grace")).status_code == 404

    response = patch(operations_client, "member-detail", {"end_on": "2024-06-30", "title": "Lead"}, "ada")

    assert response.status_code == 200, response.content
    ada.refresh_from_db()
    assert (ada.end_on, ada.title) == (dt.date(2024, 6, 30), "Lead")
    assert operations_client.delete(url("member-detail", "ada")).status_code == 204
    assert not StaffMember.objects.exists()


def test_a_login_taken_in_another_case_is_refused_with_the_services_message(operations_client):
    StaffMemberFactory(name="Grace Hopper", github="ada-gh")

    response = post(operations_client, "member-list", member_payload())

    assert response.status_code == 400
    assert response.json() == {
        "github": [
            "GitHub login 'Ada-GH' is already used by Grace Hopper (as 'ada-gh'); "
            "logins are unique regardless of case."
        ]
    }


def test_an_end_before_the_start_is_refused_with_the_services_message(operations_client):
    response = post(operations_client, "member-list", member_payload(end_on="2022-02-28"))

    assert response.status_code == 400
    assert response.json() == {"end_on": ["End on 2022-02-28 is before start on 2022-03-01."]}


@pytest.mark.parametrize(
    ("fte", "problem"), [("0.805", "decimal places"), ("1.50", "less than or equal to 1")]
)
def test_an_fte_with_three_places_or_over_one_is_refused_not_rounded(operations_client, fte, problem):
    response = post(operations_client, "member-list", member_payload(fte=fte))

    assert response.status_code == 400
    assert problem in response.json()["fte"][0]
    assert not StaffMember.objects.exists()


def test_staff_members_filter_by_team_employment_day_and_start_range(operations_client):
    StaffMemberFactory(slug="a", name="A", start_on=dt.date(2021, 1, 4), end_on=dt.date(2022, 12, 31))
    StaffMemberFactory(slug="b", name="B", team="operations", start_on=dt.date(2022, 6, 1))
    StaffMemberFactory(
        slug="c", name="C", employment="contractor", start_on=dt.date(2023, 6, 1), github="C-GH"
    )

    def listed(**params: str) -> list[str]:
        return slugs(operations_client.get(url("member-list"), params))

    assert listed(team="operations") == ["b"]
    assert listed(employment="contractor") == ["c"]
    assert listed(employed_on="2022-12-31") == ["a", "b"]
    assert listed(employed_on="2023-01-01") == ["b"]
    assert listed(start_on_after="2022-01-01", start_on_before="2022-12-31") == ["b"]
    assert listed(github="c-gh") == ["c"]
    assert operations_client.get(url("member-list"), {"employed_on": "yesterday"}).status_code == 400


def test_staff_members_order_on_the_allow_list_and_ignore_other_fields(operations_client):
    StaffMemberFactory(slug="a", name="A", start_on=dt.date(2023, 1, 1))
    StaffMemberFactory(slug="b", name="B", start_on=dt.date(2021, 1, 1))

    assert slugs(operations_client.get(url("member-list"), {"ordering": "start_on"})) == ["b", "a"]
    assert slugs(operations_client.get(url("member-list"), {"ordering": "-email"})) == ["a", "b"]
    assert slugs(operations_client.get(url("member-list"), {"ordering": "???"})) == ["a", "b"]


def test_a_staff_page_holds_at_most_1000_rows(operations_client):
    StaffMember.objects.bulk_create(
        StaffMember(slug=f"p-{n}", name="Same name", team="engineering", start_on=dt.date(2021, 1, 1))
        for n in range(1001)
    )

    body = operations_client.get(url("member-list"), {"limit": 5000}).json()
    rest = operations_client.get(url("member-list"), {"limit": 5000, "offset": 1000}).json()

    assert (body["count"], len(body["results"]), len(rest["results"])) == (1001, 1000, 1)
    assert rest["results"][0]["slug"] not in {row["slug"] for row in body["results"]}


# --- compensation ---------------------------------------------------------------------------------


def test_finance_records_pay_for_a_staff_member_by_slug(finance_client, ada):
    response = post(finance_client, "compensation-list", pay_payload())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body | {"id": None, "created_at": None, "updated_at": None} == {
        "id": None,
        "staff": "ada",
        "effective_on": "2022-03-01",
        "annual_salary": "98000.00",
        "benefits_rate": "0.2500",
        "currency": "USD",
        "created_at": None,
        "updated_at": None,
    }
    pay = Compensation.objects.get()
    assert (pay.staff, pay.annual_salary, pay.benefits_rate) == (ada, Decimal("98000.00"), Decimal("0.25"))


def test_a_salary_with_three_decimal_places_is_refused_not_rounded(finance_client, ada):
    response = post(finance_client, "compensation-list", pay_payload(annual_salary="98000.005"))

    assert response.status_code == 400
    assert "decimal places" in response.json()["annual_salary"][0]
    assert not Compensation.objects.exists()


def test_pay_before_employment_is_refused_without_repeating_the_amount(finance_client, ada):
    response = post(finance_client, "compensation-list", pay_payload(effective_on="2022-02-01"))

    assert response.status_code == 400
    assert response.json() == {
        "effective_on": [
            "Effective on 2022-02-01 is before Ada Lovelace's start on 2022-03-01; "
            "pay cannot begin before employment does."
        ]
    }
    assert "98000" not in response.content.decode()


def test_pay_is_changed_and_deleted_by_id_but_stays_with_its_person(finance_client, ada):
    pay = CompensationFactory(staff=ada)
    StaffMemberFactory(slug="grace")

    raised = patch(finance_client, "compensation-detail", {"annual_salary": "105000.00"}, pay.pk)
    moved = patch(finance_client, "compensation-detail", {"staff": "grace"}, pay.pk)
    same = patch(finance_client, "compensation-detail", {"staff": "ada", "benefits_rate": "0.3000"}, pay.pk)

    assert (raised.status_code, same.status_code) == (200, 200), (raised.content, same.content)
    assert moved.status_code == 400
    assert "stays with its staff member" in moved.json()["staff"][0]
    pay.refresh_from_db()
    assert (pay.staff, pay.annual_salary, pay.benefits_rate) == (ada, Decimal("105000.00"), Decimal("0.3"))
    assert finance_client.delete(url("compensation-detail", pay.pk)).status_code == 204
    assert not Compensation.objects.exists()


def test_pay_filters_by_staff_slug_and_effective_range_and_orders_by_salary(finance_client, ada):
    first = CompensationFactory(
        staff=ada, effective_on=dt.date(2022, 3, 1), annual_salary=Decimal("90000.00")
    )
    later = CompensationFactory(
        staff=ada, effective_on=dt.date(2023, 3, 1), annual_salary=Decimal("80000.00")
    )
    CompensationFactory(staff=StaffMemberFactory(slug="grace"))

    def ids(**params: str) -> list[int]:
        return [row["id"] for row in results(finance_client.get(url("compensation-list"), params))]

    assert ids(staff="ada") == [later.pk, first.pk]
    assert ids(staff="ada", effective_on_after="2023-01-01") == [later.pk]
    assert ids(staff="ada", ordering="annual_salary") == [later.pk, first.pk]
    assert ids(staff="ada", ordering="-annual_salary") == [first.pk, later.pk]


# --- pay stays hidden from Operations ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "options", "post"])
def test_operations_cannot_reach_compensation_by_any_method(operations_client, ada, method):
    pay = CompensationFactory(staff=ada)

    for target in (url("compensation-list"), url("compensation-detail", pay.pk)):
        response = getattr(operations_client, method)(target, pay_payload(), content_type="application/json")
        assert response.status_code == 403
        assert "98000" not in response.content.decode() and "120000" not in response.content.decode()
    assert (
        patch(operations_client, "compensation-detail", {"annual_salary": "1.00"}, pay.pk).status_code == 403
    )
    assert operations_client.delete(url("compensation-detail", pay.pk)).status_code == 403
    assert Compensation.objects.get().annual_salary == Decimal("120000.00")


def test_staff_members_say_nothing_of_pay_in_rows_or_metadata(operations_client, ada):
    CompensationFactory(staff=ada)

    listed = operations_client.get(url("member-list"))
    detail = operations_client.get(url("member-detail", "ada"))
    metadata = operations_client.options(url("member-list"))

    for response in (listed, detail, metadata):
        assert response.status_code == 200
        text = json.dumps(response.json()).lower()
        assert not [word for word in PAY_WORDS if word in text], text
        assert "120000" not in text


def test_pay_is_no_side_channel_for_ordering_or_filtering_staff_members(operations_client):
    # Alphabetical order is the reverse of pay order: any pay-based ordering would show.
    CompensationFactory(staff=StaffMemberFactory(slug="a", name="A"), annual_salary=Decimal("200000.00"))
    CompensationFactory(staff=StaffMemberFactory(slug="b", name="B"), annual_salary=Decimal("50000.00"))

    def listed(**params: str) -> list[str]:
        return slugs(operations_client.get(url("member-list"), params))

    assert listed(ordering="compensations__annual_salary") == ["a", "b"]
    assert listed(ordering="-compensations__annual_salary") == ["a", "b"]
    assert listed(compensations__annual_salary__gt="100000") == ["a", "b"]
    assert listed(annual_salary="200000.00") == ["a", "b"]


# --- query counts -----------------------------------------------------------------------------------

# A logged-in list: 1 session, 2 user, 3 the user's permissions, 4 its groups' permissions,
# 5 the page count, 6 the page (staff members joined to pay records).
LIST_QUERIES = 6


@pytest.mark.parametrize(
    ("name", "factory"), [("member-list", StaffMemberFactory), ("compensation-list", CompensationFactory)]
)
def test_a_list_costs_the_same_queries_for_3_rows_as_for_20(
    finance_client, django_assert_num_queries, name, factory
):
    for size in (3, 20):
        factory.create_batch(size - factory._meta.model.objects.count())
        with django_assert_num_queries(LIST_QUERIES):
            response = finance_client.get(url(name))
        assert len(response.json()["results"]) == size


# --- roles (docs/roles.md) --------------------------------------------------------------------------


def test_leadership_reads_staff_and_pay_but_changes_neither(leadership_client, ada):
    pay = CompensationFactory(staff=ada)

    assert leadership_client.get(url("member-detail", "ada")).status_code == 200
    assert leadership_client.get(url("compensation-detail", pay.pk)).json()["annual_salary"] == "120000.00"
    assert post(leadership_client, "member-list", member_payload(slug="x", github=None)).status_code == 403
    assert (
        post(leadership_client, "compensation-list", pay_payload(effective_on="2023-01-01")).status_code
        == 403
    )
    assert (
        patch(leadership_client, "compensation-detail", {"annual_salary": "1.00"}, pay.pk).status_code == 403
    )
    assert leadership_client.delete(url("member-detail", "ada")).status_code == 403
    assert Compensation.objects.get().annual_salary == Decimal("120000.00")


def test_finance_keeps_the_roster_as_operations_does(finance_client):
    assert post(finance_client, "member-list", member_payload()).status_code == 201
    assert finance_client.delete(url("member-detail", "ada")).status_code == 204


def test_anonymous_and_inactive_users_get_nothing(client, inactive_user, ada):
    pay = CompensationFactory(staff=ada)

    assert client.get(url("member-list")).status_code == 401
    assert client.get(url("compensation-detail", pay.pk)).status_code == 401
    client.force_login(inactive_user)
    assert client.get(url("compensation-list")).status_code == 401
