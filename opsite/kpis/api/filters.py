"""The FilterSet of the impact-story records API: by category, flags, community, tag and date."""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django_filters import rest_framework as filters

from opsite.core.api.filters import on_date

from ..models import TAG_RE, ImpactStory
from ..selectors import with_tag

# A tag as the stories keep them, in any letter case: anything else matches no story, and is
# refused as a 400 naming the parameter rather than answered with an empty page.
TAG_VALIDATOR = RegexValidator(
    re.compile(rf"^{TAG_RE.pattern}$", re.IGNORECASE),
    "A tag is words of letters and digits joined by hyphens, such as cloud-costs.",
)


class ImpactStoryFilter(filters.FilterSet):
    community = filters.CharFilter(field_name="community__slug", help_text="The community's slug.")
    tag = filters.CharFilter(
        method="filter_tag", validators=[TAG_VALIDATOR], help_text="Stories carrying this tag."
    )
    published_on = on_date("published_on")

    class Meta:
        model = ImpactStory
        fields = ("category", "featured", "published")

    def filter_tag(self, queryset: QuerySet[ImpactStory], name: str, value: str) -> QuerySet[ImpactStory]:
        return with_tag(queryset, value.lower())
