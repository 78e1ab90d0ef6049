"""``GET /api/v1/funding/flags/`` (docs/api.md "Collection flags"): who may read it, its JSON, its
parameters and their errors, its schema and its queries."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client

from contracts.choices import ContractStatus
from contracts.models import ServiceContract
from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from funding.collection import FlagCode, collection_flags

from .factories import CashPositionFactory, DisbursementFactory, GrantFactory

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 8, 31)
URL = "/api/v1/funding/flags/"
MONEY = re.compile(r"^\d+\.\d{2}$")
FLAG_KEYS = [
    "kind",
    "key",
    "counterparty",
    "status",
    "flag",
    "label",
    "amount",
    "outstanding",
    "currency",
    "start_on",
    "end_on",
    "due_on",
    "reason",
]


@pytest.fixture
def books():
    """As of A: a contract that is stale, overdue and short of a schedule; a grant ending soon with
    all to receive; a proposed contract past its start."""
    CashPositionFactory(as_of=A, balance=D("1850000.00"))
    stale = ServiceContractFactory(
        reference="stale-hub", start_on=dt.date(2024, 1, 1), end_on=dt.date(2025, 6, 30)
    )
    ContractPaymentFactory(contract=stale, amount=D("3000.00"), due_on=dt.date(2024, 2, 1))
    soon = GrantFactory(reference="ending-grant", start_on=dt.date(2024, 5, 1), end_on=dt.date(2024, 10, 31))
    DisbursementFactory(grant=soon, amount=D("100000.00"), expected_on=dt.date(2024, 10, 31))
    ServiceContractFactory(
        reference="pitch",
        status=ContractStatus.PROPOSED,
        signed_on=None,
        probability=50,
        start_on=dt.date(2024, 8, 1),
        end_on=dt.date(2025, 7, 31),
    )


def _pairs(response) -> list[tuple[str, str]]:
    return [(row["key"], row["flag"]) for row in response.json()["results"]]


# --- who ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["finance_client", "leadership_client", "super_client"])
def test_finance_leadership_and_superusers_read_the_flags(request, client_name, books):
    response = request.getfixturevalue(client_name).get(URL)

    assert response.status_code == 200
    assert _pairs(response) == [
        ("stale-hub", "stale"),
        ("stale-hub", "overdue"),
        ("ending-grant", "ending_soon_uncollected"),
        ("stale-hub", "schedule_incomplete"),
        ("pitch", "past_close"),
    ]


def test_operations_is_refused_with_a_message_naming_no_record(operations_client, books):
    response = operations_client.get(URL)

    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to see the collection flags."}


def test_anonymous_is_asked_to_sign_in(books):
    response = Client().get(URL)

    assert response.status_code == 401
    assert "stale-hub" not in response.content.decode()


# --- the answer -----------------------------------------------------------------------------------


def test_the_answer_holds_the_date_the_count_and_each_flag_with_its_reason(finance_client, books):
    data = finance_client.get(URL).json()

    assert list(data) == ["as_of", "count", "results"]
    assert data["as_of"] == "2024-08-31"
    assert data["count"] == len(data["results"]) == len(collection_flags(A))
    for row in data["results"]:
        assert list(row) == FLAG_KEYS
        assert MONEY.match(row["amount"]) and MONEY.match(row["outstanding"])
        assert row["reason"] and row["label"] == FlagCode(row["flag"]).label
    overdue = next(row for row in data["results"] if row["flag"] == "overdue")
    assert overdue | {"reason": None} == {
        "kind": "contract",
        "key": "stale-hub",
        "counterparty": ServiceContract.objects.get(reference="stale-hub").community.name,
        "status": "signed",
        "flag": "overdue",
        "label": "Overdue",
        "amount": "12000.00",
        "outstanding": "12000.00",
        "currency": "USD",
        "start_on": "2024-01-01",
        "end_on": "2025-06-30",
        "due_on": "2024-02-01",
        "reason": None,
    }
    assert overdue["reason"].startswith("1 payment of 3,000.00 USD not yet paid, the oldest due 2024-02-01")


def test_the_flags_of_the_cash_positions_date_and_of_another_date_differ(finance_client, books):
    # On 2024-07-30 the grant ended more than 3 months later, and the proposal had not started.
    response = finance_client.get(URL, {"as_of": "2024-07-30"})

    assert response.json()["as_of"] == "2024-07-30"
    assert _pairs(response) == [
        ("stale-hub", "stale"),
        ("stale-hub", "overdue"),
        ("stale-hub", "schedule_incomplete"),
    ]


def test_with_no_cash_position_and_no_date_the_answer_is_404_saying_how_to_date_it(finance_client):
    response = finance_client.get(URL)

    assert response.status_code == 404
    assert "as_of" in response.json()["detail"]
    assert finance_client.get(URL, {"as_of": "2024-08-31"}).json() == {
        "as_of": "2024-08-31",
        "count": 0,
        "results": [],
    }


# --- parameters -----------------------------------------------------------------------------------


def test_flag_and_kind_narrow_the_answer(finance_client, books):
    overdue = finance_client.get(URL, {"flag": "overdue"})
    grants = finance_client.get(URL, {"kind": "grant"})
    both = finance_client.get(URL, {"kind": "contract", "flag": "past_close"})
    none = finance_client.get(URL, {"kind": "grant", "flag": "stale"})

    assert _pairs(overdue) == [("stale-hub", "overdue")]
    assert _pairs(grants) == [("ending-grant", "ending_soon_uncollected")]
    assert _pairs(both) == [("pitch", "past_close")]
    assert none.json()["count"] == 0


def test_an_empty_parameter_is_left_out(finance_client, books):
    assert finance_client.get(URL, {"flag": "", "kind": ""}).json()["count"] == 5


@pytest.mark.parametrize(
    ("query", "parameter", "named"),
    [
        ({"flag": "late"}, "flag", "late"),
        ({"kind": "subaward"}, "kind", "subaward"),
        ({"as_of": "31/08/2024"}, "as_of", "YYYY-MM-DD"),
        ({"as_of": "1900-01-01"}, "as_of", "1900-01-01"),
        ({"as_of": "9999-12-31"}, "as_of", "9999-12-31"),
    ],
)
def test_an_unknown_or_implausible_value_is_a_400_naming_the_parameter(
    finance_client, books, query, parameter, named
):
    response = finance_client.get(URL, query)

    assert response.status_code == 400
    assert list(response.json()) == [parameter]
    assert named in response.json()[parameter][0]


def test_an_unknown_flag_is_answered_with_the_flags_there_are(finance_client, books):
    response = finance_client.get(URL, {"flag": "late"})

    assert response.json() == {"flag": [f'"late" is not a flag; use one of {", ".join(FlagCode.values)}.']}


def test_other_methods_are_not_allowed(finance_client, books):
    assert finance_client.post(URL, {}, content_type="application/json").status_code == 405


# --- schema ---------------------------------------------------------------------------------------


def test_the_schema_documents_the_route_its_parameters_and_answers():
    schema = Client().get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"][URL]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) >= {"flag", "kind", "as_of"}
    assert parameters["flag"]["schema"]["enum"] == FlagCode.values
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "404"}
    assert "post" not in schema["paths"][URL]


# --- queries --------------------------------------------------------------------------------------

# A signed-in read: 1 the session, 2 the user, 3 its own permissions, 4 its groups' permissions,
# 5 the latest cash position, 6 the contracts (sums as subqueries), 7 the grants (likewise).
API_QUERIES = 7


@pytest.mark.parametrize("count", [2, 10])
def test_the_flags_cost_the_same_queries_for_2_records_as_for_10(
    finance_client, django_assert_num_queries, count
):
    CashPositionFactory(as_of=A)
    for index in range(count):
        made = ServiceContractFactory(
            reference=f"c-{index:02d}", start_on=dt.date(2023, 9, 1), end_on=dt.date(2024, 6, 30)
        )
        ContractPaymentFactory(contract=made, amount=D("1000.00"), due_on=dt.date(2023, 10, 1))
        ask = GrantFactory(
            reference=f"g-{index:02d}", start_on=dt.date(2023, 9, 1), end_on=dt.date(2024, 6, 30)
        )
        DisbursementFactory(grant=ask, amount=D("1000.00"), expected_on=dt.date(2023, 10, 1))

    with django_assert_num_queries(API_QUERIES):
        response = finance_client.get(URL)

    assert len({row["key"] for row in response.json()["results"]}) == 2 * count
