"""The public KPI API (docs/api.md "Public KPI API"): figures for the website's widgets and badges.

Anonymous and read-only, these are the only views open to everybody (``AllowAny``). They serve the
rollup store (``opsite.kpis.rollups``) as it is and never recompute figures: a worker checks the stored
row's version (an indexed read, at most once a second per figure) and reuses the answer it
rendered for it, so the figures a visitor sees are those of the last recompute. The shapes of the
answers are in :mod:`.schema`.

Caching: ``Cache-Control: public, max-age=300`` and a strong ``ETag`` made of the stored rollup's
version (the content hash of its value), so it changes exactly when the figures do (each worker
sees a new version within ``VERSION_TTL``, a second); a request whose ``If-None-Match`` names it
gets ``304 Not Modified`` with no body. Browsers on the origins in
``OPSITE_PUBLIC_CORS_ORIGINS`` may call the API from pages (django-cors-headers, configured in the
settings for ``/api/v1/public/`` only). Each client address is throttled (:mod:`.throttling`).

Funding and contract series are public only when ``OPSITE_PUBLIC_FUNDING`` is on. Nothing here
reads salaries, cash or the runway: the rollups hold aggregates only.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, QueryDict
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opsite.core.api.throttling import PublicRateThrottle
from opsite.core.periods import INTERVALS, QUARTER
from opsite.kpis import rollups
from opsite.kpis.models import Rollup
from opsite.kpis.month_ends import STATE_MONTH_ENDS, last_month_end

from . import examples
from .ordering import in_order
from .schema import (
    IF_NONE_MATCH,
    NOT_STORED,
    PUBLIC_ERRORS,
    BadgeSerializer,
    KpisSerializer,
    PublicErrorSerializer,
    SeriesSerializer,
)

CACHE_CONTROL = "public, max-age=300"
CACHE_SECONDS = 300
DEFAULT_INTERVAL = QUARTER
# Figures before this day are not meaningful for the organization, and computing a KPI block for
# a day near year 1 would overflow the look-back windows' date arithmetic.
EARLIEST_AS_OF = date(1970, 1, 1)
# ``date.fromisoformat`` also reads ``20241231`` and ``2024-W01-1``: the API promises YYYY-MM-DD.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadParameter(ValueError):
    """A query or path parameter the API cannot answer for: a 400 naming it."""


class Unavailable(LookupError):
    """A metric that exists but is not public on this site: a 404."""


# The figures for a day are stored by the next recompute: a 503 with Retry-After.
NotStoredYet = rollups.NotStoredYet
# How long a client is told to wait for figures not stored yet (Retry-After, in seconds): the
# recompute runs after every change to the records and nightly, so this is a polite pace to ask
# again at (each try costs three indexed reads), not a promise.
NOT_STORED_RETRY_AFTER = 300


def parse_day(name: str, raw: str | None) -> date | None:
    """``raw`` as a date, None when absent; BadParameter naming ``name`` when malformed."""
    if raw is None or raw == "":
        return None
    try:
        if not _ISO_DATE.match(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a date written YYYY-MM-DD, not {raw!r}.") from None
    if day < EARLIEST_AS_OF:
        raise BadParameter(f"{name} {raw} is too early: the earliest is {EARLIEST_AS_OF.isoformat()}.")
    return day


def public_metric(name: str) -> rollups.Metric:
    """The public metric called ``name``; BadParameter if there is none, Unavailable if not public here."""
    metric = rollups.METRICS.get(name)
    if metric is None:
        raise BadParameter(f"Unknown metric {name!r}: use one of {', '.join(public_metric_names())}.")
    if metric.funding and not settings.OPSITE_PUBLIC_FUNDING:
        raise Unavailable(f"The metric {name!r} is unknown or unavailable on this site.")
    return metric


def public_metric_names() -> list[str]:
    return [
        name
        for name, metric in rollups.METRICS.items()
        if settings.OPSITE_PUBLIC_FUNDING or not metric.funding
    ]


def _etag(version: str) -> str:
    return f'"{version}"'


@dataclass(frozen=True)
class _Body:
    version: str
    content: bytes
    # The versions of the stored rollups it was rendered from, for an answer derived from them.
    sources: tuple[str | None, ...] = ()


# The rendered answers of the published rollups (the latest KPI block, each whole series, each
# badge), by name, in this process. A request reads only the row's version from the store and
# reuses the bytes while it holds: the same answer, without reading, decoding, reordering and
# encoding the JSON again. A few dozen entries at most, replaced when their rollup changes.
_BODIES: dict[str, _Body] = {}
# The answers derived from stored rollups per request (a series' slice, another day's KPIs), by
# what was asked: reused while the rollups they came from keep their versions. As many as
# visitors ask for, so the least recently used go past MAX_DERIVED.
_DERIVED: OrderedDict[str, _Body] = OrderedDict()
MAX_DERIVED = 256
_RENDERER = JSONRenderer()


@receiver(setting_changed)
def _forget_bodies(**kwargs: Any) -> None:
    # An answer may depend on a setting (the currency a badge names): a test changing one sees it.
    _BODIES.clear()
    _DERIVED.clear()
    _VERSIONS.clear()


def stored_version(key: str) -> str | None:
    """The version of the stored rollup ``key``, or None: one indexed read of 64 bytes.

    Plain SQL: building the ORM query costs more than running it.
    """
    quote = connection.ops.quote_name
    sql = f"SELECT {quote('version')} FROM {quote(Rollup._meta.db_table)} WHERE {quote('key')} = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    return row[0] if row else None


# How long a worker trusts the version it last read of a published rollup, in seconds. Reading
# it is half of what a public answer costs a worker (the throttle is the other half); rollups
# change once a night or after an edit, and a widget's answer is cached for five minutes anyway.
# So a recompute reaches each worker's answers within a second, always as a whole: a version
# with its own body, never one with another's. 0 reads the store on every request.
VERSION_TTL = 1.0
_clock = time.monotonic
_VERSIONS: dict[str, tuple[str | None, float]] = {}


def current_version(key: str) -> str | None:
    """The version of rollup ``key``, read from the store at most once per ``VERSION_TTL``."""
    now = _clock()
    seen = _VERSIONS.get(key)
    if seen is not None and now - seen[1] < VERSION_TTL:
        return seen[0]
    version = stored_version(key)
    _VERSIONS[key] = (version, now)
    return version


def current_versions(keys: tuple[str, ...]) -> tuple[str | None, ...]:
    """:func:`current_version` of each of ``keys``; those not trusted any more read in one query."""
    now = _clock()
    stale = [key for key in keys if key not in _VERSIONS or now - _VERSIONS[key][1] >= VERSION_TTL]
    if stale:
        found = dict(Rollup.objects.filter(key__in=stale).values_list("key", "version"))
        for key in stale:
            _VERSIONS[key] = (found.get(key), now)
    return tuple(_VERSIONS[key][0] for key in keys)


def _saw_version(key: str, version: str) -> None:
    # A full read found this version: trust it from now on, not the older one just remembered.
    _VERSIONS[key] = (version, _clock())


def _not_modified(request: HttpRequest | Request, etag: str) -> bool:
    """RFC 9110's weak comparison of ``If-None-Match`` with the current ETag."""
    # From META: request.headers would build a mapping of every header on each request.
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    tags = parse_etags(header)
    return tags == ["*"] or any(tag.removeprefix("W/") == etag for tag in tags)


