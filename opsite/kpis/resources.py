"""Import/export of impact stories, matched by ``slug``: an exported file re-imports as an update.

The community is written as its slug, the tags as one cell separated by commas (a JSON list is
read too). Rows are saved through :mod:`opsite.kpis.services` by the kernel's resource base,
inside the import's one transaction.
"""

from __future__ import annotations

from import_export import fields

from communities.models import Community
from opsite.core.resources import (
    CommaListWidget,
    NaturalKeyResource,
    NaturalKeyWidget,
    OpsiteResource,
    StrictBooleanWidget,
)

from .models import ImpactStory
from .selectors import impact_story_list


class ImpactStoryResource(NaturalKeyResource):
    """An impact story per row, matched by ``slug``."""

    community = fields.Field(
        attribute="community", column_name="community", widget=NaturalKeyWidget(Community, "slug")
    )
    tags = fields.Field(attribute="tags", column_name="tags", widget=CommaListWidget())
    featured = fields.Field(
        attribute="featured", column_name="featured", widget=StrictBooleanWidget(null=False)
    )
    published = fields.Field(
        attribute="published", column_name="published", widget=StrictBooleanWidget(null=False)
    )

    template_example = {"tags": "education, cloud-costs"}

    class Meta(OpsiteResource.Meta):
        model = ImpactStory
        fields = (
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
        )
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return impact_story_list()
