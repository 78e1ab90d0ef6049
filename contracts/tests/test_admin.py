"""The contracts admin, as operations staff use it every day, and who may do what in it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from communities.tests.factories import CommunityFactory
from contracts.models import ContractPayment, ServiceContract
from opsite.core.testing import admin_url as url
from opsite.core.testing import changelist_queries, inline_management

from .factories import ContractPaymentFactory, ServiceContractFactory

pytestmark = pytest.mark.django_db
D = Decimal


def contract_form(community, payments=(), initial=0, **overrides) -> dict:
    """The POST of the contract page, with its payments inline as (id, due_on, amount[, DELETE])."""
    data = {
        "reference": "uni-2024",
        "community": community.pk,
        "category": "hub_service",
        "status": "signed",
        "probability": "100",
        "signed_on": "2023-12-15",
        "start_on": "2024-01-01",
        "end_on": "2024-12-31",
        "total_value": "1000.00",
        "currency": "USD",
        **inline_management("payments", len(payments), initial),
    }
    for index, (pk, due_on, amount, *delete) in enumerate(payments):
        prefix = f"payments-{index}-"
        data.update(
            {
                f"{prefix}id": pk or "",
                f"{prefix}due_on": due_on,
                f"{prefix}amount": amount,
                f"{prefix}paid_on": "",
            }
        )
        if delete:
            data[f"{prefix}DELETE"] = "on"
    data.update(overrides)
    return data


def errors_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- smoke: every page of every ModelAdmin ---------------------------------------------------


@pytest.mark.parametrize(
    ("model", "factory", "search", "shown"),
    [
        (
            ServiceContract,
            lambda: ServiceContractFactory(reference="hub-berkeley", community__name="Berkeley"),
            "Berkeley",
            "hub-berkeley",
        ),
        (
            ContractPayment,
            lambda: ContractPaymentFactory(
                contract__reference="hub-oxford", contract__community__name="Oxford"
            ),
            "Oxford",
            "hub-oxford",
        ),
    ],
)
def test_every_page_of_each_admin_answers(super_client, model, factory, search, shown):
    obj = factory()
    assert super_client.get(url(model, "changelist")).status_code == 200
    found = super_client.get(url(model, "changelist"), {"q": search})
    assert shown in found.content.decode()
    assert shown not in super_client.get(url(model, "changelist"), {"q": "nowhere-at-all"}).content.decode()
    assert super_client.get(url(model, "add")).status_code == 200
    assert super_client.get(url(model, "change", obj.pk)).status_code == 200
    assert super_client.get(url(model, "history", obj.pk)).status_code == 200


@pytest.mark.parametrize("state", ["paid", "open", "overdue"])
def test_payment_state_filters_answer(super_client, state):
    ContractPaymentFactory()
    ContractPaymentFactory(paid_on=dt.date(2024, 1, 5))
    assert super_client.get(url(ContractPayment, "changelist"), {"state": state}).status_code == 200


def test_incomplete_schedules_show_as_a_column_and_filter(super_client):
    short = ServiceContractFactory(reference="short", total_value=D("1000.00"))
    ContractPaymentFactory(contract=short, amount=D("400.00"))
    full = ServiceContractFactory(reference="full", total_value=D("1000.00"))
    ContractPaymentFactory(contract=full, amount=D("1000.00"))
    incomplete = super_client.get(url(ServiceContract, "changelist"), {"schedule_incomplete": "yes"})
    complete = super_client.get(url(ServiceContract, "changelist"), {"schedule_incomplete": "no"})
    assert [c.reference for c in incomplete.context["cl"].result_list] == ["short"]
    assert [c.reference for c in complete.context["cl"].result_list] == ["full"]
    # The column says whether the payments cover the value: a cross for the short one.
    assert 'alt="False"' in incomplete.content.decode() and 'alt="True"' not in incomplete.content.decode()
    assert 'alt="True"' in complete.content.decode() and 'alt="False"' not in complete.content.decode()
    # The action bar offers the billing plans for the schedule action.
    assert '<option value="quarterly">Quarterly</option>' in incomplete.content.decode()
    page = super_client.get(url(ServiceContract, "change", short.pk)).content.decode()
    assert "400.00 USD scheduled, 0.00 USD paid; 600.00 USD not scheduled yet" in page


# --- writes through the admin ----------------------------------------------------------------


def test_a_contract_is_added_with_its_payments(super_client):
    community = CommunityFactory()
    data = contract_form(community, payments=[(None, "2024-01-01", "600.00"), (None, "2024-07-01", "400.00")])
    response = super_client.post(url(ServiceContract, "add"), data)
    assert response.status_code == 302
    contract = ServiceContract.objects.get(reference="uni-2024")
    assert sorted(p.amount for p in contract.payments.all()) == [D("400.00"), D("600.00")]
    assert contract.history.count() == 1


def test_payments_summing_past_the_value_are_refused_above_the_payments(super_client):
    data = contract_form(
        CommunityFactory(), payments=[(None, "2024-01-01", "600.00"), (None, "2024-07-01", "500.00")]
    )
    response = super_client.post(url(ServiceContract, "add"), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == [
        "The payments of contract uni-2024 would sum to 1,100.00 USD, 100.00 USD over its total value of 1,000.00 USD."
    ]
    assert not ServiceContract.objects.exists()


def test_money_may_move_between_payments_in_one_save(super_client):
    contract = ServiceContractFactory(reference="uni-2024", total_value=D("1000.00"))
    first = ContractPaymentFactory(contract=contract, amount=D("500.00"), due_on=dt.date(2024, 1, 1))
    second = ContractPaymentFactory(contract=contract, amount=D("500.00"), due_on=dt.date(2024, 7, 1))
    data = contract_form(
        contract.community,
        payments=[(first.pk, "2024-01-01", "300.00"), (second.pk, "2024-07-01", "700.00")],
        initial=2,
    )
    response = super_client.post(url(ServiceContract, "change", contract.pk), data)
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.amount == D("700.00")


def test_a_deleted_payment_frees_its_amount_in_the_same_save(super_client):
    contract = ServiceContractFactory(reference="uni-2024", total_value=D("1000.00"))
    old = ContractPaymentFactory(contract=contract, amount=D("1000.00"))
    data = contract_form(
        contract.community,
        payments=[(old.pk, "2024-01-01", "1000.00", "delete"), (None, "2024-02-01", "1000.00")],
        initial=1,
    )
    assert super_client.post(url(ServiceContract, "change", contract.pk), data).status_code == 302
    assert list(contract.payments.values_list("due_on", flat=True)) == [dt.date(2024, 2, 1)]


def test_a_signed_contract_without_a_date_is_refused_on_that_field(super_client):
    response = super_client.post(url(ServiceContract, "add"), contract_form(CommunityFactory(), signed_on=""))
    assert response.context["adminform"].form.errors == {
        "signed_on": ["A signed contract needs the date it was signed."]
    }


def test_a_single_payment_past_the_value_is_refused_on_its_amount(super_client):
    contract = ServiceContractFactory(reference="uni-2024", total_value=D("1000.00"))
    ContractPaymentFactory(contract=contract, amount=D("800.00"))
    response = super_client.post(
        url(ContractPayment, "add"),
        {"contract": contract.pk, "due_on": "2024-06-01", "amount": "300.00", "paid_on": ""},
    )
    assert response.context["adminform"].form.errors == {
        "amount": [
            "The payments of contract uni-2024 would sum to 1,100.00 USD, 100.00 USD over its total value of 1,000.00 USD."
        ]
    }


def test_a_payment_is_changed_in_the_admin_and_audited(super_client, superuser):
    payment = ContractPaymentFactory(amount=D("1000.00"))
    data = {
        "contract": payment.contract.pk,
        "due_on": "2024-02-01",
        "amount": "900.00",
        "paid_on": "2024-02-03",
    }
    response = super_client.post(url(ContractPayment, "change", payment.pk), data)
    assert response.status_code == 302
    payment.refresh_from_db()
    assert (payment.due_on, payment.amount, payment.paid_on) == (
        dt.date(2024, 2, 1),
        D("900.00"),
        dt.date(2024, 2, 3),
    )
    latest = payment.history.latest()
    assert latest.history_user == superuser
    assert latest.amount == D("900.00")


def test_money_with_three_decimal_places_is_refused_not_rounded(super_client):
    contract = ServiceContractFactory()
    response = super_client.post(
        url(ContractPayment, "add"),
        {"contract": contract.pk, "due_on": "2024-06-01", "amount": "10.005", "paid_on": ""},
    )
    assert "amount" in response.context["adminform"].form.errors
    assert not ContractPayment.objects.exists()


def test_the_schedule_action_creates_the_payments_of_each_selected_contract(super_client):
    first = ServiceContractFactory(reference="a", total_value=D("1000.00"))
    second = ServiceContractFactory(reference="b", total_value=D("100.00"))
    taken = ServiceContractFactory(reference="c")
    ContractPaymentFactory(contract=taken)
    response = super_client.post(
        url(ServiceContract, "changelist"),
        {
            "action": "create_payment_schedule",
            "plan": "quarterly",
            "_selected_action": [first.pk, second.pk, taken.pk],
        },
    )
    assert response.status_code == 302
    assert [p.amount for p in first.payments.order_by("due_on")] == [D("250.00")] * 4
    assert second.payments.count() == 4
    assert taken.payments.count() == 1
    assert errors_of(response) == [
        "Contract c already has 1 payment; delete them before creating a schedule.",
        "Created quarterly payment schedules for a (4), b (4).",
    ]


def test_the_schedule_action_asks_for_a_plan(super_client):
    contract = ServiceContractFactory()
    response = super_client.post(
        url(ServiceContract, "changelist"),
        {"action": "create_payment_schedule", "plan": "", "_selected_action": [contract.pk]},
    )
    assert errors_of(response) == ["Choose a billing plan for the payment schedule."]
    assert not contract.payments.exists()


def test_payments_are_marked_paid_today(super_client, time_machine):
    time_machine.move_to(dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC))
    payment = ContractPaymentFactory()
    response = super_client.post(
        url(ContractPayment, "changelist"), {"action": "mark_paid_today", "_selected_action": [payment.pk]}
    )
    assert errors_of(response) == ["Marked 1 payment as paid on 2024-03-05."]
    payment.refresh_from_db()
    assert payment.paid_on == dt.date(2024, 3, 5)
    assert payment.history.count() == 2


# --- query counts ----------------------------------------------------------------------------


def contracts_with_payments(count: int) -> None:
    for contract in ServiceContractFactory.create_batch(count):
        ContractPaymentFactory.create_batch(2, contract=contract)


# Each changelist: the session, the user, the paginator's count, the page (totals annotated in
# it), the first and last date of the date hierarchy, the dates within them, the currencies of
# the currency filter; then the values in use of each filter of choices: for contracts their
# status, category and community's region, for payments their contract's status and category.
# The contracts list also reads the latest cash position's date, for its collection flags (with no
# cash position there is nothing to flag; test_admin_flags.py counts them with one).
@pytest.mark.parametrize(
    ("model", "make", "expected"),
    [(ServiceContract, contracts_with_payments, 11), (ContractPayment, contracts_with_payments, 9)],
)
def test_a_changelist_costs_the_same_queries_for_3_and_15_rows(super_client, model, make, expected):
    make(3)
    with_3 = changelist_queries(super_client, model)
    make(12)
    with_15 = changelist_queries(super_client, model)
    assert model.objects.count() >= 15
    assert with_3 == with_15 == expected


# --- roles -----------------------------------------------------------------------------------


def test_operations_may_add_and_change_contracts_and_payments(operations_client):
    community = CommunityFactory()
    response = operations_client.post(url(ServiceContract, "add"), contract_form(community))
    assert response.status_code == 302
    contract = ServiceContract.objects.get(reference="uni-2024")
    response = operations_client.post(
        url(ContractPayment, "add"),
        {"contract": contract.pk, "due_on": "2024-06-01", "amount": "300.00", "paid_on": ""},
    )
    assert response.status_code == 302
    payment = contract.payments.get()
    response = operations_client.post(
        url(ContractPayment, "change", payment.pk),
        {"contract": contract.pk, "due_on": "2024-06-01", "amount": "300.00", "paid_on": "2024-06-03"},
    )
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.paid_on == dt.date(2024, 6, 3)
    data = contract_form(
        community, payments=[(payment.pk, "2024-06-01", "300.00")], initial=1, status="declined"
    )
    assert operations_client.post(url(ServiceContract, "change", contract.pk), data).status_code == 302
    contract.refresh_from_db()
    assert contract.status == "declined"


def test_operations_may_create_a_schedule(operations_client):
    contract = ServiceContractFactory()
    operations_client.post(
        url(ServiceContract, "changelist"),
        {"action": "create_payment_schedule", "plan": "annual", "_selected_action": [contract.pk]},
    )
    assert contract.payments.count() == 1


@pytest.mark.parametrize("model", [ServiceContract, ContractPayment])
def test_leadership_may_view_but_not_add(leadership_client, model):
    ContractPaymentFactory()
    assert leadership_client.get(url(model, "changelist")).status_code == 200
    assert leadership_client.get(url(model, "add")).status_code == 403


def test_leadership_is_not_offered_the_schedule_action(leadership_client):
    contract = ServiceContractFactory()
    page = leadership_client.get(url(ServiceContract, "changelist")).content.decode()
    assert "create_payment_schedule" not in page
    leadership_client.post(
        url(ServiceContract, "changelist"),
        {"action": "create_payment_schedule", "plan": "annual", "_selected_action": [contract.pk]},
    )
    assert not contract.payments.exists()
