"""Reads of impact stories: for the records (admin, CRUD API) and for the public (published only)."""

from __future__ import annotations

import hashlib

from django.db.models import Count, Max, QuerySet

from .models import ImpactStory


def impact_story_list() -> QuerySet[ImpactStory]:
    """Every story, drafts included, newest first, community joined."""
    return ImpactStory.objects.select_related("community").order_by("-published_on", "slug")


def with_tag(stories: QuerySet[ImpactStory], tag: str) -> QuerySet[ImpactStory]:
    """The stories tagged ``tag`` (a tag as the model keeps them: lower-case words and hyphens).

    Matched as the quoted word in the list's JSON text, which every database can search (a JSON
    containment lookup is PostgreSQL's alone); a tag holds no quote, so the match is exact.
    """
    return stories.filter(tags__icontains=f'"{tag}"')


def published_stories(*, category: str | None = None, tag: str | None = None) -> QuerySet[ImpactStory]:
    """The public stories: published only, featured first, then newest; community joined."""
    stories = (
        ImpactStory.objects.filter(published=True)
        .select_related("community")
        .order_by("-featured", "-published_on", "slug")
    )
    if category:
        stories = stories.filter(category=category)
    if tag:
        stories = with_tag(stories, tag)
    return stories


def stories_version() -> str:
    """A digest that changes whenever any story is added, changed or deleted: one query.

    Every write goes through the services, which save the row (``updated_at`` moves); a delete
    lowers the count, and a delete with an add in the same instant raises the highest id.
    """
    figures = ImpactStory.objects.aggregate(count=Count("pk"), last=Max("updated_at"), top=Max("pk"))
    text = f"{figures['count']}:{figures['last'].isoformat() if figures['last'] else ''}:{figures['top']}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]
