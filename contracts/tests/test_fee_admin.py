"""A usage-priced contract's page: its fees month by month, and the same as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from contracts.models import UsageFeeSchedule

from .factories import ServiceContractFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced():
    community = CommunityFactory()
    hub = HubFactory(community=community, launched_on=dt.date(2023, 1, 1))
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 1, 31), active_users=10)
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 2, 29), active_users=100)
    return ServiceContractFactory(
        reference="c-usage",
        community=community,
        start_on=dt.date(2024, 1, 1),
        end_on=dt.date(2024, 2, 29),
        usage_fee_schedule=UsageFeeSchedule.objects.get(slug="mau-2024"),
    )


def test_the_contract_page_shows_each_months_billable_users_and_fee(operations_client, priced):
    page = operations_client.get(f"/admin/contracts/servicecontract/{priced.pk}/change/").content.decode()
    assert "Billable users" in page
    assert "Jan 2024" in page and "Feb 2024" in page
    assert "100.00 USD" in page and "550.00 USD" in page
    assert f"/admin/contracts/servicecontract/{priced.pk}/usage-fees.csv" in page


def test_the_fees_download_as_csv(leadership_client, priced):
    response = leadership_client.get(f"/admin/contracts/servicecontract/{priced.pk}/usage-fees.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["month_end", "billable_users", "fee", "currency"],
        ["2024-01-31", "10", "100.00", "USD"],
        ["2024-02-29", "100", "550.00", "USD"],
    ]


def test_a_contract_not_priced_by_usage_says_so(operations_client):
    contract = ServiceContractFactory()
    page = operations_client.get(f"/admin/contracts/servicecontract/{contract.pk}/change/").content.decode()
    assert "Not priced by usage." in page


def test_the_csv_of_a_missing_contract_is_refused(operations_client):
    assert operations_client.get("/admin/contracts/servicecontract/999999/usage-fees.csv").status_code == 403
