"""Reads of communities and hubs: the live-hub rule, the annotated columns, their cost."""

from __future__ import annotations

import datetime as dt

import pytest

from communities.models import Hub
from communities.selectors import active_user_count_list, community_list, hub_list, live_hub_q, network_list

from .factories import ActiveUserCountFactory, CommunityFactory, HubFactory, NetworkFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 6, 30)


def test_a_hub_is_live_from_its_launch_day_until_the_day_before_it_retires():
    HubFactory(slug="launches-today", launched_on=DAY)
    HubFactory(slug="launches-tomorrow", launched_on=DAY + dt.timedelta(days=1))
    HubFactory(slug="retires-today", launched_on=dt.date(2022, 1, 1), retired_on=DAY)
    HubFactory(
        slug="retires-tomorrow", launched_on=dt.date(2022, 1, 1), retired_on=DAY + dt.timedelta(days=1)
    )
    HubFactory(slug="never-retires", launched_on=dt.date(2022, 1, 1))
    live = Hub.objects.filter(live_hub_q(DAY)).order_by("slug").values_list("slug", flat=True)
    assert list(live) == ["launches-today", "never-retires", "retires-tomorrow"]


def test_community_list_counts_all_and_live_hubs(django_assert_num_queries):
    network = NetworkFactory()
    busy = CommunityFactory(name="A busy", networks=[network])
    HubFactory(community=busy, launched_on=dt.date(2022, 1, 1))
    HubFactory(community=busy, launched_on=dt.date(2022, 1, 1), retired_on=dt.date(2023, 1, 1))
    CommunityFactory(name="B idle")
    with django_assert_num_queries(2):  # communities with counts, their networks
        rows = [(c.name, c.hub_count, c.live_hub_count, list(c.networks.all())) for c in community_list(DAY)]
    assert rows == [("A busy", 2, 1, [network]), ("B idle", 0, 0, [])]


def test_hub_list_carries_the_latest_30d_sample_on_or_before_the_day(django_assert_num_queries):
    hub = HubFactory(slug="a")
    HubFactory(slug="b")
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 5, 31), period="30d", active_users=50)
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 6, 30), period="7d", active_users=20)
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 7, 31), period="30d", active_users=70)
    with django_assert_num_queries(1):
        rows = [(h.slug, h.community.slug[:9], h.latest_30d_users, h.latest_30d_on) for h in hub_list(DAY)]
    assert rows == [("a", "community", 50, dt.date(2024, 5, 31)), ("b", "community", None, None)]


def test_network_list_counts_communities():
    network = NetworkFactory(name="LatAm")
    CommunityFactory(networks=[network])
    CommunityFactory(networks=[network])
    assert [(n.name, n.community_count) for n in network_list()] == [("LatAm", 2)]


def test_active_user_count_list_is_newest_first_per_hub_in_one_query(django_assert_num_queries):
    hub = HubFactory(slug="a")
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 1, 31))
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 2, 29))
    with django_assert_num_queries(1):
        rows = [(s.hub.community.name[:9], s.date) for s in active_user_count_list()]
    assert rows == [("Community", dt.date(2024, 2, 29)), ("Community", dt.date(2024, 1, 31))]