# --- views --------------------------------------------------------------------------------------


class JsonOnly(BaseContentNegotiation):
    """The public API answers JSON, whatever the Accept header says: nothing to weigh."""

    def select_parser(self, request: Request, parsers: list) -> None:
        return None

    def select_renderer(self, request: Request, renderers: list, format_suffix: str | None = None):
        return renderers[0], renderers[0].media_type


class PublicView(APIView):
    """Shared by the public views: anonymous, read-only, throttled, cacheable.

    Lean on purpose (no authentication, parsers or content negotiation): these are the busiest
    views of the site, and each such step costs every widget on every visitor's page.
    """

    # No authentication at all: nobody is treated differently, and a stale token or cookie sent
    # by a browser never turns a public figure into a 401.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes: list = []
    content_negotiation_class = JsonOnly
    http_method_names = ["get", "head", "options"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """A GET is answered straight from the Django request; the rest goes through DRF.

        DRF's request wrapping, negotiation and finalizing cost more than the whole answer does
        (one indexed read, bytes reused), on the site's busiest views. The fast path applies the
        same throttle and gives the same answer; a refusal, an error, HEAD and OPTIONS take
        DRF's full path, which renders them as for any DRF view.
        """
        if request.method == "GET":
            # Counted once, here: the full path, if taken below, refuses with these waits rather
            # than counting again (a client over the rate sends most of its requests refused).
            waits = [
                throttle.wait()
                for throttle in self.get_throttles()
                if not throttle.allow_request(request, self)
            ]
            request._opsite_throttle_waits = waits  # type: ignore[attr-defined]
            if not waits:
                try:
                    return self.answer(request, request.GET, **kwargs)
                except (BadParameter, Unavailable, NotStoredYet) as refusal:
                    # Rendered by the full path, which raises it again rather than answering again.
                    request._opsite_refusal = refusal  # type: ignore[attr-defined]
        return super().dispatch(request, *args, **kwargs)

    def check_throttles(self, request: Request) -> None:
        waits = getattr(request._request, "_opsite_throttle_waits", None)
        if waits is None:
            super().check_throttles(request)
        elif waits:
            self.throttled(request, max(waits))

    def get(self, request: Request, **kwargs: Any) -> HttpResponse:
        refusal = getattr(request._request, "_opsite_refusal", None)
        if refusal is not None:
            raise refusal
        return self.answer(request, request.query_params, **kwargs)

    def answer(self, request: HttpRequest | Request, query: QueryDict, **kwargs: Any) -> HttpResponse:
        """The answer to a GET with the query parameters ``query``; BadParameter, Unavailable or
        NotStoredYet."""
        raise NotImplementedError

    def perform_authentication(self, request: Request) -> None:
        # With no authentication classes the user is always anonymous: do not build one for every
        # request (DRF then makes request.user anonymous if anything asks).
        return None

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, BadParameter):
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, Unavailable):
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        if isinstance(exc, NotStoredYet):
            detail = f"{exc} They are stored by the next recompute; ask again later."
            response = Response({"detail": detail}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
            response["Retry-After"] = str(NOT_STORED_RETRY_AFTER)
            # Not for shared caches: the figures come as soon as they are stored.
            response["Cache-Control"] = "no-store"
            return response
        return super().handle_exception(exc)

    def serve(
        self,
        request: HttpRequest | Request,
        *,
        key: str | None,
        read: Callable[[], rollups.StoredRollup],
        render: Callable[[Any], Any],
        cache_as: str | None = None,
        sources: tuple[str, ...] = (),
    ) -> HttpResponse:
        """The answer rendered from rollup ``key``: 304 when the client holds its version, else 200.

        A published rollup (``key``) is checked by its version alone; its rendered answer, kept
        as ``cache_as``, is reused while the version holds. An answer derived per request (a
        slice of a series, another day's KPIs: no ``key``) is kept as ``cache_as`` too, while the
        rollups it is read from (``sources``) keep their versions. Otherwise (no such row yet)
        ``read()`` gives it.
        """
        version = current_version(key) if key else None
        if version is not None and _not_modified(request, _etag(version)):
            return self._cacheable(HttpResponseNotModified(), version)
        if sources:
            return self._derived(request, sources=sources, read=read, render=render, cache_as=cache_as)
        body = _BODIES.get(cache_as) if cache_as else None
        if body is None or version is None or body.version != version:
            stored = (rollups.get_rollup(key) if version is not None else None) or read()
            if key and stored.key == key:
                _saw_version(key, stored.version)
            if _not_modified(request, _etag(stored.version)):
                return self._cacheable(HttpResponseNotModified(), stored.version)
            body = _Body(stored.version, _RENDERER.render(render(stored.value)))
            if cache_as and version is not None:
                _BODIES[cache_as] = body
        return self._cacheable(HttpResponse(body.content, content_type="application/json"), body.version)

    def _derived(
        self,
        request: HttpRequest | Request,
        *,
        sources: tuple[str, ...],
        read: Callable[[], rollups.StoredRollup],
        render: Callable[[Any], Any],
        cache_as: str,
    ) -> HttpResponse:
        seen = current_versions(sources)
        body = _DERIVED.get(cache_as)
        if body is not None and body.sources == seen:
            _DERIVED.move_to_end(cache_as)
        else:
            stored = read()
            body = _Body(stored.version, _RENDERER.render(render(stored.value)), seen)
            _DERIVED[cache_as] = body
            while len(_DERIVED) > MAX_DERIVED:
                _DERIVED.popitem(last=False)
        if _not_modified(request, _etag(body.version)):
            return self._cacheable(HttpResponseNotModified(), body.version)
        return self._cacheable(HttpResponse(body.content, content_type="application/json"), body.version)

    @staticmethod
    def _cacheable(response: HttpResponse, version: str) -> HttpResponse:
        response["ETag"] = _etag(version)
        response["Cache-Control"] = CACHE_CONTROL
        return response


class PublicKpisView(PublicView):
    """The headline figures: communities, hubs, users, upstream contributions, staff."""

    @extend_schema(
        operation_id="public_kpis_retrieve",
        tags=["public"],
        summary="The KPI block, as of the latest recompute or a given day",
        parameters=[
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATE,
                OpenApiParameter.QUERY,
                description=(
                    "YYYY-MM-DD, not in the future; the latest computed day when left out. The "
                    "figures are stored for every month-end and the latest computed day: another day "
                    "is answered with those of the latest of them before it, which the answer's "
                    "as_of names (zeros before the figures begin)."
                ),
            ),
            IF_NONE_MATCH,
        ],
        responses={200: KpisSerializer, **PUBLIC_ERRORS, 503: NOT_STORED},
        examples=examples.KPIS,
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)

    def answer(self, request: HttpRequest | Request, query: QueryDict) -> HttpResponse:
        as_of = parse_day("as_of", query.get("as_of"))
        if as_of is None:
            return self.serve(
                request, key=rollups.KPIS_LATEST, read=rollups.kpis, render=in_order, cache_as="kpis"
            )
        if as_of > rollups.today():
            # A day in the future: the message names it and the latest possible day.
            raise BadParameter(
                f"as_of {as_of.isoformat()} is in the future; the latest possible is {rollups.today().isoformat()}."
            )
        # Another day: the stored block of that day, or of the latest stored day before it (one
        # read by key); never computed here, whoever asks and however often. Kept while the
        # blocks it may come from keep their versions.
        return self.serve(
            request,
            key=None,
            read=lambda: rollups.kpis(as_of),
            render=in_order,
            cache_as=f"kpis:{as_of.isoformat()}",
            sources=_kpis_sources(as_of),
        )


