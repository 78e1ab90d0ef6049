"""The database holds the rules of communities, hubs and usage even when validation is skipped."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from communities.models import ActiveUserCount, Community, Hub, Network

from .factories import ActiveUserCountFactory, CommunityFactory, HubFactory, NetworkFactory

pytestmark = pytest.mark.django_db


def refused(model, **fields) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)


def test_network_slug_is_unique():
    NetworkFactory(slug="n")
    refused(Network, slug="n", name="Again")


def test_community_slug_is_unique():
    CommunityFactory(slug="c")
    refused(Community, slug="c", name="Again", kind="school", country="US", joined_on=dt.date(2022, 1, 1))


def test_a_community_does_not_leave_before_it_joined():
    refused(
        Community,
        slug="c",
        name="C",
        kind="school",
        country="US",
        joined_on=dt.date(2022, 1, 2),
        left_on=dt.date(2022, 1, 1),
    )


def test_hub_slug_is_unique():
    hub = HubFactory(slug="h")
    refused(
        Hub, slug="h", community=hub.community, name="Again", provider="gcp", launched_on=dt.date(2022, 1, 1)
    )


def test_a_hub_does_not_retire_before_it_launched():
    refused(
        Hub,
        slug="h",
        community=CommunityFactory(),
        name="H",
        provider="gcp",
        launched_on=dt.date(2022, 1, 2),
        retired_on=dt.date(2022, 1, 1),
    )


def test_a_community_with_hubs_cannot_be_deleted():
    from django.db.models import ProtectedError

    hub = HubFactory()
    with pytest.raises(ProtectedError):
        hub.community.delete()


def test_one_sample_per_hub_date_and_period():
    sample = ActiveUserCountFactory()
    refused(ActiveUserCount, hub=sample.hub, date=sample.date, period=sample.period, active_users=1)


def test_the_same_day_may_have_a_sample_per_period():
    sample = ActiveUserCountFactory(period="30d")
    ActiveUserCountFactory(hub=sample.hub, date=sample.date, period="7d")
    assert ActiveUserCount.objects.filter(hub=sample.hub, date=sample.date).count() == 2


def test_active_users_is_not_negative():
    refused(ActiveUserCount, hub=HubFactory(), date=dt.date(2022, 1, 1), period="30d", active_users=-1)


def test_str_of_each_model():
    sample = ActiveUserCountFactory(
        hub__slug="h",
        hub__name="Hub H",
        hub__community__name="Uni",
        date=dt.date(2024, 1, 31),
        active_users=5,
    )
    assert str(sample) == "h 2024-01-31 30d: 5"
    assert str(sample.hub) == "Hub H"
    assert str(sample.hub.community) == "Uni"
    assert str(NetworkFactory(name="LatAm")) == "LatAm"
