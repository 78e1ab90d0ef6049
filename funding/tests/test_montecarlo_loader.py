"""The loader names each pipeline row's item, so a grant's disbursements and its subawards'
payments, and a contract's payments, come or go together in the Monte Carlo draws."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.choices import ContractStatus
from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from funding.models import Scenario
from funding.runway.loader import load_inputs
from funding.runway.montecarlo import draw

from .factories import (
    CashPositionFactory,
    DisbursementFactory,
    GrantFactory,
    SubawardFactory,
    SubawardPaymentFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 10, 31)


@pytest.fixture
def pipeline():
    CashPositionFactory(as_of=A, balance=D("500000.00"))
    grant = GrantFactory(
        reference="ask", prospect=True, prime=True, probability=40, start_on=dt.date(2025, 1, 1),
        end_on=dt.date(2025, 12, 31),
    )  # fmt: skip
    DisbursementFactory(grant=grant, amount=D("60000.00"), expected_on=dt.date(2025, 1, 15))
    DisbursementFactory(grant=grant, amount=D("60000.00"), expected_on=dt.date(2025, 6, 15))
    subaward = SubawardFactory(grant=grant, amount=D("20000.00"))
    SubawardPaymentFactory(subaward=subaward, amount=D("20000.00"), due_on=dt.date(2025, 7, 1))
    contract = ServiceContractFactory(
        reference="pitch", status=ContractStatus.PROPOSED, probability=70, signed_on=None,
        start_on=dt.date(2024, 12, 1), end_on=dt.date(2025, 11, 30), total_value=D("24000.00"),
    )  # fmt: skip
    ContractPaymentFactory(contract=contract, amount=D("12000.00"), due_on=dt.date(2024, 12, 1))
    ContractPaymentFactory(contract=contract, amount=D("12000.00"), due_on=dt.date(2025, 6, 1))
    return grant, contract


def test_the_loader_names_the_item_of_every_pipeline_row(pipeline):
    grant, contract = pipeline
    inputs = load_inputs(scenario=Scenario.objects.get(slug="base"))
    items = sorted((flow.source, flow.item) for flow in inputs.flows if flow.pipeline_probability is not None)
    assert items == [
        ("contracts", f"contract:{contract.pk}"),
        ("contracts", f"contract:{contract.pk}"),
        ("grants", f"grant:{grant.pk}"),
        ("grants", f"grant:{grant.pk}"),
        ("subawards", f"grant:{grant.pk}"),
    ]


def test_a_grant_and_its_subaward_come_together_and_so_do_a_contracts_payments(pipeline):
    inputs = load_inputs(scenario=Scenario.objects.get(slug="base"))
    drawn = draw(inputs, draws=2000)
    assert len(drawn.keys) == 2
    # Nine months on (July 2025), the closing balance is one of four: each item all or nothing.
    outcomes = set((drawn.closing[:, 8] - drawn.committed[8]) / 100)
    assert outcomes == {0, 24_000, 100_000, 124_000}
