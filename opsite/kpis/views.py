"""The public website kit's pages: ``/kpis/``, the widget script and the iframe card.

All three are anonymous and the same for every visitor, so they are cached like the public API:
``Cache-Control: public, max-age=300`` and a strong ``ETag`` (a hash of the answer; a matching
``If-None-Match`` gets 304). Each worker keeps what it rendered while the figures' versions hold.

Framing: the card is made to sit in an iframe on any site, so it alone answers with
``frame-ancestors *`` and no ``X-Frame-Options``; every other answer, ``/kpis/`` included, keeps
the site's ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``. The script is loaded by a
``<script>`` element, which framing rules do not concern. The card and the script may be used
by pages of any origin (``Cross-Origin-Resource-Policy: cross-origin``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from csp.decorators import csp_replace
from django.contrib.staticfiles import finders
from django.core.exceptions import BadRequest
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from . import page, rollups
from .api import public
from .rollups import METRICS

CACHE_CONTROL = public.CACHE_CONTROL
THEMES = ("light", "dark")
SIZES = ("small", "medium", "large")
WIDGET_SCRIPT = "widgets/kpis.js"


@dataclass(frozen=True)
class Rendered:
    """An answer kept by this worker: what it was rendered from, its bytes, its ETag."""

    version: str
    content: bytes
    etag: str


def rendered(version: str, content: bytes) -> Rendered:
    return Rendered(version, content, f'"{hashlib.sha256(content).hexdigest()[:32]}"')


# By what the answer depends on (the site's address, the card's options): a few entries at most.
_RENDERED: dict[tuple[Any, ...], Rendered] = {}
_MAX_KEPT = 64


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    # An answer may depend on a setting (the data files' flag, the published metrics).
    _RENDERED.clear()
    page.forget()


def _keep(key: tuple[Any, ...], answer: Rendered) -> Rendered:
    if key in _RENDERED or len(_RENDERED) < _MAX_KEPT:
        _RENDERED[key] = answer
    return answer


def _answer(request: HttpRequest, answer: Rendered, content_type: str) -> HttpResponse:
    if public._not_modified(request, answer.etag):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(answer.content, content_type=content_type)
    response["ETag"] = answer.etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _base(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


@require_safe
def kpis_page(request: HttpRequest) -> HttpResponse:
    """The public figures, charts, stories and embed snippets: no sign-in, no cookie, cached."""
    base = _base(request)
    version = page.versions()
    key = ("page", base)
    kept = _RENDERED.get(key)
    if kept is None or kept.version != version:
        # Rendered without the request: nothing on the page may depend on who asks.
        html = render_to_string("kpis/page.html", page.page_context(base))
        kept = _keep(key, rendered(version, html.encode()))
    return _answer(request, kept, "text/html; charset=utf-8")


_SCRIPT: dict[str, Rendered] = {}


def _script() -> Rendered:
    kept = _SCRIPT.get(WIDGET_SCRIPT)
    if kept is None:
        path = finders.find(WIDGET_SCRIPT)
        if path is None:
            raise Http404("The widget script is missing.")
        with open(path, "rb") as file:
            kept = _SCRIPT[WIDGET_SCRIPT] = rendered("", file.read())
    return kept


@require_safe
def widget_script(request: HttpRequest) -> HttpResponse:
    """``/widgets/kpis.js``: fills ``[data-opsite-kpi]`` elements of any page from the public API."""
    response = _answer(request, _script(), "text/javascript; charset=utf-8")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _card_context(metric: str, theme: str, size: str) -> dict[str, Any]:
    found = METRICS[metric]
    key, read = public.badge_source(found)
    stored = rollups.get_rollup(key) or read()
    badge = public.badge_for(found, stored.value)
    as_of = stored.value.get("as_of") if isinstance(stored.value, dict) else None
    return {
        "metric": metric,
        "label": badge["label"],
        "figure": badge["message"],
        "as_of": as_of,
        "theme": theme,
        "size": size,
    }


@require_safe
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
def widget_card(request: HttpRequest, metric: str) -> HttpResponse:
    """``/widgets/kpi/<metric>/``: one figure as a card for an iframe (``?theme=``, ``?size=``)."""
    try:
        public.public_metric(metric)
    except (public.BadParameter, public.Unavailable):
        raise Http404("No such metric on this site.") from None
    theme = request.GET.get("theme") or THEMES[0]
    size = request.GET.get("size") or SIZES[1]
    if theme not in THEMES or size not in SIZES:
        # Raised, not returned: the site's error page answers, with the site's framing headers.
        raise BadRequest(f"theme is one of {', '.join(THEMES)}; size is one of {', '.join(SIZES)}.")
    source, _read = public.badge_source(METRICS[metric])
    version = public.current_version(source) or ""
    key = ("card", metric, theme, size, _base(request))
    kept = _RENDERED.get(key)
    if kept is None or kept.version != version or not version:
        html = render_to_string(
            "widgets/card.html", {**_card_context(metric, theme, size), "page": _base(request)}
        )
        kept = _keep(key, rendered(version, html.encode()))
    response = _answer(request, kept, "text/html; charset=utf-8")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
