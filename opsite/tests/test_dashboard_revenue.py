"""The dashboard's revenue realism: the exact "what turns it better" sentences read from each
indicator's stored target and needed, the older wording for snapshots stored without them, the
invoice collection and customer concentration lights, and the "Needs attention" panel of
collection flags (docs/dashboard.md).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from funding.collection import FlagCode, collection_flags
from funding.tests.factories import CashPositionFactory, DisbursementFactory, GrantFactory
from opsite.dashboard.summary import runway_card
from opsite.tests.dashboard_support import URL

D = Decimal
TODAY = dt.date(2024, 9, 15)
A = dt.date(2024, 8, 31)


def indicator(value, status, target=None, needed=None, *, stored=True) -> dict:
    data = {"value": value, "status": status}
    if stored:
        data |= {"target": target, "needed": needed}
    return data


def result(indicators: dict) -> dict:
    """A runway result (docs/api.md "Runway API") with the given indicators."""
    return {
        "as_of": "2024-08-31",
        "months": "14.50",
        "cash_out_on": "2025-11-15",
        "horizon_months": 36,
        "forward_burn": "90000.00",
        "opening_balance": "1300000.00",
        "periods": [{"out": "100000.00"} for _ in range(12)],
        "indicators": indicators,
    }


def card_of(indicators: dict) -> dict[str, dict]:
    card = runway_card(slug="base", name="Base", reserve=D("0"), result=result(indicators), today=TODAY)
    return {light["name"]: light for light in card["indicators"]}


NEW = {
    "committed_runway": indicator("4.20", "red", "6.00", "12500.50"),
    "cost_coverage": indicator("0.90", "yellow", "1.00", "18400.00"),
    "pipeline_coverage": indicator("0.50", "red", "1.00", None),
    "cash_reserve": indicator("2.10", "red", "3.00", "95000.25"),
    "invoice_collection": indicator("0.85", "yellow", "0.95", "4200.00"),
    "customer_concentration": indicator("0.62", "red", "0.50", None),
}


def test_the_sentences_are_read_from_each_indicators_target_and_needed(settings):
    settings.OPSITE_CURRENCY = "USD"
    lights = card_of(NEW)

    assert lights["cost_coverage"]["sentence"] == (
        "18,400.00 USD more committed revenue a month turns cost coverage green."
    )
    # From red, the band reached is yellow, not green.
    assert lights["committed_runway"]["sentence"] == (
        "12,500.50 USD more committed revenue a month turns committed runway yellow."
    )
    assert (
        lights["cash_reserve"]["sentence"] == "95,000.25 USD more cash in the bank turns cash reserve yellow."
    )
    assert lights["invoice_collection"]["sentence"] == (
        "Collect 4,200.00 USD more of the payments due in the last 90 days to turn invoice collection green."
    )
    # A target that no monthly revenue reaches is said so, with no amount.
    assert (
        lights["pipeline_coverage"]["sentence"]
        == "No monthly revenue turns pipeline coverage yellow (target 1.00)."
    )
    # Customer concentration: its share against the target, never an amount.
    concentration = lights["customer_concentration"]["sentence"]
    assert concentration == (
        "The three largest customers bring 62% of committed contract income; 50% or less turns "
        "customer concentration yellow."
    )
    assert "USD" not in concentration
    assert not any("would turn it green" in light["sentence"] for light in lights.values())


def test_a_snapshot_stored_without_target_and_needed_keeps_the_older_wording(settings):
    settings.OPSITE_CURRENCY = "USD"
    old = {
        "committed_runway": indicator("8.00", "yellow", stored=False),
        "cost_coverage": indicator("0.90", "yellow", stored=False),
        "pipeline_coverage": indicator("2.00", "green", stored=False),
        "cash_reserve": indicator("2.00", "red", stored=False),
    }
    lights = card_of(old)

    assert list(lights) == ["committed_runway", "cost_coverage", "pipeline_coverage", "cash_reserve"]
    assert lights["cost_coverage"]["sentence"] == (
        "10,000 USD more committed income a month over the next six months would turn it green (1.00 or more)."
    )
    assert lights["cash_reserve"]["sentence"].endswith("would turn it green (6 months or more).")
    assert lights["pipeline_coverage"]["sentence"] == "Green: nothing to do."


def test_the_new_lights_show_shares_and_say_what_a_green_null_means():
    lights = card_of(NEW)
    assert lights["invoice_collection"]["label"] == "Invoice collection"
    assert lights["invoice_collection"]["display"] == "85%"
    assert lights["customer_concentration"]["display"] == "62%"
    assert "lower is better" in lights["customer_concentration"]["help"]

    empty = card_of(
        NEW
        | {
            "invoice_collection": indicator(None, "green"),
            "customer_concentration": indicator(None, "green"),
        }
    )
    assert empty["invoice_collection"]["display"] == "nothing due"
    assert (
        empty["invoice_collection"]["sentence"] == "Green: no contract payment was due in the last 90 days."
    )
    assert empty["customer_concentration"]["display"] == "no contract income"
    assert empty["customer_concentration"]["sentence"] == (
        "Green: no committed contract income in the next twelve months."
    )
    # A green light with a value is plainly green.
    assert (
        card_of(NEW | {"customer_concentration": indicator("0.30", "green")})["customer_concentration"][
            "sentence"
        ]
        == "Green: nothing to do."
    )


# --- the "Needs attention" panel ------------------------------------------------------------------


@pytest.fixture
def flagged(db):
    """A cash position on A, a stale contract (nothing paid 7 months in) and an overdue grant."""
    CashPositionFactory(as_of=A)
    contract = ServiceContractFactory(
        reference="stale-hosting",
        start_on=dt.date(2024, 1, 1),
        end_on=dt.date(2025, 6, 30),
        total_value=D("12000"),
    )
    ContractPaymentFactory(contract=contract, amount=D("12000"), due_on=dt.date(2025, 6, 30))
    grant = GrantFactory(reference="late-grant", start_on=dt.date(2024, 1, 1), end_on=dt.date(2025, 12, 31))
    DisbursementFactory(grant=grant, amount=D("50000"), expected_on=dt.date(2024, 6, 1))
    return contract, grant


@pytest.mark.parametrize("client_fixture", ["finance_client", "leadership_client"])
def test_the_panel_lists_each_flag_with_its_reason_and_a_link_to_the_record(request, flagged, client_fixture):
    contract, grant = flagged
    content = request.getfixturevalue(client_fixture).get(URL).content.decode()

    flags = collection_flags(A)
    codes = {(flag.key, flag.flag) for flag in flags}
    assert ("stale-hosting", FlagCode.STALE) in codes
    assert ("late-grant", FlagCode.OVERDUE) in codes
    panel = content.split('id="needs-attention"')[1].split("</section>")[0]
    items = re.findall(r'<li class="flag flag-([a-z_]+)"', panel)
    assert len(items) == len(flags)
    for flag in flags:
        assert flag.reason and flag.reason.replace("'", "&#x27;") in panel
        assert FlagCode(flag.flag).label in panel
    assert f'href="/admin/contracts/servicecontract/{contract.pk}/change/"' in panel
    assert f'href="/admin/funding/grant/{grant.pk}/change/"' in panel


def test_the_panel_is_absent_when_nothing_is_flagged(finance_client):
    CashPositionFactory(as_of=A)
    content = finance_client.get(URL).content.decode()
    assert collection_flags(A) == []
    assert 'id="needs-attention"' not in content


def test_operations_sees_no_panel(operations_client, flagged):
    response = operations_client.get(URL)
    assert response.status_code == 403
    assert b"late-grant" not in response.content