def _kpis_sources(as_of: date) -> tuple[str, ...]:
    """The keys ``rollups.kpis(as_of)`` answers from (the month-ends' state tells a day before)."""
    keys = (rollups.kpis_key(as_of), rollups.kpis_key(last_month_end(as_of)), rollups.KPIS_LATEST)
    return (*keys, STATE_MONTH_ENDS)


class PublicSeriesView(PublicView):
    """A metric over time, one point per month, quarter or year."""

    @extend_schema(
        operation_id="public_series_retrieve",
        tags=["public"],
        summary="A public metric per month, quarter or year",
        parameters=[
            OpenApiParameter(
                "metric",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=list(rollups.METRICS),
                description="One of the metrics this site publishes.",
            ),
            OpenApiParameter(
                "interval",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=list(INTERVALS),
                description=f"The length of a period; {DEFAULT_INTERVAL} when left out.",
            ),
            OpenApiParameter(
                "start",
                OpenApiTypes.DATE,
                OpenApiParameter.QUERY,
                description="YYYY-MM-DD: only the periods ending on or after this day.",
            ),
            OpenApiParameter(
                "end",
                OpenApiTypes.DATE,
                OpenApiParameter.QUERY,
                description="YYYY-MM-DD: only the periods starting on or before this day.",
            ),
            IF_NONE_MATCH,
        ],
        responses={
            200: SeriesSerializer,
            404: OpenApiResponse(PublicErrorSerializer, description="A metric not published on this site."),
            **PUBLIC_ERRORS,
        },
        examples=examples.SERIES,
    )
    def get(self, request: Request, metric: str) -> HttpResponse:
        return super().get(request, metric=metric)

    def answer(self, request: HttpRequest | Request, query: QueryDict, metric: str) -> HttpResponse:
        public_metric(metric)
        interval = query.get("interval") or DEFAULT_INTERVAL
        if interval not in INTERVALS:
            raise BadParameter(f"Unknown interval {interval!r}: use one of {', '.join(INTERVALS)}.")
        start = parse_day("start", query.get("start"))
        end = parse_day("end", query.get("end"))
        if start and end and end < start:
            raise BadParameter(f"end {end.isoformat()} is before start {start.isoformat()}.")
        if start or end:
            # A slice: its own version, computed from the stored series and kept while it holds.
            return self.serve(
                request,
                key=None,
                read=lambda: rollups.series(metric, interval, start, end),
                render=in_order,
                cache_as=f"slice:{metric}:{interval}:{start}:{end}",
                sources=(rollups.series_key(metric, interval),),
            )
        return self.serve(
            request,
            key=rollups.series_key(metric, interval),
            read=lambda: rollups.series(metric, interval),
            render=in_order,
            cache_as=f"series:{metric}:{interval}",
        )


