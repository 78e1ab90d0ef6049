"""``?as_of`` of the public KPI API: answered from stored month-end blocks, never computed on request.

The rollup recompute stores the KPI block of every month-end from the one before the figures begin
to its as-of day (``opsite.kpis.month_ends``). A request for a day reads, by key, that day's block,
its month-end's and the latest one, and answers with the latest of them on or before the day (the
answer's ``as_of`` names it): one query, whoever asks and however often. A recompute rewrites a
month-end block only when its figures changed, and drops only the blocks of other days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from communities import rollups as usage_rollups
from communities.choices import UsagePeriod
from communities.models import ActiveUserCount, Hub
from contributions import rollups as contribution_rollups
from contributions.tests.factories import PullRequestFactory
from opsite.kpis import rollups
from opsite.kpis.models import Rollup
from opsite.kpis.month_ends import STATE_MONTH_ENDS, last_month_end
from opsite.kpis.rollups import KPIS_LATEST, kpis, kpis_key, recompute_rollups
from opsite.tests.factories import MONTH_ENDS, build_organization
from staff import rollups as staff_rollups

pytestmark = pytest.mark.django_db

AS_OF = MONTH_ENDS[-1]  # 2024-03-31
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
# The organization's figures begin with its first staff member, on 2023-06-01: the month-end
# before that month is the first one stored, then every one to the as-of day.
STORED_MONTH_ENDS = [
    date(2023, 5, 31),
    date(2023, 6, 30),
    date(2023, 7, 31),
    date(2023, 8, 31),
    date(2023, 9, 30),
    date(2023, 10, 31),
    date(2023, 11, 30),
    date(2023, 12, 31),
    *MONTH_ENDS,
]


@pytest.fixture(autouse=True)
def frozen_clock(settings):
    settings.OPSITE_CONTRIBUTIONS_SINCE = "2021-01-01"
    cache.clear()  # the throttle's counts
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
    cache.clear()


@pytest.fixture
def organization(frozen_clock):
    built = build_organization()
    # Later than the samples' writes, so a recompute with nothing new reads nothing again.
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=AS_OF)
    return built


@pytest.fixture
def nothing_computed(monkeypatch):
    """Fails the test if anything computes figures: a recompute, or any app's figures read."""

    def computes(*args, **kwargs):
        raise AssertionError("figures were computed")

    monkeypatch.setattr(rollups, "recompute_rollups", computes)
    monkeypatch.setattr(usage_rollups, "hub_active_users", computes)
    monkeypatch.setattr(contribution_rollups, "contribution_facts", computes)
    monkeypatch.setattr(staff_rollups, "staffing_on", computes)


def kpis_as_of(client, day: str):
    return client.get(reverse("public-api:kpis") + f"?as_of={day}")


def kpi_rows() -> dict[str, Rollup]:
    return {row.key: row for row in Rollup.objects.filter(key__startswith="kpis:")}


def computed_for(day: date) -> dict:
    """The KPI block of ``day`` computed straight from the apps' definitions, without the store."""
    return rollups._kpi_block(
        day,
        usage_rollups.usage_as_of(day),
        contribution_rollups.contributions_total(as_of=day),
        staff_rollups.staffing_as_of(day),
    )


# --- what a recompute stores ----------------------------------------------------------------------


def test_the_recompute_stores_the_block_of_every_month_end_with_that_days_figures(organization):
    stored = kpi_rows()

    assert set(stored) == {KPIS_LATEST, *(kpis_key(day) for day in STORED_MONTH_ENDS)}
    for day in STORED_MONTH_ENDS:
        assert stored[kpis_key(day)].value == computed_for(day), day
    # Hand-checked: staff from 2023-06-01 (0.80 FTE) and 2024-02-01 (1.00), three pull requests
    # merged 2024-02-02..04, samples (10, 4, 1 a hub) on each month-end of 2024.
    assert stored[kpis_key(date(2023, 5, 31))].value["staff"] == {"headcount": 0, "fte": "0.00"}
    assert stored[kpis_key(date(2023, 12, 31))].value["staff"] == {"headcount": 1, "fte": "0.80"}
    assert stored[kpis_key(date(2023, 12, 31))].value["users"]["monthly_active"] == 0
    assert stored[kpis_key(date(2024, 1, 31))].value["contributions"]["merged_pull_requests"] == 0
    assert stored[kpis_key(date(2024, 2, 29))].value["contributions"] == {
        "merged_pull_requests": 3,
        "repositories": 1,
        "since": "2021-01-01",
    }
    assert stored[kpis_key(date(2024, 2, 29))].value["users"]["monthly_active"] == 30
    # Before the first stored month-end, the figures are zero, as computed.
    for day in (date(2023, 5, 30), date(2020, 1, 1)):
        assert kpis(day).value == computed_for(day)


