"""The public website kit's tables, and the rollup store.

:class:`Rollup` (KPI figures and series computed by :mod:`opsite.kpis.rollups`) belongs to the
``opsite`` app; :class:`ImpactStory` to this package's own app, ``kpis``.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from opsite.core.dates import PlausibleDateValidator
from opsite.core.models import TimeStampedModel

from .choices import StoryCategory

MIN_TAGS = 2
MAX_TAGS = 5
TAG_MAX_LENGTH = 40
# Lower-case words joined by hyphens: a tag is part of a static site's URL (``/tags/cloud-costs/``),
# and a JSON list of such words can be searched as text without a JSON lookup (the API's filter).
TAG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class Rollup(TimeStampedModel):
    """A stored KPI figure or series (see ``opsite.kpis.rollups``), read by the API and dashboard.

    ``version`` is a content hash of the canonical JSON of ``value``: it changes exactly when the
    value changes, so it serves as the public API's ETag. ``computed_at`` is when the current
    value was computed; a recompute that finds the same value leaves the row untouched.
    """

    key = models.CharField(max_length=200, unique=True)
    value = models.JSONField()
    version = models.CharField(max_length=64)
    computed_at = models.DateTimeField()

    class Meta:
        app_label = "opsite"
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} ({self.version[:12]})"


def normalized_tags(value: Any) -> Any:
    """``value`` with each tag trimmed and in lower case, and inner spaces as hyphens
    (``" Cloud Costs"`` -> ``"cloud-costs"``); anything but a list of texts is returned as is,
    for :func:`tag_problems` to name."""
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        return value
    return ["-".join(tag.split()).lower() for tag in value]


def tag_problems(tags: Any) -> list[str]:
    """Why ``tags`` is not a list of 2 to 5 distinct tags (empty when it is)."""
    if not isinstance(tags, list):
        return [f"Enter a list of {MIN_TAGS} to {MAX_TAGS} tags, not {type(tags).__name__}."]
    problems: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not TAG_RE.fullmatch(tag) or len(tag) > TAG_MAX_LENGTH:
            problems.append(
                f"{tag!r} is not a tag: lower-case letters and digits, words joined by hyphens, "
                f"at most {TAG_MAX_LENGTH} characters."
            )
    repeated = sorted({tag for tag in tags if isinstance(tag, str) and tags.count(tag) > 1})
    if repeated:
        problems.append(f"Each tag once: {', '.join(repeated)} is listed more than once.")
    if not MIN_TAGS <= len(tags) <= MAX_TAGS:
        problems.append(f"Give {MIN_TAGS} to {MAX_TAGS} tags, not {len(tags)}.")
    return problems


class ImpactStory(TimeStampedModel):
    """A story of the organization's impact, told on its website and shown in the ``/kpis/`` gallery.

    Only a ``published`` story is public (the stories API, the gallery); a draft is seen in the
    admin and the records API alone. ``url`` is where the whole story is read.
    """

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    published_on = models.DateField(validators=[PlausibleDateValidator()])
    community = models.ForeignKey(
        "communities.Community",
        null=True,
        blank=True,
        # A story outlives the record of the community it tells of.
        on_delete=models.SET_NULL,
        related_name="impact_stories",
    )
    category = models.CharField(max_length=30, choices=StoryCategory.choices)
    tags = models.JSONField(
        default=list, help_text=f"{MIN_TAGS} to {MAX_TAGS} tags: lower-case words joined by hyphens."
    )
    summary = models.TextField(max_length=1000, help_text="A paragraph: what happened, for whom.")
    url = models.URLField(max_length=300, blank=True, help_text="Where the whole story is read.")
    featured = models.BooleanField(default=False, help_text="Shown first in the gallery.")
    published = models.BooleanField(default=False, help_text="Public: in the gallery and the public API.")

    class Meta:
        ordering = ["-published_on", "slug"]
        verbose_name_plural = "impact stories"
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=StoryCategory.values), name="kpis_impactstory_category_known"
            ),
            models.CheckConstraint(
                condition=Q(published=False) | ~Q(url=""), name="kpis_impactstory_published_has_url"
            ),
        ]
        indexes = [models.Index(fields=["published", "-published_on"], name="kpis_story_published")]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        self.tags = normalized_tags(self.tags if self.tags is not None else [])
        errors: dict[str, list[str]] = {}
        problems = tag_problems(self.tags)
        if problems:
            errors["tags"] = problems
        if self.published and not self.url:
            errors["url"] = ["A published story links to where it is read: give its address."]
        if errors:
            raise ValidationError(errors)