# How each badge reads its figure from the KPI block.
_KPI_BADGES = {
    "active-communities": ("communities", "active"),
    "active-hubs": ("hubs", "active"),
    "monthly-active-users": ("users", "monthly_active"),
    "weekly-active-users": ("users", "weekly_active"),
    "merged-pull-requests": ("contributions", "merged_pull_requests"),
    "headcount": ("staff", "headcount"),
}
BADGE_COLOR = "blue"
NO_DATA_COLOR = "lightgrey"


def _count(value: int) -> str:
    return f"{value:,}"


def _amount(value: str) -> str:
    """``"1234567.00"`` as ``1,234,567 USD``: whole units read better on a badge."""
    whole = Decimal(value).quantize(Decimal(1))
    return f"{whole:,} {settings.OPSITE_CURRENCY}"


def badge_source(metric: rollups.Metric) -> tuple[str, Callable[[], rollups.StoredRollup]]:
    """The rollup a badge reads: the latest KPI block, or, for funding and contracts, which the
    block does not hold, their yearly series."""
    if metric.name in _KPI_BADGES:
        return rollups.KPIS_LATEST, rollups.kpis
    return rollups.series_key(metric.name, "year"), lambda: rollups.series(metric.name, "year")


def badge_for(metric: rollups.Metric, value: dict[str, Any]) -> dict[str, Any]:
    """The badge of ``metric`` from the value of its rollup (see :func:`badge_source`): a KPI
    figure, or the current year of a yearly series."""
    if metric.name in _KPI_BADGES:
        section, key = _KPI_BADGES[metric.name]
        return _badge(metric.label, _count(value[section][key]), BADGE_COLOR)
    points = value["points"]
    if not points:
        return _badge(metric.label, "no data", NO_DATA_COLOR)
    latest = points[-1]
    label = f"{metric.label} {latest['period']}"
    message = _amount(latest["value"]) if metric.name == "funding" else _count(latest["value"])
    return _badge(label, message, BADGE_COLOR)


