"""The contracts CRUD API at /api/v1/contracts/: through the test client and the router's URLs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import Resolver404, resolve, reverse

from communities.tests.factories import CommunityFactory
from contracts.models import ContractPayment, ServiceContract

from .factories import ContractPaymentFactory, ServiceContractFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(f"contracts-api:{name}", args=args)


def results(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def contract_payload(**overrides: Any) -> dict[str, Any]:
    CommunityFactory(slug="uni-toronto")
    return {
        "reference": "c-2025-toronto",
        "community": "uni-toronto",
        "category": "hub_service",
        "status": "signed",
        "probability": 100,
        "signed_on": "2024-12-01",
        "start_on": "2025-01-01",
        "end_on": "2025-12-31",
        "total_value": "24000.00",
        **overrides,
    }


# --- contracts: CRUD --------------------------------------------------------------------------


def test_operations_lists_contracts_with_their_payment_totals(operations_client):
    contract = ServiceContractFactory(reference="c-1", community=CommunityFactory(slug="uni-a"))
    ContractPaymentFactory(contract=contract, amount=Decimal("3000.00"), paid_on=dt.date(2024, 1, 10))
    ContractPaymentFactory(contract=contract, amount=Decimal("1000.00"))

    rows = results(operations_client.get(url("contract-list")))

    assert rows == [
        {
            "reference": "c-1",
            "community": "uni-a",
            "category": "hub_service",
            "status": "signed",
            "probability": 100,
            "signed_on": "2023-12-15",
            "start_on": "2024-01-01",
            "end_on": "2024-12-31",
            "total_value": "12000.00",
            "currency": "USD",
            "usage_fee_schedule": None,
            "payments_total": "4000.00",
            "paid_total": "3000.00",
            "schedule_incomplete": True,
            "created_at": rows[0]["created_at"],
            "updated_at": rows[0]["updated_at"],
        }
    ]


def test_a_contract_is_retrieved_by_its_reference(operations_client):
    ServiceContractFactory(reference="c-1")

    response = operations_client.get(url("contract-detail", "c-1"))

    assert response.status_code == 200
    assert response.json()["reference"] == "c-1"
    assert operations_client.get(url("contract-detail", "c-2")).status_code == 404


def test_operations_creates_a_contract_naming_its_community_by_slug(operations_client):
    response = operations_client.post(
        url("contract-list"), contract_payload(), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    contract = ServiceContract.objects.get(reference="c-2025-toronto")
    assert (contract.community.slug, contract.total_value, contract.currency) == (
        "uni-toronto",
        Decimal("24000.00"),
        "USD",
    )
    body = response.json()
    assert (body["community"], body["payments_total"], body["schedule_incomplete"]) == (
        "uni-toronto",
        "0.00",
        True,
    )


def test_operations_moves_a_contract_to_another_community_by_slug(operations_client):
    ServiceContractFactory(reference="c-1")
    CommunityFactory(slug="uni-b")

    response = operations_client.patch(
        url("contract-detail", "c-1"), {"community": "uni-b"}, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["community"] == "uni-b"
    assert ServiceContract.objects.get(reference="c-1").community.slug == "uni-b"


def test_a_put_replaces_every_field_of_a_contract(operations_client):
    ServiceContractFactory(reference="c-2025-toronto")

    response = operations_client.put(
        url("contract-detail", "c-2025-toronto"),
        contract_payload(status="proposed", signed_on=None, probability=40),
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    contract = ServiceContract.objects.get(reference="c-2025-toronto")
    assert (contract.status, contract.signed_on, contract.probability, contract.start_on) == (
        "proposed",
        None,
        40,
        dt.date(2025, 1, 1),
    )


def test_operations_deletes_a_contract_and_its_payments(operations_client):
    ContractPaymentFactory(contract=ServiceContractFactory(reference="c-1"))

    response = operations_client.delete(url("contract-detail", "c-1"))

    assert response.status_code == 204
    assert not ServiceContract.objects.exists()
    assert not ContractPayment.objects.exists()


# --- contracts: rules -------------------------------------------------------------------------


def test_a_signed_contract_without_its_signing_date_is_refused(operations_client):
    response = operations_client.post(
        url("contract-list"), contract_payload(signed_on=None), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"signed_on": ["A signed contract needs the date it was signed."]}
    assert not ServiceContract.objects.exists()


def test_a_probability_over_100_is_refused(operations_client):
    response = operations_client.post(
        url("contract-list"), contract_payload(probability=150), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"probability": ["The probability is a percentage from 0 to 100, not 150."]}


def test_a_total_value_below_the_payments_is_refused(operations_client):
    contract = ServiceContractFactory(reference="c-1")
    ContractPaymentFactory(contract=contract, amount=Decimal("5000.00"))

    response = operations_client.patch(
        url("contract-detail", "c-1"), {"total_value": "4000.00"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "already sum to 5,000.00 USD" in response.json()["total_value"][0]
    contract.refresh_from_db()
    assert contract.total_value == Decimal("12000.00")


def test_a_total_value_with_three_decimal_places_is_refused_not_rounded(operations_client):
    response = operations_client.post(
        url("contract-list"), contract_payload(total_value="24000.005"), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"total_value": ["Ensure that there are no more than 2 decimal places."]}
    assert not ServiceContract.objects.exists()


def test_an_unknown_community_is_a_400_on_that_field(operations_client):
    response = operations_client.post(
        url("contract-list"), contract_payload(community="nowhere"), content_type="application/json"
    )

    assert response.status_code == 400
    assert "nowhere" in response.json()["community"][0]


def test_a_duplicate_reference_is_a_400(operations_client):
    ServiceContractFactory(reference="c-2025-toronto")

    response = operations_client.post(
        url("contract-list"), contract_payload(), content_type="application/json"
    )

    assert response.status_code == 400
    assert "reference" in response.json()


# --- payments ---------------------------------------------------------------------------------


def test_a_payment_is_added_to_a_contract_by_its_reference(operations_client):
    ServiceContractFactory(reference="c-1", community=CommunityFactory(slug="uni-a"))
    payload = {"contract": "c-1", "due_on": "2024-02-01", "amount": "2000.00"}

    response = operations_client.post(url("payment-list"), payload, content_type="application/json")

    assert response.status_code == 201, response.content
    payment = ContractPayment.objects.get()
    assert response.json() == {
        "id": payment.pk,
        "contract": "c-1",
        "community": "uni-a",
        "due_on": "2024-02-01",
        "amount": "2000.00",
        "paid_on": None,
        "created_at": response.json()["created_at"],
        "updated_at": response.json()["updated_at"],
    }


def test_a_payment_is_retrieved_updated_and_deleted_by_id(operations_client):
    payment = ContractPaymentFactory()

    assert operations_client.get(url("payment-detail", payment.pk)).json()["amount"] == "1000.00"
    updated = operations_client.patch(
        url("payment-detail", payment.pk), {"paid_on": "2024-01-20"}, content_type="application/json"
    )
    assert updated.status_code == 200
    payment.refresh_from_db()
    assert payment.paid_on == dt.date(2024, 1, 20)
    assert operations_client.delete(url("payment-detail", payment.pk)).status_code == 204
    assert not ContractPayment.objects.exists()


def test_payments_over_the_contract_total_are_refused(operations_client):
    contract = ServiceContractFactory(reference="c-1")
    ContractPaymentFactory(contract=contract, amount=Decimal("11000.00"))
    payload = {"contract": "c-1", "due_on": "2024-06-01", "amount": "1500.00"}

    response = operations_client.post(url("payment-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "amount": [
            "The payments of contract c-1 would sum to 12,500.00 USD, 500.00 USD over its total value "
            "of 12,000.00 USD."
        ]
    }
    assert ContractPayment.objects.count() == 1


def test_raising_a_payment_over_the_contract_total_is_refused(operations_client):
    contract = ServiceContractFactory(reference="c-1")
    ContractPaymentFactory(contract=contract, amount=Decimal("6000.00"))
    payment = ContractPaymentFactory(contract=contract, amount=Decimal("6000.00"))

    response = operations_client.patch(
        url("payment-detail", payment.pk), {"amount": "6000.01"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "12,000.01 USD, 0.01 USD over" in response.json()["amount"][0]


def test_a_payment_with_three_decimal_places_is_refused_not_rounded(operations_client):
    ServiceContractFactory(reference="c-1")
    payload = {"contract": "c-1", "due_on": "2024-02-01", "amount": "10.005"}

    response = operations_client.post(url("payment-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"amount": ["Ensure that there are no more than 2 decimal places."]}
    assert not ContractPayment.objects.exists()


# --- the schedule action ----------------------------------------------------------------------


def test_a_monthly_schedule_splits_the_total_with_the_rounding_cent_last(operations_client):
    ServiceContractFactory(reference="c-1", total_value=Decimal("1000.00"))

    response = operations_client.post(
        url("contract-schedule", "c-1"), {"plan": "monthly"}, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body) == 12
    assert (body[0]["due_on"], body[0]["amount"]) == ("2024-01-01", "83.33")
    assert (body[-1]["due_on"], body[-1]["amount"]) == ("2024-12-01", "83.37")
    assert sum(Decimal(row["amount"]) for row in body) == Decimal("1000.00")
    assert ContractPayment.objects.filter(contract__reference="c-1").count() == 12


def test_a_schedule_may_start_on_another_day(operations_client):
    ServiceContractFactory(reference="c-1")

    response = operations_client.post(
        url("contract-schedule", "c-1"),
        {"plan": "quarterly", "first_due_on": "2024-01-15"},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert [row["due_on"] for row in response.json()] == [
        "2024-01-15",
        "2024-04-15",
        "2024-07-15",
        "2024-10-15",
    ]


def test_a_schedule_over_existing_payments_is_refused(operations_client):
    ContractPaymentFactory(contract=ServiceContractFactory(reference="c-1"))

    response = operations_client.post(
        url("contract-schedule", "c-1"), {"plan": "monthly"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "payments": ["Contract c-1 already has 1 payment; delete them before creating a schedule."]
    }
    assert ContractPayment.objects.count() == 1


def test_an_unknown_billing_plan_is_a_400_on_plan(operations_client):
    ServiceContractFactory(reference="c-1")

    response = operations_client.post(
        url("contract-schedule", "c-1"), {"plan": "weekly"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "plan" in response.json()
    assert not ContractPayment.objects.exists()


def test_leadership_may_not_create_a_schedule(leadership_client):
    ServiceContractFactory(reference="c-1")

    response = leadership_client.post(
        url("contract-schedule", "c-1"), {"plan": "monthly"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert not ContractPayment.objects.exists()


def test_a_schedule_answers_through_the_json_format_suffix_too(operations_client):
    ServiceContractFactory(reference="c-1", total_value=Decimal("1000.00"))
    suffixed = url("contract-schedule", "c-1", "json")
    assert suffixed.endswith("/c-1/schedule.json")

    response = operations_client.post(suffixed, {"plan": "annual"}, content_type="application/json")

    assert response.status_code == 201, response.content
    assert [row["amount"] for row in response.json()] == ["1000.00"]


# --- lookups ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/contracts/contracts/c\x001/",
        "/api/v1/contracts/contracts/caf\u00e9/",
        "/api/v1/contracts/contracts/c\x001/schedule/",
        "/api/v1/contracts/payments/1\x00/",
        "/api/v1/contracts/payments/x/",
    ],
)
def test_a_lookup_no_row_could_have_is_not_routed_so_never_reaches_the_database(operations_client, path):
    # On PostgreSQL a NUL byte reaching a query is a database error (a 500): the URL pattern
    # refuses it before any query runs.
    with pytest.raises(Resolver404):
        resolve(path)
    assert operations_client.get(path).status_code == 404


# --- filters ----------------------------------------------------------------------------------


def test_contracts_filter_by_community_slug_status_and_signing_date_range(operations_client):
    uni = CommunityFactory(slug="uni-a")
    ServiceContractFactory(reference="c-match", community=uni, signed_on=dt.date(2024, 3, 1))
    ServiceContractFactory(reference="c-signed-early", community=uni, signed_on=dt.date(2023, 3, 1))
    ServiceContractFactory(reference="c-other-community", signed_on=dt.date(2024, 3, 1))
    ServiceContractFactory(
        reference="c-proposed", community=uni, status="proposed", signed_on=dt.date(2024, 3, 1)
    )

    rows = results(
        operations_client.get(
            url("contract-list"),
            {
                "community": "uni-a",
                "status": "signed",
                "signed_on_after": "2024-01-01",
                "signed_on_before": "2024-12-31",
            },
        )
    )

    assert [row["reference"] for row in rows] == ["c-match"]


def test_contracts_filter_by_incomplete_schedule(operations_client):
    complete = ServiceContractFactory(reference="c-complete", total_value=Decimal("1000.00"))
    ContractPaymentFactory(contract=complete, amount=Decimal("1000.00"))
    ServiceContractFactory(reference="c-incomplete")

    incomplete = results(operations_client.get(url("contract-list"), {"schedule_incomplete": "true"}))
    done = results(operations_client.get(url("contract-list"), {"schedule_incomplete": "false"}))

    assert [row["reference"] for row in incomplete] == ["c-incomplete"]
    assert [row["reference"] for row in done] == ["c-complete"]


def test_payments_filter_by_contract_reference_paid_and_due_date_range(operations_client):
    contract = ServiceContractFactory(reference="c-1")
    match = ContractPaymentFactory(contract=contract, due_on=dt.date(2024, 2, 1))
    ContractPaymentFactory(contract=contract, due_on=dt.date(2024, 3, 1), paid_on=dt.date(2024, 3, 2))
    ContractPaymentFactory(contract=contract, due_on=dt.date(2024, 9, 1))
    ContractPaymentFactory(due_on=dt.date(2024, 2, 1))

    rows = results(
        operations_client.get(
            url("payment-list"), {"contract": "c-1", "paid": "false", "due_on_before": "2024-06-30"}
        )
    )

    assert [row["id"] for row in rows] == [match.pk]


def test_payments_filter_by_community_slug(operations_client):
    mine = ContractPaymentFactory(contract=ServiceContractFactory(community=CommunityFactory(slug="uni-a")))
    ContractPaymentFactory()

    rows = results(operations_client.get(url("payment-list"), {"community": "uni-a"}))

    assert [row["id"] for row in rows] == [mine.pk]


@pytest.mark.parametrize(
    ("name", "params", "parameter"),
    [
        ("contract-list", {"signed_on_after": "not-a-date"}, "signed_on"),
        ("contract-list", {"category": "catering"}, "category"),
        ("payment-list", {"status": "maybe"}, "status"),
    ],
)
def test_a_malformed_filter_is_a_400_naming_it(operations_client, name, params, parameter):
    response = operations_client.get(url(name), params)

    assert response.status_code == 400
    assert parameter in response.json()


# --- ordering and pagination ------------------------------------------------------------------


def test_contracts_order_by_an_allowed_field(operations_client):
    for reference, value in (("c-a", "300.00"), ("c-b", "100.00"), ("c-c", "200.00")):
        ServiceContractFactory(reference=reference, total_value=Decimal(value))

    rows = results(operations_client.get(url("contract-list"), {"ordering": "-total_value"}))

    assert [row["reference"] for row in rows] == ["c-a", "c-c", "c-b"]


@pytest.mark.parametrize("name", ["contract-list", "payment-list"])
def test_an_unknown_ordering_is_ignored_not_a_500(operations_client, name):
    ContractPaymentFactory.create_batch(3)
    default = results(operations_client.get(url(name)))

    response = operations_client.get(url(name), {"ordering": "community__name,-nope"})

    assert results(response) == default


def test_a_page_holds_at_most_the_maximum_and_follows_with_the_next(operations_client):
    contract = ServiceContractFactory(total_value=Decimal("100000.00"))
    ContractPayment.objects.bulk_create(
        ContractPayment(contract=contract, due_on=dt.date(2024, 1, 1), amount=Decimal("1.00"))
        for _ in range(1001)
    )

    body = operations_client.get(url("payment-list"), {"limit": 5000}).json()
    rest = operations_client.get(url("payment-list"), {"limit": 5000, "offset": 1000}).json()

    assert (body["count"], len(body["results"]), len(rest["results"])) == (1001, 1000, 1)
    # Same due date for all: the primary key keeps the two pages apart.
    assert rest["results"][0]["id"] not in {row["id"] for row in body["results"]}


# --- query counts -----------------------------------------------------------------------------

# A logged-in list: 1 session, 2 user, 3 the user's permissions, 4 its groups' permissions,
# 5 the page count, 6 the page (communities joined, payment totals as subqueries).
LIST_QUERIES = 6


@pytest.mark.parametrize(
    ("name", "factory"), [("contract-list", ServiceContractFactory), ("payment-list", ContractPaymentFactory)]
)
def test_a_list_costs_the_same_queries_for_3_rows_as_for_20(
    operations_client, django_assert_num_queries, name, factory
):
    for size in (3, 20):
        factory.create_batch(size - factory._meta.model.objects.count())
        with django_assert_num_queries(LIST_QUERIES):
            response = operations_client.get(url(name))
        assert len(response.json()["results"]) == size


# --- roles (docs/roles.md) ------------------------------------------------------------------


def test_finance_keeps_contracts_as_operations_does(finance_client):
    response = finance_client.post(url("contract-list"), contract_payload(), content_type="application/json")

    assert response.status_code == 201
    assert finance_client.delete(url("contract-detail", "c-2025-toronto")).status_code == 204


def test_leadership_reads_contracts_and_payments_but_changes_nothing(leadership_client):
    payment = ContractPaymentFactory(contract=ServiceContractFactory(reference="c-1"))

    assert leadership_client.get(url("contract-detail", "c-1")).status_code == 200
    assert leadership_client.get(url("payment-detail", payment.pk)).status_code == 200
    assert (
        leadership_client.patch(
            url("contract-detail", "c-1"), {"probability": 5}, content_type="application/json"
        ).status_code
        == 403
    )
    assert (
        leadership_client.post(
            url("contract-list"), contract_payload(), content_type="application/json"
        ).status_code
        == 403
    )
    assert leadership_client.delete(url("payment-detail", payment.pk)).status_code == 403
    assert ServiceContract.objects.get(reference="c-1").probability == 100
    assert ContractPayment.objects.count() == 1


@pytest.mark.parametrize("name", ["contract-list", "payment-list"])
def test_anonymous_requests_are_refused(client, name):
    ContractPaymentFactory()

    response = client.get(url(name))

    assert response.status_code in (401, 403)
    assert "results" not in response.json()


def test_a_user_without_a_role_may_not_read_contracts(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(username="nobody", password="pw-nobody"))
    ServiceContractFactory(reference="c-1")

    assert client.get(url("contract-list")).status_code == 403
    assert client.get(url("contract-detail", "c-1")).status_code == 403
