"""The cloud cost columns of the community and hub lists (opsite.core.cost_columns): the stored
cost rollups' figures over the last 12 complete months, hand-computed; sortable; one query for
any number of rows; for Finance and Leadership, never for Operations."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from communities.models import Hub
from communities.tests.factories import CloudCostFactory, HubFactory
from opsite.core.cost_columns import CostColumns, cost_columns
from opsite.kpis.costs import cost_columns as stored_cost_columns
from opsite.kpis.rollups import recompute_rollups
from opsite.tests.test_cost_rollups import AS_OF, NOW, build_costs, recompute

pytestmark = pytest.mark.django_db

D = Decimal
HUBS = reverse("admin:communities_hub_changelist")
COMMUNITIES = reverse("admin:communities_community_changelist")


def cells(response, column: str) -> dict[str, str]:
    """The page's rows by their first cell's text, each with ``column``'s cell text."""
    html = response.content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    found = {}
    for row in rows:
        first = re.search(r'<th class="field-name"[^>]*>(?:<a [^>]*>)?([^<]*)', row)
        cell = re.search(rf'<td class="field-{column}[^"]*">(.*?)</td>', row, flags=re.S)
        if first and cell:
            found[first.group(1).strip()] = re.sub(r"<[^>]+>", "", cell.group(1)).strip()
    return found


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def costs(frozen_clock):
    hubs = build_costs()
    recompute(frozen_clock)
    return hubs


def test_the_source_sums_the_last_complete_months_of_the_stored_rollups(costs):
    with CaptureQueriesContext(connection) as queries:
        figures = cost_columns()
    assert len(queries) == 1
    # January and February (March is not complete on the as-of day). north-1: 80.00 and 8.00 of
    # cluster a's 10.00, then 60.00 and 12.00 of its 13.00; north-binder 22.00 and 6.00; south-1
    # 50.00 in January and nothing of its own in February.
    assert figures == CostColumns(
        currency="USD",
        months=["2024-01", "2024-02"],
        hub_cost={"north-1": D("160.00"), "north-binder": D("28.00"), "south-1": D("50.00")},
        community_cost={"north": D("188.00"), "south": D("50.00")},
        community_margin={"north": D("-159.00"), "south": D("2950.00")},
    )
    assert stored_cost_columns(months=1).months == ["2024-02"]


def test_before_any_recompute_the_columns_are_empty():
    figures = cost_columns()
    assert (figures.months, figures.hub_cost, figures.community_margin) == ([], {}, {})


@pytest.mark.parametrize("client_name", ["finance_client", "leadership_client"])
def test_the_hub_list_shows_each_hub_s_cost_over_the_months(request, client_name, costs):
    response = request.getfixturevalue(client_name).get(HUBS)
    assert response.status_code == 200
    assert "cloud cost, 12 months" in response.content.decode().lower()
    names = [getattr(name, "__name__", name) for name in response.context["cl"].list_display]
    assert "latest_30d_on" not in names  # the cost takes its place: the list still fits a laptop
    assert cells(response, "cloud_cost_column") == {
        "North 1": "160 USD",
        "North Binder": "28 USD",
        "South 1": "50 USD",
        # No cost of its own in those months.
        Hub.objects.get(slug="north-idle").name: "-",
    }


@pytest.mark.parametrize("client_name", ["finance_client", "leadership_client"])
def test_the_community_list_shows_each_community_s_cost_and_margin(request, client_name, costs):
    response = request.getfixturevalue(client_name).get(COMMUNITIES)
    names = [getattr(name, "__name__", name) for name in response.context["cl"].list_display]
    assert not {"network_names", "left_on"} & set(names)  # both are filters
    assert cells(response, "cloud_cost_column") == {"North": "188 USD", "South": "50 USD"}
    assert cells(response, "margin_column") == {"North": "-159 USD", "South": "2,950 USD"}


def test_the_columns_sort_by_their_figures(finance_client, costs):
    names = [
        getattr(name, "__name__", name) for name in finance_client.get(COMMUNITIES).context["cl"].list_display
    ]
    margin = names.index("margin_column")
    ascending = finance_client.get(COMMUNITIES, {"o": str(margin)})
    assert list(cells(ascending, "margin_column")) == ["North", "South"]
    descending = finance_client.get(COMMUNITIES, {"o": f"-{margin}"})
    assert list(cells(descending, "margin_column")) == ["South", "North"]
    assert f'href="?o={margin}"' in ascending.content.decode()  # a sortable header


def test_operations_sees_no_cost_column(operations_client, costs):
    for url in (HUBS, COMMUNITIES):
        response = operations_client.get(url)
        assert response.status_code == 200
        names = [getattr(name, "__name__", name) for name in response.context["cl"].list_display]
        assert not {"cloud_cost_column", "margin_column"} & set(names), names
        assert "160 USD" not in response.content.decode()


def test_the_hub_s_own_page_has_no_cost_annotation(finance_client, costs):
    hub = costs["north_1"]
    response = finance_client.get(reverse("admin:communities_hub_change", args=[hub.pk]))
    assert response.status_code == 200
    assert not hasattr(response.context["original"], "cloud_cost")


def test_the_lists_take_the_same_queries_with_five_times_the_hubs(finance_client, costs, frozen_clock):
    finance_client.get(HUBS)  # warm per-process caches

    def queries(url) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert finance_client.get(url).status_code == 200
        return len(captured)

    few = (queries(HUBS), queries(COMMUNITIES))
    hub = costs["north_1"]
    for n in range(16):
        more = HubFactory(slug=f"north-extra-{n}", community=hub.community, cluster="a")
        CloudCostFactory(hub=more, cluster="a", date=date(2024, 2, 3), component="compute", amount=D("1.00"))
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=AS_OF)
    assert len(cells(finance_client.get(HUBS), "cloud_cost_column")) > 16
    assert (queries(HUBS), queries(COMMUNITIES)) == few