def _badge(label: str, message: str, color: str) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "label": label,
        "message": message,
        "color": color,
        "cacheSeconds": CACHE_SECONDS,
    }


class PublicBadgeView(PublicView):
    """A figure as a shields.io endpoint badge (https://shields.io/badges/endpoint-badge)."""

    @extend_schema(
        operation_id="public_badge_retrieve",
        tags=["public"],
        summary="A public figure in the shields.io endpoint-badge schema",
        parameters=[
            OpenApiParameter(
                "metric",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=list(rollups.METRICS),
                description="One of the metrics this site publishes.",
            ),
            IF_NONE_MATCH,
        ],
        responses={
            200: BadgeSerializer,
            404: OpenApiResponse(PublicErrorSerializer, description="A metric not published on this site."),
            **PUBLIC_ERRORS,
        },
        examples=examples.BADGES,
    )
    def get(self, request: Request, metric: str) -> HttpResponse:
        return super().get(request, metric=metric)

    def answer(self, request: HttpRequest | Request, query: QueryDict, metric: str) -> HttpResponse:
        found = public_metric(metric)
        key, read = badge_source(found)
        return self.serve(
            request,
            key=key,
            read=read,
            render=lambda value: badge_for(found, value),
            cache_as=f"badge:{metric}",
        )
