"""The impact-story records API, mounted at ``/api/v1/kpis/``: thin, over the kernel's base.

Rows come from :mod:`opsite.kpis.selectors`, writes go through the model's ``ModelWrites``
(:mod:`opsite.kpis.services`), and ``RolePermission`` applies docs/roles.md: Operations and
Finance keep the stories, Leadership reads them. A story also reads as Markdown with front
matter for a static site: ``/api/v1/kpis/impact-stories/<slug>.md`` (or ``?format=md``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from opsite.core.api.viewsets import SLUG, ReadBackServiceModelViewSet

from .. import selectors
from ..markdown import story_filename, story_markdown
from . import filters, serializers


class MarkdownRenderer(BaseRenderer):
    """A story as Markdown (the view hands it the document); a refusal as its message."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, str):
            return data.encode(self.charset)
        if isinstance(data, dict) and "detail" in data:
            return f"{data['detail']}\n".encode(self.charset)
        return b""


@extend_schema_view(
    retrieve=extend_schema(
        responses={
            (200, "application/json"): serializers.ImpactStorySerializer,
            (200, "text/markdown"): OpenApiResponse(
                OpenApiTypes.STR,
                description="With .md (or ?format=md): the story as Markdown with YAML front matter "
                "(title, slug, date, categories, tags, summary, featured).",
            ),
        }
    )
)
class ImpactStoryViewSet(ReadBackServiceModelViewSet):
    """Impact stories, drafts included; the published ones are also public at /api/v1/public/stories/."""

    queryset = selectors.impact_story_list()
    serializer_class = serializers.ImpactStorySerializer
    filterset_class = filters.ImpactStoryFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG
    ordering_fields = ["published_on", "slug", "title", "category", "featured", "published", "updated_at"]
    ordering = ["-published_on", "slug"]

    def get_renderers(self) -> list[BaseRenderer]:
        renderers = super().get_renderers()
        if getattr(self, "action", None) == "retrieve":
            renderers.append(MarkdownRenderer())
        return renderers

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if getattr(request.accepted_renderer, "format", None) != MarkdownRenderer.format:
            return super().retrieve(request, *args, **kwargs)
        story = self.get_object()
        return Response(
            story_markdown(story),
            headers={"Content-Disposition": f'inline; filename="{story_filename(story)}"'},
        )