def test_a_recompute_with_nothing_new_keeps_every_block_and_reads_no_contribution(organization, monkeypatch):
    before = {key: (row.version, row.computed_at) for key, row in kpi_rows().items()}
    read = []
    facts = contribution_rollups.contribution_facts
    monkeypatch.setattr(
        contribution_rollups, "contribution_facts", lambda **kwargs: read.append(kwargs) or facts(**kwargs)
    )

    result = recompute_rollups(as_of=AS_OF)

    assert {key: (row.version, row.computed_at) for key, row in kpi_rows().items()} == before
    assert (result["written"], result["removed"], read) == ([], 0, [])


def test_a_changed_sample_rewrites_only_the_blocks_whose_figures_change(organization, frozen_clock):
    before = kpi_rows()
    frozen_clock.shift(timedelta(hours=3))
    sample = ActiveUserCount.objects.get(
        date=date(2024, 1, 31), period=UsagePeriod.MONTH, hub=Hub.objects.order_by("pk").first()
    )
    sample.active_users = 500
    sample.save()

    result = recompute_rollups(as_of=AS_OF)

    after = kpi_rows()
    rewritten = {key for key in after if after[key].version != before[key].version}
    assert rewritten == {kpis_key(date(2024, 1, 31))}
    assert after[kpis_key(date(2024, 1, 31))].value["users"]["monthly_active"] == 520
    assert after[kpis_key(date(2024, 1, 31))].computed_at == NOW + timedelta(hours=5)
    assert after[kpis_key(date(2023, 12, 31))].computed_at == NOW + timedelta(hours=2)
    assert kpis_key(date(2024, 1, 31)) in result["written"] and result["removed"] == 0


def test_a_new_contribution_rewrites_the_blocks_from_its_merge_day_on(organization, frozen_clock):
    before = kpi_rows()
    frozen_clock.shift(timedelta(hours=3))
    PullRequestFactory(
        repository=organization["repository"],
        author_login="octo",
        created_at=datetime(2024, 2, 10, tzinfo=UTC),
        merged_at=datetime(2024, 2, 20, tzinfo=UTC),
    )

    recompute_rollups(as_of=AS_OF)

    after = kpi_rows()
    rewritten = {key for key in after if after[key].version != before[key].version}
    assert rewritten == {kpis_key(date(2024, 2, 29)), kpis_key(AS_OF), KPIS_LATEST}
    assert after[kpis_key(date(2024, 2, 29))].value["contributions"]["merged_pull_requests"] == 4
    for day in STORED_MONTH_ENDS:
        assert after[kpis_key(day)].value == computed_for(day), day


def test_moving_the_as_of_day_on_continues_the_month_ends_and_drops_only_the_earlier_as_of_day(
    frozen_clock, monkeypatch
):
    build_organization()
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=date(2024, 2, 10))
    kept = kpi_rows()
    read = []
    facts = contribution_rollups.contribution_facts
    monkeypatch.setattr(
        contribution_rollups, "contribution_facts", lambda **kwargs: read.append(kwargs) or facts(**kwargs)
    )

    result = recompute_rollups(as_of=AS_OF)
    monkeypatch.undo()

    after = kpi_rows()
    # 2024-02-10 was the as-of day: no recompute keeps it current any more.
    assert kpis_key(date(2024, 2, 10)) in kept and kpis_key(date(2024, 2, 10)) not in after
    assert result["removed"] == 1
    for day in STORED_MONTH_ENDS[:-2]:
        assert (after[kpis_key(day)].version, after[kpis_key(day)].computed_at) == (
            kept[kpis_key(day)].version,
            kept[kpis_key(day)].computed_at,
        )
    # Only the contributions merged after the last month-end counted (2024-01-31) were read...
    assert read and all(call["start"] > date(2024, 1, 31) for call in read)
    # ... and added to the kept totals: the same as counted from scratch.
    incremental = {key: row.value for key, row in after.items()}
    Rollup.objects.all().delete()
    recompute_rollups(as_of=AS_OF)
    assert {key: row.value for key, row in kpi_rows().items()} == incremental


# --- what a request reads -------------------------------------------------------------------------


def test_an_anonymous_request_for_a_day_not_stored_computes_nothing_and_stores_nothing(
    client, organization, nothing_computed, django_assert_num_queries
):
    rows = Rollup.objects.count()

    # Two queries: the versions of the blocks it may come from, then the blocks of 2024-02-10, of
    # 2024-01-31 and the latest, by key.
    with django_assert_num_queries(2):
        response = kpis_as_of(client, "2024-02-10")

    assert response.status_code == 200
    assert response.json() == Rollup.objects.get(key=kpis_key(date(2024, 1, 31))).value
    assert response.json()["as_of"] == "2024-01-31"
    assert response["ETag"] == f'"{Rollup.objects.get(key=kpis_key(date(2024, 1, 31))).version}"'
    assert Rollup.objects.count() == rows
    assert not Rollup.objects.filter(key=kpis_key(date(2024, 2, 10))).exists()


