"""factory_boy factories for communities, hubs, usage and cloud costs. Deterministic: sequences, fixed dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from communities.choices import CommunityKind, CostComponent, HubKind, Provider, UsagePeriod
from communities.models import ActiveUserCount, CloudCost, Community, CostSource, Hub, Network
from communities.services import community_derive


class NetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Network
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"network-{n}")
    name = factory.Sequence(lambda n: f"Network {n:03d}")


class CommunityFactory(factory.django.DjangoModelFactory):
    """An R1 university in the US unless told otherwise: not historically marginalized."""

    class Meta:
        model = Community
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"community-{n}")
    name = factory.Sequence(lambda n: f"Community {n:03d}")
    kind = CommunityKind.R1_UNIVERSITY
    country = "US"
    joined_on = dt.date(2021, 2, 1)
    website = factory.LazyAttribute(lambda o: f"https://{o.slug}.example.org")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # The derived columns, as the services set them (saving a model derives nothing).
        community = model_class(**kwargs)
        community_derive(community)
        kwargs |= {
            "region": community.region,
            "historically_marginalized": community.historically_marginalized,
        }
        return super()._create(model_class, *args, **kwargs)

    @factory.post_generation
    def networks(self, create, extracted, **kwargs):
        if create and extracted:
            self.networks.set(extracted)


class HubFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hub
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"hub-{n}")
    community = factory.SubFactory(CommunityFactory)
    name = factory.Sequence(lambda n: f"Hub {n:03d}")
    url = factory.LazyAttribute(lambda o: f"https://{o.slug}.hubs.example.org")
    cluster = "gcp-us-central1"
    provider = Provider.GCP
    kind = HubKind.BASEHUB
    launched_on = dt.date(2021, 3, 1)
    retired_on = None


class ActiveUserCountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActiveUserCount

    hub = factory.SubFactory(HubFactory)
    date = factory.Sequence(lambda n: dt.date(2022, 1, 1) + dt.timedelta(days=n))
    period = UsagePeriod.MONTH
    active_users = 42


class CostSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CostSource
        django_get_or_create = ("cluster",)

    cluster = factory.Sequence(lambda n: f"cluster-{n}")
    url = factory.LazyAttribute(lambda o: f"https://cost-monitoring.{o.cluster}.example.org")


class CloudCostFactory(factory.django.DjangoModelFactory):
    """A day's compute cost of a hub on its cluster."""

    class Meta:
        model = CloudCost

    date = factory.Sequence(lambda n: dt.date(2024, 1, 1) + dt.timedelta(days=n))
    hub = factory.SubFactory(HubFactory)
    cluster = factory.LazyAttribute(lambda o: o.hub.cluster if o.hub else "gcp-us-central1")
    component = CostComponent.COMPUTE
    amount = Decimal("12.34")
    currency = "USD"
