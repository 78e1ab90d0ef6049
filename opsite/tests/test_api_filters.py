"""Dates and instants in query parameters: the plausible range, and offsets every database takes.

Every date or instant filter of every CRUD API is one of the kernel's (``opsite.core.api.filters``),
so the rules below hold for all of them, not only for the routes called here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import get_resolver
from django_filters import rest_framework as filters

from funding.models import RunwayAlert, Scenario
from opsite.core.api.filters import DateRangeFilter, DayFilter, InstantRangeFilter

pytestmark = pytest.mark.django_db

ALERTS = "/api/v1/funding/runway-alerts/"
PULL_REQUESTS = "/api/v1/contributions/pull-requests/"


def filtersets() -> list[type[filters.FilterSet]]:
    found = []

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
                continue
            view = getattr(pattern.callback, "cls", None)
            filterset = getattr(view, "filterset_class", None)
            if filterset and filterset not in found:
                found.append(filterset)

    walk(get_resolver().url_patterns)
    return found


def test_every_date_and_instant_filter_of_the_api_is_a_plausible_one():
    sets = filtersets()
    assert len(sets) > 15
    date_filters = (filters.DateFilter, filters.DateFromToRangeFilter, filters.IsoDateTimeFromToRangeFilter)
    plain = [
        f"{filterset.__name__}.{name}"
        for filterset in sets
        for name, declared in filterset.base_filters.items()
        if isinstance(declared, date_filters)
        and not isinstance(declared, DateRangeFilter | InstantRangeFilter | DayFilter)
    ]
    assert not plain, f"date filters outside the plausible range check: {plain}"


@pytest.mark.parametrize(
    "value",
    [
        "0150-10-06T03:06:38-16:06",  # PostgreSQL refuses the offset; the year is implausible too
        "9999-12-31T23:59:59-14:00",
        "1415-09-26T20:10:48.97Z",
    ],
)
def test_an_implausible_instant_is_a_400_naming_the_parameter(finance_client, value):
    response = finance_client.get(ALERTS, {"created_at_before": value})
    assert response.status_code == 400, response.content
    assert "created_at" in response.content.decode()
    assert "2000-01-01 to 2100-12-31" in response.content.decode()


def test_an_offset_beyond_what_postgresql_takes_is_read_as_its_utc_instant(finance_client):
    scenario = Scenario.objects.get(slug="base")
    alert = RunwayAlert.objects.create(scenario=scenario, reason="below_floor", months=3)
    RunwayAlert.objects.filter(pk=alert.pk).update(created_at=datetime(2024, 1, 1, 16, 0, tzinfo=UTC))
    # 2024-01-01T00:00-16:06 is 16:06 UTC: after the alert, so "before" it finds it, "after" not.
    before = finance_client.get(ALERTS, {"created_at_before": "2024-01-01T00:00:00-16:06"})
    after = finance_client.get(ALERTS, {"created_at_after": "2024-01-01T00:00:00-16:06"})
    assert before.status_code == 200 and after.status_code == 200
    assert [row["id"] for row in before.json()["results"]] == [alert.pk]
    assert after.json()["results"] == []


@pytest.mark.parametrize("value", ["0001-01-31", "9999-12-31", "0300-01-31"])
def test_an_implausible_day_is_a_400_naming_the_parameter(operations_client, value):
    response = operations_client.get(PULL_REQUESTS, {"created_at_after": value})
    assert response.status_code == 400, response.content
    assert "created_at" in response.content.decode()


def test_a_plausible_day_filters(operations_client):
    response = operations_client.get(PULL_REQUESTS, {"created_at_after": "2024-01-01"})
    assert response.status_code == 200
