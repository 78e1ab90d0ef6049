"""The usage fee schedules and tiers through the API: who may, and the same rules as elsewhere."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts.models import UsageFeeSchedule, UsageFeeTier

from .factories import ServiceContractFactory
from .test_api import results, url

pytestmark = pytest.mark.django_db


def test_the_default_schedule_is_listed_with_its_tiers_open_tier_last(leadership_client):
    (schedule,) = results(leadership_client.get(url("usage-fee-schedule-list")))
    assert schedule["slug"] == "mau-2024"
    assert [(tier["up_to"], tier["unit_price"]) for tier in schedule["tiers"]] == [
        (10, "10.00"), (100, "5.00"), (1000, "2.50"), (10000, "1.25"), (None, "0.00"),
    ]  # fmt: skip


def test_operations_adds_a_schedule_and_its_tiers_and_a_second_open_tier_is_refused(operations_client):
    created = operations_client.post(
        url("usage-fee-schedule-list"), {"slug": "edu", "name": "Education"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    tiers = url("usage-fee-tier-list")
    assert (
        operations_client.post(tiers, {"schedule": "edu", "up_to": 50, "unit_price": "2.00"}).status_code
        == 201
    )
    assert (
        operations_client.post(
            tiers, {"schedule": "edu", "up_to": None, "unit_price": "1.00"}, content_type="application/json"
        ).status_code
        == 201
    )
    refused = operations_client.post(
        tiers, {"schedule": "edu", "up_to": None, "unit_price": "3.00"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "already has a tier without an upper bound" in refused.json()["up_to"][0]
    assert UsageFeeTier.objects.filter(schedule__slug="edu").count() == 2


def test_leadership_reads_but_may_not_write_schedules(leadership_client):
    response = leadership_client.post(
        url("usage-fee-schedule-list"), {"slug": "x", "name": "X"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not UsageFeeSchedule.objects.filter(slug="x").exists()


def test_a_contract_is_priced_on_a_schedule_by_its_slug(operations_client):
    ServiceContractFactory(reference="c-1", currency="USD")
    response = operations_client.patch(
        url("contract-detail", "c-1"), {"usage_fee_schedule": "mau-2024"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["usage_fee_schedule"] == "mau-2024"
    filtered = results(operations_client.get(url("contract-list"), {"usage_fee_schedule": "mau-2024"}))
    assert [row["reference"] for row in filtered] == ["c-1"]


def test_a_schedule_in_use_is_not_deleted_and_the_answer_says_why(operations_client):
    ServiceContractFactory(
        reference="c-1", currency="USD", usage_fee_schedule=UsageFeeSchedule.objects.get(slug="mau-2024")
    )
    response = operations_client.delete(url("usage-fee-schedule-detail", "mau-2024"))
    assert response.status_code == 409
    assert UsageFeeSchedule.objects.filter(slug="mau-2024").exists()


def test_a_tier_price_with_a_thousands_separator_is_refused(operations_client):
    response = operations_client.post(
        url("usage-fee-tier-list"),
        {"schedule": "mau-2024", "up_to": 20000, "unit_price": "1,000.00"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "unit_price" in response.json()
    assert Decimal(UsageFeeTier.objects.get(schedule__slug="mau-2024", up_to=10000).unit_price) == Decimal(
        "1.25"
    )