def test_asking_again_costs_nothing_and_each_other_day_two_queries_and_the_same_answer(
    client, organization, nothing_computed, django_assert_num_queries
):
    first = kpis_as_of(client, "2024-02-10")
    # Kept by the worker while the versions it was read from hold (trusted for a second).
    with django_assert_num_queries(0):
        second = kpis_as_of(client, "2024-02-10")
    assert (second.content, second["ETag"]) == (first.content, first["ETag"])

    # Another day: the versions not trusted yet, in one query, then its blocks by key.
    for day in ("2023-07-04", "2023-12-31", "2024-02-28", "2024-03-30", "2025-01-01"):
        with django_assert_num_queries(2):
            assert kpis_as_of(client, day).status_code == 200


def test_each_day_gets_the_latest_stored_block_on_or_before_it(client, frozen_clock):
    build_organization()
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=date(2024, 3, 20))

    answers = {
        day: kpis_as_of(client, day).json()["as_of"]
        for day in ("2023-06-15", "2024-02-29", "2024-03-01", "2024-03-19", "2024-03-20", "2024-04-30")
    }

    assert answers == {
        "2023-06-15": "2023-05-31",
        "2024-02-29": "2024-02-29",
        "2024-03-01": "2024-02-29",
        "2024-03-19": "2024-02-29",
        "2024-03-20": "2024-03-20",  # the as-of day's own block
        "2024-04-30": "2024-03-20",  # after the as-of day: the latest computed figures
    }


def test_a_day_before_the_figures_begin_gets_zeros_without_a_computation(
    client, organization, nothing_computed, django_assert_num_queries
):
    # The versions, the blocks by key, then whether the month-end blocks were ever stored.
    with django_assert_num_queries(3):
        response = kpis_as_of(client, "2023-05-30")

    assert response.status_code == 200
    assert response.json() == {
        "as_of": "2023-05-30",
        "communities": {"active": 0, "historically_marginalized": 0, "countries": 0},
        "hubs": {"active": 0},
        "users": {"monthly_active": 0, "weekly_active": 0, "daily_active": 0},
        "contributions": {"merged_pull_requests": 0, "repositories": 0, "since": "2021-01-01"},
        "staff": {"headcount": 0, "fte": "0.00"},
    }


def test_before_any_month_end_block_is_stored_a_day_is_answered_503_with_retry_after(
    client, organization, nothing_computed, django_assert_num_queries
):
    # A store written before month-end blocks existed: the latest block and its day's only.
    Rollup.objects.filter(key__startswith="kpis:").exclude(key__in=[KPIS_LATEST, kpis_key(AS_OF)]).delete()
    Rollup.objects.filter(key=STATE_MONTH_ENDS).delete()

    with django_assert_num_queries(3):
        response = kpis_as_of(client, "2024-02-10")

    assert response.status_code == 503
    assert response["Retry-After"] == "300"
    assert response["Cache-Control"] == "no-store"
    assert "2024-02-10" in response.json()["detail"]
    # The latest block still answers for the days on or after its own.
    assert kpis_as_of(client, "2024-04-02").json()["as_of"] == "2024-03-31"


def test_on_an_empty_store_a_given_day_is_answered_503_and_nothing_is_computed(
    client, nothing_computed, django_assert_num_queries
):
    with django_assert_num_queries(3):
        response = kpis_as_of(client, "2024-02-10")

    assert response.status_code == 503
    assert response["Retry-After"] == "300"
    assert not Rollup.objects.exists()


def test_a_day_in_the_future_is_still_refused_with_400(client, organization, nothing_computed):
    response = kpis_as_of(client, (NOW.date() + timedelta(days=1)).isoformat())

    assert response.status_code == 400
    assert "in the future" in response.json()["detail"]


def test_the_reader_serves_the_stored_block_itself(organization, nothing_computed):
    assert kpis(date(2024, 2, 10)) == rollups.get_rollup(kpis_key(date(2024, 1, 31)))
    assert kpis(AS_OF) == rollups.get_rollup(kpis_key(AS_OF))


def test_the_schema_documents_the_503_of_a_day_not_stored_yet(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/public/kpis/"]["get"]
    assert "503" in operation["responses"]
    (as_of,) = [parameter for parameter in operation["parameters"] if parameter["name"] == "as_of"]
    assert "month-end" in as_of["description"]


@pytest.mark.parametrize(
    ("day", "month_end"),
    [
        (date(2024, 3, 31), date(2024, 3, 31)),
        (date(2024, 3, 30), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 2, 29)),
        (date(2024, 1, 1), date(2023, 12, 31)),
        (date(2023, 2, 28), date(2023, 2, 28)),
    ],
)
def test_the_last_month_end_on_or_before_a_day(day, month_end):
    assert last_month_end(day) == month_end
