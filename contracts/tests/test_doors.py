"""Every door writes contracts and payments through the same services (docs/architecture.md
"One write path"): the API, the admin form, the admin inline (payments inside their contract) and
an import refuse a broken rule with the same message on the same field and write nothing; a good
write stores the same row and asks for the same recompute; a delete has the same outcome whether
it comes through the API, the admin's delete page or its bulk "delete selected" action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from communities.tests.factories import CommunityFactory
from contracts.models import ContractPayment, ServiceContract
from contracts.resources import ContractPaymentResource, ServiceContractResource
from opsite.core import testing
from opsite.core.testing import admin_url, csv_text, enqueued_by, enqueues_recorded, inline_management

from .factories import ContractPaymentFactory, ServiceContractFactory

pytestmark = pytest.mark.django_db
D = Decimal
Errors = dict[str, list[str]]

CONTRACT_DOORS = ["api", "admin", "import"]
PAYMENT_DOORS = ["api", "admin", "inline", "import"]


@pytest.fixture
def enqueued() -> Iterator[list[str]]:
    """The recompute kinds enqueued after each commit, in order (nothing really runs)."""
    with enqueues_recorded() as kinds:
        yield kinds


@pytest.fixture
def commit():
    """A block standing for one committed transaction (the test's own never commits).

    Setup writes are committed in one too: their recompute batch would otherwise still be
    waiting in the test's transaction, and a door's requests would join it unseen.
    """
    return testing.commit


@pytest.fixture
def committed(enqueued):
    """Run a write as one committed transaction; return it and the recompute kinds it enqueued."""
    return lambda write, *args, **kwargs: enqueued_by(enqueued, write, *args, **kwargs)


def api_url(name: str, *args) -> str:
    return reverse(f"contracts-api:{name}", args=args)


def api_errors(response) -> Errors:
    return testing.api_errors(response, accepted=(200, 201)) or {}


def admin_errors(response) -> Errors:
    # The set's error (its payments past the contract's value) is shown above the payments:
    # it is the amount error of the set as a whole.
    return testing.admin_errors(response, set_errors_on="amount") or {}


def import_errors(resource, header: list[str], *rows: list[str]) -> Errors:
    return testing.import_errors(resource, csv_text(header, list(rows), lineterminator="\n")) or {}


def blank(value: Any) -> str:
    return "" if value is None else str(value)


# --- contracts -------------------------------------------------------------------------------


def contract_record(**overrides: Any) -> dict[str, Any]:
    """A contract as the API writes it (its community by slug)."""
    return {
        "reference": "c-1",
        "community": "uni",
        "category": "hub_service",
        "status": "signed",
        "probability": 100,
        "signed_on": "2023-12-15",
        "start_on": "2024-01-01",
        "end_on": "2024-12-31",
        "total_value": "1000.00",
        "currency": "USD",
        **overrides,
    }


def write_contract(door: str, client, record: dict[str, Any], existing: ServiceContract | None) -> Errors:
    """Create (``existing`` None) or update a contract with ``record`` through ``door``."""
    if door == "api":
        if existing is None:
            response = client.post(api_url("contract-list"), record, content_type="application/json")
        else:
            path = api_url("contract-detail", existing.reference)
            response = client.put(path, record, content_type="application/json")
        return api_errors(response)
    if door == "admin":
        data = {name: blank(value) for name, value in record.items()}
        data["community"] = str(CommunityFactory(slug=record["community"]).pk)
        data.update(inline_management("payments"))
        if existing is None:
            return admin_errors(client.post(admin_url(ServiceContract, "add"), data))
        return admin_errors(client.post(admin_url(ServiceContract, "change", existing.pk), data))
    assert door == "import"
    return import_errors(ServiceContractResource(), list(record), [blank(v) for v in record.values()])


def contract_row() -> tuple:
    return tuple(
        ServiceContract.objects.values_list(
            "reference", "community__slug", "status", "signed_on", "total_value", "probability"
        ).order_by("pk")
    )


@pytest.fixture
def uni(commit):
    with commit():
        return CommunityFactory(slug="uni")


@pytest.mark.parametrize("door", CONTRACT_DOORS)
@pytest.mark.parametrize("mode", ["create", "update"])
def test_a_signed_contract_without_its_date_is_refused_alike_at_every_door(
    door, mode, uni, operations_client, commit, committed
):
    existing = None
    if mode == "update":
        with commit():
            existing = ServiceContractFactory(
                reference="c-1", community=uni, status="proposed", signed_on=None
            )
    before = contract_row()
    errors, kinds = committed(
        write_contract, door, operations_client, contract_record(signed_on=None), existing
    )
    assert errors == {"signed_on": ["A signed contract needs the date it was signed."]}
    assert contract_row() == before
    assert kinds == []


@pytest.mark.parametrize("door", CONTRACT_DOORS)
def test_a_contract_value_below_its_payments_is_refused_alike_at_every_door(
    door, uni, operations_client, commit, committed
):
    with commit():
        contract = ServiceContractFactory(reference="c-1", community=uni, total_value=D("1000.00"))
        ContractPaymentFactory(contract=contract, amount=D("800.00"))
    before = contract_row()
    errors, kinds = committed(
        write_contract, door, operations_client, contract_record(total_value="700.00"), contract
    )
    assert errors == {
        "total_value": [
            "The payments of contract c-1 already sum to 800.00 USD: the total value cannot be "
            "700.00 USD, 100.00 USD less than that."
        ]
    }
    assert contract_row() == before
    assert kinds == []


@pytest.mark.parametrize("door", CONTRACT_DOORS)
@pytest.mark.parametrize("mode", ["create", "update"])
def test_a_good_contract_is_written_alike_at_every_door(
    door, mode, uni, operations_client, commit, committed
):
    existing = None
    if mode == "update":
        with commit():
            existing = ServiceContractFactory(
                reference="c-1", community=uni, status="proposed", signed_on=None
            )
    errors, kinds = committed(
        write_contract, door, operations_client, contract_record(total_value="900.00"), existing
    )
    assert errors == {}
    assert contract_row() == (("c-1", "uni", "signed", dt.date(2023, 12, 15), D("900.00"), 100),)
    assert ServiceContract.objects.get().history.count() == (1 if mode == "create" else 2)
    # A contract feeds the impact figures and the runway (opsite/core/signals.py).
    assert kinds == ["rollups", "runway"]


# --- payments --------------------------------------------------------------------------------


def write_payment(door: str, client, record: dict[str, Any], existing: ContractPayment | None) -> Errors:
    """Create (``existing`` None) or update a payment with ``record`` through ``door``.

    ``record`` names the contract by reference, as the API and imports do.
    """
    contract = ServiceContract.objects.get(reference=record["contract"])
    if door == "api":
        if existing is None:
            response = client.post(api_url("payment-list"), record, content_type="application/json")
        else:
            path = api_url("payment-detail", existing.pk)
            response = client.put(path, record, content_type="application/json")
        return api_errors(response)
    if door == "admin":
        data = {name: blank(value) for name, value in record.items()}
        data["contract"] = str(contract.pk)
        if existing is None:
            return admin_errors(client.post(admin_url(ContractPayment, "add"), data))
        return admin_errors(client.post(admin_url(ContractPayment, "change", existing.pk), data))
    if door == "inline":
        # The contract's page as shown, its stored payments inline, with this one added or changed.
        rows = [
            (p.pk, p.due_on.isoformat(), str(p.amount), blank(p.paid_on))
            for p in contract.payments.order_by("due_on", "pk")
        ]
        mine = (record["due_on"], record["amount"], blank(record["paid_on"]))
        if existing is None:
            rows.append(("", *mine))
        else:
            rows = [(pk, *mine) if pk == existing.pk else (pk, *rest) for pk, *rest in rows]
        data = contract_form(contract, rows, initial=contract.payments.count())
        return admin_errors(client.post(admin_url(ServiceContract, "change", contract.pk), data))
    assert door == "import"
    header = ["id", *record]
    row = ["" if existing is None else str(existing.pk), *(blank(v) for v in record.values())]
    return import_errors(ContractPaymentResource(), header, row)


def contract_form(contract: ServiceContract, payments: list[tuple], *, initial: int) -> dict[str, str]:
    """The POST of a contract's admin page, unchanged, with ``payments`` (id, due, amount, paid)."""
    data = {
        "reference": contract.reference,
        "community": str(contract.community_id),
        "category": contract.category,
        "status": contract.status,
        "probability": str(contract.probability),
        "signed_on": blank(contract.signed_on),
        "start_on": contract.start_on.isoformat(),
        "end_on": contract.end_on.isoformat(),
        "total_value": str(contract.total_value),
        "currency": contract.currency,
        **inline_management("payments", len(payments), initial),
    }
    for index, (pk, due_on, amount, paid_on) in enumerate(payments):
        data.update(
            {
                f"payments-{index}-id": blank(pk),
                f"payments-{index}-contract": str(contract.pk),
                f"payments-{index}-due_on": due_on,
                f"payments-{index}-amount": amount,
                f"payments-{index}-paid_on": paid_on,
            }
        )
    return data


def payment_rows() -> tuple:
    return tuple(
        ContractPayment.objects.order_by("pk").values_list("contract__reference", "due_on", "amount")
    )


@pytest.fixture
def contract(commit):
    """A contract of 1,000.00 USD with 900.00 scheduled: 800.00 and 100.00."""
    with commit():
        contract = ServiceContractFactory(reference="c-1", total_value=D("1000.00"))
        ContractPaymentFactory(contract=contract, due_on=dt.date(2024, 1, 1), amount=D("800.00"))
        ContractPaymentFactory(contract=contract, due_on=dt.date(2024, 3, 1), amount=D("100.00"))
    return contract


def payment_record(amount: str, due_on: str = "2024-06-01") -> dict[str, Any]:
    return {"contract": "c-1", "due_on": due_on, "amount": amount, "paid_on": None}


def target(contract: ServiceContract, mode: str) -> ContractPayment | None:
    """The payment an update changes: the 100.00 one."""
    return contract.payments.get(amount=D("100.00")) if mode == "update" else None


def recomputes_of_payments(door: str) -> list[str]:
    """A payment feeds the runway only (opsite/core/signals.py); the inline's page saves its
    contract too, which feeds the impact figures as well."""
    return ["rollups", "runway"] if door == "inline" else ["runway"]


OVER_THE_TOTAL = (
    "The payments of contract c-1 would sum to 1,100.00 USD, 100.00 USD over its total value of 1,000.00 USD."
)


@pytest.mark.parametrize("door", PAYMENT_DOORS)
@pytest.mark.parametrize(("mode", "amount"), [("create", "200.00"), ("update", "300.00")])
def test_payments_past_the_contract_value_are_refused_alike_at_every_door(
    door, mode, amount, contract, operations_client, committed
):
    before = payment_rows()
    errors, kinds = committed(
        write_payment, door, operations_client, payment_record(amount), target(contract, mode)
    )
    assert errors == {"amount": [OVER_THE_TOTAL]}
    assert payment_rows() == before
    assert kinds == []


@pytest.mark.parametrize("door", PAYMENT_DOORS)
@pytest.mark.parametrize("mode", ["create", "update"])
def test_a_payment_of_nothing_is_refused_alike_at_every_door(
    door, mode, contract, operations_client, committed
):
    before = payment_rows()
    errors, kinds = committed(
        write_payment, door, operations_client, payment_record("0.00"), target(contract, mode)
    )
    assert errors == {"amount": ["A payment must be more than 0.00, not 0.00."]}
    assert payment_rows() == before
    assert kinds == []


@pytest.mark.parametrize("door", PAYMENT_DOORS)
@pytest.mark.parametrize("mode", ["create", "update"])
def test_a_good_payment_is_written_alike_at_every_door(door, mode, contract, operations_client, committed):
    # Up to the contract's value exactly: 800.00 + 100.00 + 100.00, or 800.00 + 200.00.
    amount = "100.00" if mode == "create" else "200.00"
    existing = target(contract, mode)
    errors, kinds = committed(write_payment, door, operations_client, payment_record(amount), existing)
    assert errors == {}
    written = contract.payments.get(due_on=dt.date(2024, 6, 1))
    assert written.amount == D(amount)
    if existing is not None:
        assert written.pk == existing.pk
    assert sorted(contract.payments.values_list("amount", flat=True)) == (
        [D("100.00"), D("100.00"), D("800.00")] if mode == "create" else [D("200.00"), D("800.00")]
    )
    assert written.history.count() == (1 if mode == "create" else 2)
    assert kinds == recomputes_of_payments(door)


# --- a set of payments written together ------------------------------------------------------


def move_money(door: str, client, contract: ServiceContract, amounts: dict[int, str]) -> Errors:
    """Change several payments of ``contract`` in one write: the inline, or one import file."""
    payments = list(contract.payments.order_by("due_on", "pk"))
    if door == "inline":
        rows = [(p.pk, p.due_on.isoformat(), amounts.get(p.pk, str(p.amount)), "") for p in payments]
        data = contract_form(contract, rows, initial=len(rows))
        return admin_errors(client.post(admin_url(ServiceContract, "change", contract.pk), data))
    assert door == "import"
    # The raised payment comes first: checked alone against the stored ones, it would not fit.
    changed = sorted((p for p in payments if p.pk in amounts), key=lambda p: -D(amounts[p.pk]))
    rows = [[str(p.pk), contract.reference, p.due_on.isoformat(), amounts[p.pk], ""] for p in changed]
    return import_errors(ContractPaymentResource(), ["id", "contract", "due_on", "amount", "paid_on"], *rows)


@pytest.mark.parametrize("door", ["inline", "import"])
def test_money_moves_between_payments_in_one_write_at_each_set_door(
    door, contract, operations_client, committed
):
    big, small = contract.payments.order_by("-amount")
    errors, kinds = committed(
        move_money, door, operations_client, contract, {big.pk: "300.00", small.pk: "700.00"}
    )
    assert errors == {}
    assert sorted(contract.payments.values_list("pk", "amount")) == sorted(
        [(big.pk, D("300.00")), (small.pk, D("700.00"))]
    )
    assert kinds == recomputes_of_payments(door)


@pytest.mark.parametrize("door", ["inline", "import"])
def test_a_set_past_the_contract_value_is_refused_alike_at_each_set_door(
    door, contract, operations_client, committed
):
    big, small = contract.payments.order_by("-amount")
    before = payment_rows()
    errors, kinds = committed(
        move_money, door, operations_client, contract, {big.pk: "300.00", small.pk: "800.00"}
    )
    assert errors == {
        "amount": [
            "The payments of contract c-1 would sum to 1,100.00 USD, 100.00 USD over its total value of "
            "1,000.00 USD."
        ]
    }
    assert payment_rows() == before
    assert kinds == []


# --- deletes ---------------------------------------------------------------------------------


def delete(door: str, client, obj) -> None:
    model = type(obj)
    if door == "api":
        name = "contract-detail" if model is ServiceContract else "payment-detail"
        key = obj.reference if model is ServiceContract else obj.pk
        assert client.delete(api_url(name, key)).status_code == 204
    elif door == "admin":
        assert testing.admin_delete(client, obj).status_code == 302
    else:
        assert door == "bulk"
        assert testing.admin_delete_selected(client, obj).status_code == 302


@pytest.mark.parametrize("door", ["api", "admin", "bulk"])
def test_a_contract_is_deleted_with_its_payments_alike_at_every_door(
    door, contract, operations_client, commit, committed
):
    with commit():
        ContractPaymentFactory(contract=ServiceContractFactory(reference="c-2"))
    _, kinds = committed(delete, door, operations_client, contract)
    assert list(ServiceContract.objects.values_list("reference", flat=True)) == ["c-2"]
    assert payment_rows() == (("c-2", dt.date(2024, 1, 1), D("1000.00")),)
    assert kinds == ["rollups", "runway"]


@pytest.mark.parametrize("door", ["api", "admin", "bulk"])
def test_a_payment_is_deleted_alike_at_every_door(door, contract, operations_client, committed):
    _, kinds = committed(delete, door, operations_client, contract.payments.get(amount=D("800.00")))
    assert payment_rows() == (("c-1", dt.date(2024, 3, 1), D("100.00")),)
    assert kinds == ["runway"]
