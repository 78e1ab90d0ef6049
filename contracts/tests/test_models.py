"""The database itself refuses what the contracts tables must never hold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from contracts.choices import ContractStatus
from contracts.models import ContractPayment, ServiceContract

from .factories import ContractPaymentFactory, ServiceContractFactory

pytestmark = pytest.mark.django_db


def _refused(**overrides) -> None:
    """Saving a contract with ``overrides`` (bypassing validation) fails in the database."""
    contract = ServiceContractFactory.build(**overrides)
    contract.community.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceContract.objects.bulk_create([contract])


def test_contract_references_are_unique():
    ServiceContractFactory(reference="hub-2024")
    _refused(reference="hub-2024")


def test_a_contract_probability_above_100_is_refused():
    _refused(probability=101)


def test_a_contract_probability_below_0_is_refused():
    _refused(probability=-1)


def test_a_contract_cannot_end_before_it_starts():
    _refused(start_on=dt.date(2024, 6, 1), end_on=dt.date(2024, 5, 31))


def test_a_contract_value_cannot_be_negative():
    _refused(total_value=Decimal("-0.01"))


def test_a_signed_contract_must_have_a_signing_date():
    _refused(status=ContractStatus.SIGNED, signed_on=None)


def test_a_proposed_contract_needs_no_signing_date():
    contract = ServiceContractFactory(status=ContractStatus.PROPOSED, signed_on=None, probability=40)
    assert contract.pk is not None


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00")])
def test_a_payment_must_be_more_than_zero(amount):
    contract = ServiceContractFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractPayment.objects.create(contract=contract, due_on=contract.start_on, amount=amount)


def test_a_community_with_contracts_cannot_be_deleted():
    contract = ServiceContractFactory()
    with pytest.raises(ProtectedError):
        contract.community.delete()


def test_deleting_a_contract_deletes_its_payments():
    payment = ContractPaymentFactory()
    payment.contract.delete()
    assert not ContractPayment.objects.filter(pk=payment.pk).exists()


def test_contracts_and_payments_keep_an_audit_history():
    payment = ContractPaymentFactory(contract__reference="audited")
    payment.amount = Decimal("900.00")
    payment.save()
    assert payment.history.count() == 2
    assert payment.contract.history.count() == 1
    assert str(payment) == "audited due 2024-01-01"
