"""Collection flags (docs/definitions.md "Collection flags"): each flag at its edges, the pipeline,
several flags on one record, and the selector's queries.

``A`` is 2024-08-31 so the calendar-month edges clamp: 6 months before it is 2024-02-29, 3 months
after it 2024-11-30.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from communities.tests.factories import CommunityFactory
from contracts.choices import ContractStatus
from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from funding.choices import GrantStatus
from funding.collection import collection_flags
from opsite.core.collection import ENDING_WITHIN, OVERDUE_AFTER, STALE_AFTER, CollectionFlag, FlagCode

from .factories import CashPositionFactory, DisbursementFactory, FunderFactory, GrantFactory

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 8, 31)
SIX_MONTHS_BEFORE = A - STALE_AFTER  # 2024-02-29
THIRTY_DAYS_BEFORE = A - OVERDUE_AFTER  # 2024-08-01
THREE_MONTHS_AFTER = A + ENDING_WITHIN  # 2024-11-30
DAY = dt.timedelta(days=1)


def flags_of(key: str, as_of: dt.date = A) -> dict[str, CollectionFlag]:
    return {flag.flag: flag for flag in collection_flags(as_of) if flag.key == key}


def contract(
    key: str, *, value: str = "12000.00", paid: tuple[str, ...] = (), due: tuple[str, ...] = (), **terms
):
    """A signed contract (2024 by default) with paid payments on its start and open ones on theirs."""
    made = ServiceContractFactory(reference=key, total_value=D(value), **terms)
    for amount in paid:
        ContractPaymentFactory(contract=made, amount=D(amount), due_on=made.start_on, paid_on=made.start_on)
    for amount in due:
        ContractPaymentFactory(contract=made, amount=D(amount), due_on=made.end_on)
    return made


def grant(
    key: str, *, amount: str = "100000.00", received: tuple[str, ...] = (), due: tuple[str, ...] = (), **terms
):
    made = GrantFactory(reference=key, amount=D(amount), **terms)
    for part in received:
        DisbursementFactory(grant=made, amount=D(part), expected_on=made.start_on, received_on=made.start_on)
    for part in due:
        DisbursementFactory(grant=made, amount=D(part), expected_on=made.end_on)
    return made


def test_the_edges_are_calendar_months_clamped_to_the_month_end():
    edges = (SIX_MONTHS_BEFORE, THIRTY_DAYS_BEFORE, THREE_MONTHS_AFTER)

    assert edges == (dt.date(2024, 2, 29), dt.date(2024, 8, 1), dt.date(2024, 11, 30))


# --- stale ----------------------------------------------------------------------------------------


def test_a_contract_started_more_than_6_months_before_a_with_nothing_paid_is_stale():
    contract("late", start_on=SIX_MONTHS_BEFORE - DAY, end_on=dt.date(2025, 2, 27), due=("12000.00",))

    flag = flags_of("late")[FlagCode.STALE]

    assert flag.reason == (
        "Started 2024-02-28, more than 6 months before 2024-08-31, and nothing has been marked paid"
    )
    assert (flag.kind, flag.start_on, flag.as_of, flag.outstanding) == (
        "contract",
        dt.date(2024, 2, 28),
        A,
        D("12000.00"),
    )


def test_a_contract_started_exactly_6_months_before_a_is_not_stale():
    contract("on-the-day", start_on=SIX_MONTHS_BEFORE, end_on=dt.date(2025, 2, 27), due=("12000.00",))

    assert FlagCode.STALE not in flags_of("on-the-day")


def test_one_payment_marked_paid_is_enough_not_to_be_stale():
    contract(
        "started",
        start_on=dt.date(2023, 9, 1),
        end_on=dt.date(2025, 8, 31),
        paid=("0.01",),
        due=("11999.99",),
    )

    assert FlagCode.STALE not in flags_of("started")


def test_a_grant_with_nothing_received_is_stale_and_says_received():
    grant("quiet", start_on=dt.date(2024, 1, 1), end_on=dt.date(2025, 12, 31), due=("100000.00",))

    flag = flags_of("quiet")[FlagCode.STALE]

    assert flag.kind == "grant"
    assert flag.reason.endswith("nothing has been marked received")


def test_a_contract_worth_nothing_is_never_stale():
    contract("in-kind", value="0.00", start_on=dt.date(2023, 1, 1), end_on=dt.date(2025, 12, 31))

    assert flags_of("in-kind") == {}


# --- overdue --------------------------------------------------------------------------------------


def test_an_open_payment_due_31_days_before_a_is_overdue_and_30_days_is_not():
    late = contract("late-pay", start_on=dt.date(2024, 6, 1), end_on=dt.date(2025, 5, 31), paid=("2000.00",))
    on_time = contract(
        "edge-pay", start_on=dt.date(2024, 6, 1), end_on=dt.date(2025, 5, 31), paid=("2000.00",)
    )
    ContractPaymentFactory(contract=late, amount=D("1000.00"), due_on=THIRTY_DAYS_BEFORE - DAY)
    ContractPaymentFactory(contract=late, amount=D("500.00"), due_on=THIRTY_DAYS_BEFORE - 20 * DAY)
    ContractPaymentFactory(contract=on_time, amount=D("1000.00"), due_on=THIRTY_DAYS_BEFORE)

    flag = flags_of("late-pay")[FlagCode.OVERDUE]

    assert FlagCode.OVERDUE not in flags_of("edge-pay")
    assert flag.due_on == dt.date(2024, 7, 12)
    assert flag.reason == (
        "2 payments totalling 1,500.00 USD not yet paid, the oldest due 2024-07-12, "
        "more than 30 days before 2024-08-31"
    )


def test_a_payment_marked_paid_is_never_overdue_whatever_its_date():
    paid_late = contract("paid-late", start_on=dt.date(2024, 6, 1), end_on=dt.date(2025, 5, 31))
    ContractPaymentFactory(contract=paid_late, due_on=dt.date(2024, 6, 1), paid_on=A + 10 * DAY)

    assert FlagCode.OVERDUE not in flags_of("paid-late")


def test_an_open_disbursement_expected_more_than_30_days_before_a_is_overdue():
    late = grant(
        "late-grant", start_on=dt.date(2024, 6, 1), end_on=dt.date(2025, 5, 31), received=("10000.00",)
    )
    DisbursementFactory(grant=late, amount=D("40000.00"), expected_on=THIRTY_DAYS_BEFORE - DAY)

    flag = flags_of("late-grant")[FlagCode.OVERDUE]

    assert flag.reason.startswith(
        "1 disbursement of 40,000.00 USD not yet received, the oldest due 2024-07-31"
    )


# --- ended_uncollected ----------------------------------------------------------------------------


def test_a_contract_that_ended_the_day_before_a_with_money_outstanding_is_flagged():
    contract("ended", start_on=dt.date(2024, 3, 1), end_on=A - DAY, paid=("9000.00",), due=("3000.00",))

    flag = flags_of("ended")[FlagCode.ENDED_UNCOLLECTED]

    assert flag.outstanding == D("3000.00")
    assert flag.reason == (
        "Ended 2024-08-30, before 2024-08-31, with 3,000.00 USD of 12,000.00 USD not yet paid"
    )


def test_a_contract_ending_on_a_has_not_ended():
    contract("ends-today", start_on=dt.date(2024, 3, 1), end_on=A, paid=("9000.00",), due=("3000.00",))

    assert FlagCode.ENDED_UNCOLLECTED not in flags_of("ends-today")


def test_an_ended_contract_paid_in_full_or_more_is_not_flagged_and_owes_nothing():
    contract("settled", start_on=dt.date(2024, 3, 1), end_on=A - DAY, paid=("12000.00",))
    contract("overpaid", start_on=dt.date(2024, 3, 1), end_on=A - DAY, paid=("12000.00", "50.00"))

    assert flags_of("settled") == {}
    assert flags_of("overpaid") == {}


def test_an_ended_grant_with_money_outstanding_is_flagged_even_once_closed():
    grant(
        "closed-short",
        status=GrantStatus.CLOSED,
        start_on=dt.date(2023, 1, 1),
        end_on=dt.date(2023, 12, 31),
        received=("90000.00",),
        due=("10000.00",),
    )

    assert FlagCode.ENDED_UNCOLLECTED in flags_of("closed-short")


# --- ending_soon_uncollected ----------------------------------------------------------------------


def test_a_contract_ending_exactly_3_months_after_a_with_more_than_half_outstanding_is_flagged():
    contract(
        "soon", start_on=dt.date(2024, 6, 1), end_on=THREE_MONTHS_AFTER, paid=("5999.99",), due=("6000.01",)
    )

    flag = flags_of("soon")[FlagCode.ENDING_SOON_UNCOLLECTED]

    assert flag.end_on == dt.date(2024, 11, 30)
    assert flag.reason == (
        "Ends 2024-11-30, within 3 months after 2024-08-31, with 6,000.01 USD of 12,000.00 USD, "
        "more than half, not yet paid"
    )


def test_exactly_half_outstanding_is_not_more_than_half():
    contract(
        "half", start_on=dt.date(2024, 6, 1), end_on=THREE_MONTHS_AFTER, paid=("6000.00",), due=("6000.00",)
    )

    assert FlagCode.ENDING_SOON_UNCOLLECTED not in flags_of("half")


def test_a_contract_ending_the_day_after_3_months_is_not_ending_soon():
    contract("later", start_on=dt.date(2024, 6, 1), end_on=THREE_MONTHS_AFTER + DAY, due=("12000.00",))

    assert FlagCode.ENDING_SOON_UNCOLLECTED not in flags_of("later")


def test_a_contract_ending_on_a_is_ending_soon_not_ended():
    contract("ends-on-a", start_on=dt.date(2024, 6, 1), end_on=A, due=("12000.00",))

    assert FlagCode.ENDING_SOON_UNCOLLECTED in flags_of("ends-on-a")


def test_a_grant_ending_soon_with_more_than_half_to_receive_is_flagged():
    grant(
        "grant-soon",
        start_on=dt.date(2024, 3, 1),
        end_on=dt.date(2024, 10, 31),
        received=("40000.00",),
        due=("60000.00",),
    )

    assert flags_of("grant-soon")[FlagCode.ENDING_SOON_UNCOLLECTED].reason.endswith("not yet received")


# --- schedule_incomplete --------------------------------------------------------------------------


def test_payments_a_cent_short_of_the_value_are_an_incomplete_schedule():
    contract(
        "short",
        start_on=dt.date(2024, 6, 1),
        end_on=dt.date(2025, 5, 31),
        paid=("2000.00",),
        due=("9999.99",),
    )

    flag = flags_of("short")[FlagCode.SCHEDULE_INCOMPLETE]

    assert flag.reason == "Its payments sum to 11,999.99 USD, 0.01 USD short of its 12,000.00 USD"


def test_payments_summing_to_the_value_are_a_complete_schedule():
    contract(
        "whole",
        start_on=dt.date(2024, 6, 1),
        end_on=dt.date(2025, 5, 31),
        paid=("0.10", "0.20"),
        due=("11999.70",),
    )

    assert FlagCode.SCHEDULE_INCOMPLETE not in flags_of("whole")


def test_a_grant_whose_disbursements_fall_short_is_an_incomplete_schedule():
    grant(
        "grant-short",
        start_on=dt.date(2024, 6, 1),
        end_on=dt.date(2025, 5, 31),
        received=("50000.00",),
        due=("49999.99",),
    )
    grant(
        "grant-whole",
        start_on=dt.date(2024, 6, 1),
        end_on=dt.date(2025, 5, 31),
        received=("50000.00",),
        due=("50000.00",),
    )

    assert FlagCode.SCHEDULE_INCOMPLETE in flags_of("grant-short")
    assert FlagCode.SCHEDULE_INCOMPLETE not in flags_of("grant-whole")


# --- past_close and the pipeline ------------------------------------------------------------------


def test_a_proposed_contract_whose_start_is_before_a_is_past_close():
    contract(
        "pitch",
        status=ContractStatus.PROPOSED,
        signed_on=None,
        probability=60,
        start_on=A - DAY,
        end_on=dt.date(2025, 8, 29),
    )
    contract(
        "pitch-today",
        status=ContractStatus.PROPOSED,
        signed_on=None,
        probability=60,
        start_on=A,
        end_on=dt.date(2025, 8, 30),
    )

    flag = flags_of("pitch")[FlagCode.PAST_CLOSE]

    assert "pitch-today" not in {flag.key for flag in collection_flags(A)}
    assert flag.reason == "Still proposed, but it was to start on 2024-08-30, before 2024-08-31"


@pytest.mark.parametrize(
    ("status", "words"), [(GrantStatus.PROSPECT, "a prospect"), (GrantStatus.SUBMITTED, "submitted")]
)
def test_a_prospect_or_submitted_grant_whose_start_is_before_a_is_past_close(status, words):
    grant(
        "ask",
        status=status,
        awarded_on=None,
        probability=40,
        start_on=dt.date(2024, 7, 1),
        end_on=dt.date(2025, 6, 30),
    )

    assert flags_of("ask")[FlagCode.PAST_CLOSE].reason.startswith(
        f"Still {words}, but it was to start on 2024-07-01"
    )


def test_the_pipeline_raises_past_close_only():
    # Long started, long ended, no schedule, open rows long overdue: everything but past_close.
    pitch = contract(
        "old-pitch",
        status=ContractStatus.PROPOSED,
        signed_on=None,
        start_on=dt.date(2023, 1, 1),
        end_on=dt.date(2023, 12, 31),
    )
    ContractPaymentFactory(contract=pitch, amount=D("100.00"), due_on=dt.date(2023, 2, 1))
    ask = grant(
        "old-ask",
        status=GrantStatus.SUBMITTED,
        awarded_on=None,
        start_on=dt.date(2023, 1, 1),
        end_on=dt.date(2023, 12, 31),
    )
    DisbursementFactory(grant=ask, amount=D("100.00"), expected_on=dt.date(2023, 2, 1))

    assert set(flags_of("old-pitch")) == {FlagCode.PAST_CLOSE}
    assert set(flags_of("old-ask")) == {FlagCode.PAST_CLOSE}


def test_a_signed_contract_or_an_awarded_grant_is_never_past_close():
    contract("signed-early", start_on=dt.date(2024, 1, 1), end_on=dt.date(2025, 12, 31), paid=("12000.00",))
    grant(
        "awarded-early", start_on=dt.date(2024, 1, 1), end_on=dt.date(2025, 12, 31), received=("100000.00",)
    )

    assert flags_of("signed-early") == {}
    assert flags_of("awarded-early") == {}


def test_declined_and_terminated_records_raise_nothing():
    contract(
        "no",
        status=ContractStatus.DECLINED,
        signed_on=None,
        start_on=dt.date(2023, 1, 1),
        end_on=dt.date(2023, 12, 31),
    )
    contract(
        "stopped",
        status=ContractStatus.TERMINATED,
        start_on=dt.date(2023, 1, 1),
        end_on=dt.date(2023, 12, 31),
    )
    grant(
        "refused",
        status=GrantStatus.DECLINED,
        awarded_on=None,
        start_on=dt.date(2023, 1, 1),
        end_on=dt.date(2023, 12, 31),
    )

    assert collection_flags(A) == []


# --- several flags, the answer's fields, the date -------------------------------------------------


def test_a_record_raising_several_flags_lists_each_in_the_definitions_order():
    made = contract("mess", start_on=dt.date(2023, 9, 1), end_on=dt.date(2024, 6, 30))
    ContractPaymentFactory(contract=made, amount=D("4000.00"), due_on=dt.date(2023, 10, 1))

    flags = [flag for flag in collection_flags(A) if flag.key == "mess"]

    assert [flag.flag for flag in flags] == [
        FlagCode.STALE,
        FlagCode.OVERDUE,
        FlagCode.ENDED_UNCOLLECTED,
        FlagCode.SCHEDULE_INCOMPLETE,
    ]
    assert [flag.due_on for flag in flags] == [None, dt.date(2023, 10, 1), None, None]


def test_flags_name_the_community_or_the_funder_and_keep_the_records_currency():
    community = CommunityFactory(name="Atlantic Climate Hub")
    funder = FunderFactory(name="Open Science Trust")
    contract(
        "hub",
        community=community,
        start_on=dt.date(2023, 1, 1),
        end_on=dt.date(2025, 12, 31),
        due=("12000.00",),
    )
    grant(
        "euro",
        funder=funder,
        currency="EUR",
        amount="80000.00",
        start_on=dt.date(2023, 1, 1),
        end_on=dt.date(2025, 12, 31),
        due=("80000.00",),
    )

    hub, euro = flags_of("hub")[FlagCode.STALE], flags_of("euro")[FlagCode.STALE]

    assert (hub.counterparty, hub.status, hub.currency, hub.label) == (
        "Atlantic Climate Hub",
        "signed",
        "USD",
        "Nothing collected",
    )
    assert (euro.counterparty, euro.status, euro.currency, euro.amount) == (
        "Open Science Trust",
        "awarded",
        "EUR",
        D("80000.00"),
    )


def test_without_a_date_the_latest_cash_positions_date_is_used():
    made = contract("edge", start_on=dt.date(2024, 6, 1), end_on=dt.date(2025, 5, 31), paid=("11000.00",))
    ContractPaymentFactory(contract=made, amount=D("1000.00"), due_on=dt.date(2024, 7, 31))
    CashPositionFactory(as_of=dt.date(2024, 8, 30))  # exactly 30 days after the due date
    assert collection_flags() == []

    CashPositionFactory(as_of=A)  # 31 days after it

    assert [(flag.key, flag.flag, flag.as_of) for flag in collection_flags()] == [
        ("edge", FlagCode.OVERDUE, A)
    ]


def test_without_a_date_or_a_cash_position_there_is_nothing_to_flag():
    contract("anything", start_on=dt.date(2020, 1, 1), end_on=dt.date(2020, 12, 31))

    assert collection_flags() == []
    assert collection_flags(A) != []


# --- queries --------------------------------------------------------------------------------------

# With no date: 1 the latest cash position, 2 the contracts (community joined, payment sums as
# subqueries), 3 the grants (funder joined, disbursement sums as subqueries).
FLAGS_QUERIES = 3


def _records(count: int) -> None:
    """``count`` contracts and ``count`` grants, each raising flags, each with rows."""
    for index in range(count):
        made = contract(f"c-{index:02d}", start_on=dt.date(2023, 9, 1), end_on=dt.date(2024, 6, 30))
        ContractPaymentFactory(contract=made, amount=D("1000.00"), due_on=dt.date(2023, 10, 1))
        ContractPaymentFactory(
            contract=made, amount=D("1000.00"), due_on=dt.date(2023, 11, 1), paid_on=dt.date(2023, 11, 2)
        )
        ask = grant(f"g-{index:02d}", start_on=dt.date(2023, 9, 1), end_on=dt.date(2024, 6, 30))
        DisbursementFactory(grant=ask, amount=D("1000.00"), expected_on=dt.date(2023, 10, 1))


@pytest.mark.parametrize("count", [2, 10])
def test_the_flags_cost_the_same_queries_for_2_records_as_for_10(django_assert_num_queries, count):
    CashPositionFactory(as_of=A)
    _records(count)

    with django_assert_num_queries(FLAGS_QUERIES):
        flags = collection_flags()
    with django_assert_num_queries(FLAGS_QUERIES - 1):
        dated = collection_flags(A)

    assert len({flag.key for flag in flags}) == 2 * count
    assert dated == flags
