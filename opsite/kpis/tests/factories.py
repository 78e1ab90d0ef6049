"""factory_boy factories for impact stories. Deterministic: sequences, fixed dates."""

from __future__ import annotations

import datetime as dt

import factory

from opsite.kpis.choices import StoryCategory
from opsite.kpis.models import ImpactStory


class ImpactStoryFactory(factory.django.DjangoModelFactory):
    """A published story of the organization as a whole, not featured."""

    class Meta:
        model = ImpactStory
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"story-{n}")
    title = factory.Sequence(lambda n: f"Story {n:03d}")
    published_on = factory.Sequence(lambda n: dt.date(2024, 1, 1) + dt.timedelta(days=n))
    category = StoryCategory.COMMUNITY_IMPACT
    tags = factory.LazyFunction(lambda: ["education", "cloud"])
    summary = "What happened, for whom."
    url = factory.LazyAttribute(lambda o: f"https://example.org/blog/{o.slug}/")
    featured = False
    published = True
