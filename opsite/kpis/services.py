"""Writes to impact stories: every door (admin, import, API, the demo loader) goes through here.

A story's own fields are checked by the model's ``clean()`` (its tags, the address a published
story needs); no rule reads other rows, so the model's ``ModelWrites`` has no ``validate``, and
deleting has no rule beyond the database's (docs/architecture.md "One write path").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction

from communities.models import Community
from opsite.core.services import ModelWrites, assign, by_natural_key

from .models import ImpactStory

IMPACT_STORY_FIELDS = frozenset(
    {
        "slug",
        "title",
        "published_on",
        "community",
        "category",
        "tags",
        "summary",
        "url",
        "featured",
        "published",
    }
)


def _community(value: Community | str | None) -> Community | None:
    if value is None or value == "":
        return None
    return by_natural_key(Community, value, key="slug", field="community")


@transaction.atomic
def impact_story_create(
    *,
    slug: str,
    title: str,
    published_on: date,
    category: str,
    tags: list[str],
    summary: str,
    url: str = "",
    community: Community | str | None = None,
    featured: bool = False,
    published: bool = False,
) -> ImpactStory:
    """Create a story; ``community`` is a community or its slug."""
    story = ImpactStory(
        slug=slug,
        title=title,
        published_on=published_on,
        community=_community(community),
        category=category,
        tags=tags,
        summary=summary,
        url=url,
        featured=featured,
        published=published,
    )
    story.full_clean()
    story.save()
    return story


@transaction.atomic
def impact_story_update(*, impact_story: ImpactStory, data: Mapping[str, Any]) -> ImpactStory:
    data = dict(data)
    if "community" in data:
        data["community"] = _community(data["community"])
    assign(impact_story, data, IMPACT_STORY_FIELDS)
    impact_story.full_clean()
    impact_story.save()
    return impact_story


IMPACT_STORY_WRITES = ModelWrites(
    model=ImpactStory, create=impact_story_create, update=impact_story_update, fields=IMPACT_STORY_FIELDS
)
