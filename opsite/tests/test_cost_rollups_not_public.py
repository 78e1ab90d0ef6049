"""The cost rollups are for the leadership dashboard alone: no public door serves them.

The public API, its badges, the widgets' cards and the ``/kpis/`` page read only the keys of the
public metrics, the KPI block and the histogram. These tests check that by the keys each door
reads, by asking each door for a cost key, and by reading every public answer, with everything
public switched on, for figures only the cost rollups hold.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from communities.tests.factories import CloudCostFactory
from opsite.core.periods import INTERVALS
from opsite.kpis import costs, page, rollups
from opsite.kpis.api import public
from opsite.kpis.rollups import get_rollup
from opsite.tests.public_kit_support import NOW, worker_clock  # noqa: F401 (fixture)
from opsite.tests.test_cost_rollups import AS_OF, build_costs

pytestmark = pytest.mark.django_db

# Figures and names only the cost rollups hold.
SECRET_CLUSTER = "zz-cost-only-cluster"
SECRET_AMOUNT = "4321.09"
COST_WORDS = (SECRET_CLUSTER, SECRET_AMOUNT, "costs:", "cost_per_active_user", "unallocated")
COST_NAMES = (
    "costs",
    *costs.COST_KEYS,
    "hub-month",
    "component-month",
    "community-month",
    "cost-per-active-user",
)


@pytest.fixture
def stored_costs(settings):
    settings.OPSITE_PUBLIC_FUNDING = True
    settings.OPSITE_PUBLIC_HUB_DATA = True
    with time_machine.travel(NOW, tick=False) as clock:
        build_costs()
        CloudCostFactory(
            hub=None,
            cluster=SECRET_CLUSTER,
            date=date(2024, 2, 3),
            component="backup",
            amount=Decimal(SECRET_AMOUNT),
        )
        clock.shift(timedelta(hours=2))
        rollups.recompute_rollups(as_of=AS_OF)
        yield


def test_no_public_door_reads_a_cost_key():
    served = {rollups.KPIS_LATEST, *page.PAGE_ROLLUPS}
    for name, metric in rollups.METRICS.items():
        served.add(public.badge_source(metric)[0])
        served.update(rollups.series_key(name, interval) for interval in INTERVALS)

    assert not any(key.startswith(costs.COSTS_PREFIX) for key in served)
    assert not any(name.startswith("cost") for name in rollups.METRICS)


@pytest.mark.parametrize("name", COST_NAMES)
def test_asking_a_public_door_for_a_cost_key_finds_nothing(stored_costs, name):
    assert get_rollup(costs.HUB_MONTH) is not None
    client = Client()

    assert client.get(reverse("public-api:series", kwargs={"metric": name})).status_code in (400, 404)
    assert client.get(reverse("public-api:badge", kwargs={"metric": name})).status_code in (400, 404)
    assert client.get(reverse("widgets:card", kwargs={"metric": name})).status_code == 404
    with pytest.raises(public.BadParameter):
        public.public_metric(name)


def test_no_public_answer_holds_a_cost_figure(stored_costs):
    assert SECRET_AMOUNT in str(get_rollup(costs.HUB_MONTH).value)
    urls = [
        reverse("public-api:kpis"),
        reverse("public-api:stories"),
        reverse("public-api:data-maus-by-hub"),
        reverse("public-api:data-maus-unique-by-cluster"),
        reverse("kpis:page"),
        reverse("widgets:script"),
    ]
    for metric in rollups.METRICS:
        urls.append(reverse("public-api:badge", kwargs={"metric": metric}))
        urls.append(reverse("widgets:card", kwargs={"metric": metric}))
        urls.extend(
            f"{reverse('public-api:series', kwargs={'metric': metric})}?interval={interval}"
            for interval in INTERVALS
        )
    client = Client()

    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert [word for word in COST_WORDS if word in body] == [], url
