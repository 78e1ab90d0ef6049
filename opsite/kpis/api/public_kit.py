"""The public website kit's API: published impact stories and the public data files of hub usage.

Both are anonymous, read-only and throttled like the rest of the public API (:class:`PublicView`),
with the same caching: ``Cache-Control: public, max-age=300``, a strong ``ETag``, 304 on a match.

``GET /api/v1/public/stories/``
    published stories only (a draft never), featured first, then newest; limit/offset pages;
    ``?category=`` and ``?tag=`` filter. The ETag is a hash of the answer.
``GET /api/v1/public/data/maus-by-hub.csv`` and ``.../maus-unique-by-cluster.csv``
    only while ``OPSITE_PUBLIC_HUB_DATA`` is on (404 otherwise, as if they did not exist); see
    :mod:`opsite.kpis.hub_data` for their rows. ``Opsite-Data-Newest`` names the newest row's
    date, and ``Opsite-Data-Stale: true`` says it is more than 7 days old.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, QueryDict
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from .. import hub_data
from ..choices import StoryCategory
from ..models import TAG_RE, ImpactStory
from ..rollups import today
from ..selectors import published_stories, stories_version
from . import examples, public
from .public import _RENDERER, BadParameter, PublicView, Unavailable, _etag, _not_modified
from .schema import IF_NONE_MATCH, PUBLIC_ERRORS, PublicErrorSerializer
from .serializers import PublicStoryPageSerializer

# As Django's GZipMiddleware reads Accept-Encoding.
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def public_story(story: ImpactStory) -> dict[str, Any]:
    """A published story as the public API and the gallery show it."""
    community = story.community
    return {
        "slug": story.slug,
        "title": story.title,
        "published_on": story.published_on.isoformat(),
        "community": {"slug": community.slug, "name": community.name} if community else None,
        "category": story.category,
        "tags": list(story.tags),
        "summary": story.summary,
        "url": story.url,
        "featured": story.featured,
    }


def _whole(name: str, raw: str | None, *, default: int, low: int, high: int | None = None) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise BadParameter(f"{name} must be a whole number, not {raw!r}.")
    value = int(raw)
    if value < low or (high is not None and value > high):
        limit = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise BadParameter(f"{name} must be {limit}, not {value}.")
    return value


def _page_url(request: HttpRequest | Request, query: QueryDict, offset: int | None) -> str | None:
    if offset is None:
        return None
    params = {key: value for key, value in query.items() if key != "offset"}
    if offset:
        params["offset"] = str(offset)
    path = request.path + (f"?{urlencode(params)}" if params else "")
    return request.build_absolute_uri(path)


class PublicStoriesView(PublicView):
    """Published impact stories, for a website's gallery."""

    @extend_schema(
        operation_id="public_stories_list",
        tags=["public"],
        summary="Published impact stories, featured first, then newest",
        parameters=[
            OpenApiParameter("category", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=StoryCategory.values),
            OpenApiParameter(
                "tag", OpenApiTypes.STR, OpenApiParameter.QUERY, description="A tag, such as education."
            ),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                description=f"Stories per page, 1 to {MAX_LIMIT}; {DEFAULT_LIMIT} when left out.",
            ),
            OpenApiParameter(
                "offset", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Stories to skip."
            ),
            IF_NONE_MATCH,
        ],
        responses={200: PublicStoryPageSerializer, **PUBLIC_ERRORS},
        examples=examples.STORIES,
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)

    def answer(self, request: HttpRequest | Request, query: QueryDict) -> HttpResponse:
        category = query.get("category") or None
        if category is not None and category not in StoryCategory.values:
            raise BadParameter(
                f"Unknown category {category!r}: use one of {', '.join(StoryCategory.values)}."
            )
        tag = (query.get("tag") or "").lower() or None
        if tag is not None and not TAG_RE.fullmatch(tag):
            raise BadParameter(f"tag {tag!r} is not a tag: lower-case words joined by hyphens.")
        limit = _whole("limit", query.get("limit"), default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
        offset = _whole("offset", query.get("offset"), default=0, low=0)
        # Kept by the whole address asked (the links to the next and previous pages repeat its
        # host and query) while the stories' version holds, read at most once per VERSION_TTL.
        version = _stories_version()
        asked = request.build_absolute_uri()
        kept = _STORY_PAGES.get(asked)
        if kept is None or kept[0] != version:
            content = self._page(request, query, category=category, tag=tag, limit=limit, offset=offset)
            kept = _STORY_PAGES[asked] = (version, content, hashlib.sha256(content).hexdigest()[:32])
            while len(_STORY_PAGES) > MAX_STORY_PAGES:
                _STORY_PAGES.popitem(last=False)
        else:
            _STORY_PAGES.move_to_end(asked)
        _, content, etag = kept
        if _not_modified(request, _etag(etag)):
            return self._cacheable(HttpResponseNotModified(), etag)
        return self._cacheable(HttpResponse(content, content_type="application/json"), etag)

    @staticmethod
    def _page(
        request: HttpRequest | Request,
        query: QueryDict,
        *,
        category: str | None,
        tag: str | None,
        limit: int,
        offset: int,
    ) -> bytes:
        stories = published_stories(category=category, tag=tag)
        count = stories.count()
        page = list(stories[offset : offset + limit]) if offset < count else []
        body = {
            "count": count,
            "next": _page_url(request, query, offset + limit if offset + limit < count else None),
            "previous": _page_url(request, query, max(offset - limit, 0) if offset > 0 else None),
            "results": [public_story(story) for story in page],
        }
        return _RENDERER.render(body)


# The story pages this worker rendered, by address: (stories' version, bytes, ETag). As many as
# visitors ask for, so the least recently used go past MAX_STORY_PAGES.
_STORY_PAGES: OrderedDict[str, tuple[str, bytes, str]] = OrderedDict()
MAX_STORY_PAGES = 128
# What this worker last read of the stories' version and of each data file's signature, and
# when, by name: trusted for VERSION_TTL, like a rollup's version.
_SEEN: dict[str, tuple[Any, float]] = {}


def _trusted(name: str, read: Callable[[], Any]) -> Any:
    """``read()``, read again at most once per ``VERSION_TTL``."""
    now = public._clock()
    seen = _SEEN.get(name)
    if seen is not None and now - seen[1] < public.VERSION_TTL:
        return seen[0]
    value = read()
    _SEEN[name] = (value, now)
    return value


def _stories_version() -> str:
    return _trusted("stories", stories_version)


def _signature(file: hub_data.DataFile) -> tuple[str, Any]:
    return _trusted(f"file:{file.name}", file.signature)


def forget_data_files() -> None:
    """Forget what this worker rendered and read: the data files, and the story pages too."""
    _SEEN.clear()
    hub_data.forget()
    _STORY_PAGES.clear()


@receiver(setting_changed)
def _forget_on_setting_changed(**kwargs: Any) -> None:
    forget_data_files()


class PublicDataFileView(PublicView):
    """A public data file of hub usage, as CSV (while ``OPSITE_PUBLIC_HUB_DATA`` is on)."""

    file: hub_data.DataFile

    def answer(self, request: HttpRequest | Request, query: QueryDict) -> HttpResponse:
        if not settings.OPSITE_PUBLIC_HUB_DATA:
            raise Unavailable("This site publishes no data files.")
        rendered = hub_data.rendered(self.file, signature=_signature(self.file))
        # Gzipped for a client that takes it (every browser): each representation its own ETag.
        gzipped = bool(_ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")))
        version = f"{rendered.version}-gzip" if gzipped else rendered.version
        if _not_modified(request, _etag(version)):
            response = HttpResponseNotModified()
        else:
            content = rendered.gzipped if gzipped else rendered.content
            response = HttpResponse(content, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'inline; filename="{self.file.filename}"'
            if gzipped:
                response["Content-Encoding"] = "gzip"
        patch_vary_headers(response, ("Accept-Encoding",))
        if rendered.newest is not None:
            response["Opsite-Data-Newest"] = rendered.newest.isoformat()
        if hub_data.is_stale(rendered.newest, today()):
            response["Opsite-Data-Stale"] = "true"
        return self._cacheable(response, version)


def _data_file_schema(file: hub_data.DataFile, description: str, example: str) -> Any:
    return extend_schema(
        operation_id=f"public_data_{file.name.replace('-', '_')}",
        tags=["public"],
        summary=f"{file.filename}: {','.join(file.header)}",
        description=description,
        parameters=[IF_NONE_MATCH],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description=f"CSV with the header {','.join(file.header)}, one row per "
                f"({', '.join(file.key)}). Opsite-Data-Newest: the newest row's date; "
                "Opsite-Data-Stale: true when that is more than 7 days ago.",
                examples=[examples.csv_example(file.filename, example)],
            ),
            404: OpenApiResponse(PublicErrorSerializer, description="This site publishes no data files."),
            **PUBLIC_ERRORS,
        },
    )


class MausByHubView(PublicDataFileView):
    file = hub_data.FILES["maus-by-hub"]

    @_data_file_schema(
        file,
        "Each hub's 30-day active users, as sampled (BinderHubs left out: they count sessions).",
        examples.MAUS_BY_HUB_CSV,
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


class MausUniqueByClusterView(PublicDataFileView):
    file = hub_data.FILES["maus-unique-by-cluster"]

    @_data_file_schema(
        file,
        "Each cluster's unique users over 30 days, deduplicated across its hubs.",
        examples.MAUS_UNIQUE_BY_CLUSTER_CSV,
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)
