"""The checks of a batch of rows are those of one row: same errors, same messages, fewer queries.

``full_clean_many`` (opsite.core.batch_checks) is compared with ``full_clean_with``, the check
every service runs on one row, on rows that break each kind of rule: a field's own check, the
model's ``clean()``, a unique field, a unique constraint, a check constraint. Its Python reading
of check constraints is pinned against SQL's three-valued logic.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F, Q
from hypothesis import given
from hypothesis import strategies as st

from communities.models import ActiveUserCount, Community, Hub
from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from contracts.models import ContractPayment, ServiceContract
from contracts.tests.factories import ServiceContractFactory
from opsite.core.batch_checks import Unsupported, evaluate, full_clean_many
from opsite.core.services import full_clean_with, writes_for

pytestmark = pytest.mark.django_db


def one_by_one(instances) -> dict[int, dict]:
    found = {}
    for position, instance in enumerate(instances):
        try:
            full_clean_with(instance, writes_for(type(instance)).validate)
        except Exception as error:
            found[position] = error.message_dict
    return found


def batched(instances) -> dict[int, dict]:
    model = type(instances[0])
    return {
        position: error.message_dict
        for position, error in full_clean_many(instances, writes_for(model).validate).items()
    }


def test_a_batch_of_contracts_reads_the_errors_a_single_check_reads():
    community = CommunityFactory(slug="north")
    ServiceContractFactory(reference="taken", community=community)
    rows = [
        ServiceContract(
            reference="taken",
            community=community,
            category="hub_service",
            status="proposed",
            start_on=dt.date(2024, 1, 1),
            end_on=dt.date(2024, 12, 31),
            total_value=Decimal("10.00"),
        ),
        ServiceContract(
            reference="backwards",
            community=community,
            category="hub_service",
            status="signed",
            start_on=dt.date(2024, 6, 1),
            end_on=dt.date(2024, 1, 1),
            total_value=Decimal("10.00"),
        ),
        ServiceContract(
            reference="fine",
            community=community,
            category="hub_service",
            status="proposed",
            start_on=dt.date(2024, 1, 1),
            end_on=dt.date(2024, 12, 31),
            total_value=Decimal("10.00"),
        ),
        ServiceContract(
            reference="bad value",
            community=community,
            category="nope",
            status="proposed",
            probability=150,
            start_on=dt.date(2024, 1, 1),
            end_on=dt.date(2024, 12, 31),
            total_value=Decimal("-1.00"),
        ),
    ]
    expected = one_by_one(rows)
    assert sorted(expected) == [0, 1, 3]
    assert batched(rows) == expected


def test_a_batch_of_usage_samples_reads_the_errors_a_single_check_reads():
    hub = HubFactory(slug="north")
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 1, 31), period="30d")
    rows = [
        ActiveUserCount(hub=hub, date=dt.date(2024, 1, 31), period="30d", active_users=1),
        ActiveUserCount(hub=hub, date=dt.date(2024, 2, 29), period="weekly", active_users=1),
        ActiveUserCount(hub=hub, date=dt.date(1990, 1, 1), period="30d", active_users=1),
        ActiveUserCount(hub=hub, date=dt.date(2024, 3, 31), period="30d", active_users=1),
    ]
    assert batched(rows) == one_by_one(rows)
    assert sorted(batched(rows)) == [0, 1, 2]


def test_a_batch_costs_one_query_per_unique_check_not_one_per_row(django_assert_num_queries):
    hub = HubFactory(slug="north")
    rows = [
        ActiveUserCount(
            hub=hub, date=dt.date(2024, 1, 1) + dt.timedelta(days=n), period="30d", active_users=n
        )
        for n in range(200)
    ]
    # The unique constraint (hub, date, period); the hub is known (read with the rows), the check
    # constraint is read in Python.
    with django_assert_num_queries(1):
        assert full_clean_many(rows) == {}


def test_a_relation_not_read_from_the_database_is_still_checked():
    community = CommunityFactory(slug="north")
    hub = Hub(
        slug="ghost",
        community_id=community.pk + 1000,
        name="Ghost",
        provider="gcp",
        launched_on=dt.date(2024, 1, 1),
    )
    [error] = full_clean_many([hub]).values()
    assert "community" in error.message_dict


def test_a_payment_over_its_contract_is_refused_by_the_rule_across_rows():
    contract = ServiceContractFactory(reference="small", total_value=Decimal("100.00"))
    payment = ContractPayment(contract=contract, due_on=dt.date(2024, 1, 31), amount=Decimal("150.00"))
    assert batched([payment]) == one_by_one([payment]) != {}


# --- conditions in Python, SQL's way -------------------------------------------------------------


def community(**values) -> Community:
    return Community(joined_on=dt.date(2024, 1, 1), **values)


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        (Q(left_on__isnull=True) | Q(left_on__gte=F("joined_on")), {"left_on": None}, True),
        (Q(left_on__isnull=True) | Q(left_on__gte=F("joined_on")), {"left_on": dt.date(2023, 1, 1)}, False),
        (Q(left_on__gte=F("joined_on")), {"left_on": None}, None),  # NULL: unknown, and passes
        (~Q(left_on__gte=F("joined_on")), {"left_on": None}, None),
        (~Q(kind="university") | Q(left_on__isnull=False), {"kind": "university", "left_on": None}, False),
        (Q(kind__in=["university", "school"]), {"kind": "school"}, True),
        (Q(slug__contains="/"), {"slug": "a/b"}, True),
    ],
)
def test_a_check_constraint_reads_in_python_as_sql_reads_it(condition, values, expected):
    assert evaluate(condition, community(**values)) is expected


def test_a_condition_python_cannot_read_goes_to_the_database():
    with pytest.raises(Unsupported):
        evaluate(Q(joined_on__year=2024), community())


@given(st.sampled_from([None, True, False]), st.sampled_from([None, True, False]))
def test_and_and_or_follow_three_valued_logic(left, right):
    def leaf(value):
        # kind="a" is True, "b" False, None unknown.
        return {"kind": {True: "a", False: "b", None: None}[value]}

    both = Community(kind=leaf(left)["kind"], slug=leaf(right)["kind"])
    conjunction = evaluate(Q(kind="a") & Q(slug="a"), both)
    disjunction = evaluate(Q(kind="a") | Q(slug="a"), both)
    values = {left, right}
    assert conjunction == (False if False in values else None if None in values else True)
    assert disjunction == (True if True in values else None if None in values else False)
