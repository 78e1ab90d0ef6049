"""What the ``/kpis/`` page shows: the public figures, the charts' data, the gallery, the snippets.

The page is the same for every visitor (no user, no cookie, no CSRF token), so it is rendered once
and kept in this process with the versions of what it shows: the stored rollups it reads and the
stories (:func:`opsite.kpis.selectors.stories_version`). A request reads those versions (two
queries, at most once per :data:`~opsite.kpis.api.public.VERSION_TTL`) and reuses the page while
they hold, as the public API reuses its answers; a change renders it again (two more queries:
the rollups' values, the published stories). So it costs the same whatever the size of the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.urls import reverse

from . import rollups
from .api import public
from .api.public_kit import public_story
from .choices import StoryCategory
from .histogram import HUBS_BY_USERS
from .models import Rollup
from .selectors import published_stories, stories_version

USERS = rollups.series_key("monthly-active-users", "month")
HUBS = rollups.series_key("active-hubs", "month")
PULL_REQUESTS = rollups.series_key("merged-pull-requests", "quarter")
PAGE_ROLLUPS = (rollups.KPIS_LATEST, USERS, HUBS, PULL_REQUESTS, HUBS_BY_USERS)
GALLERY_SIZE = 9
TABLE_MONTHS = 12
# The metric the iframe and badge snippets show.
SNIPPET_METRIC = "monthly-active-users"
CATEGORY_LABELS = dict(StoryCategory.choices)


def _versions_now() -> str:
    stored = dict(Rollup.objects.filter(key__in=PAGE_ROLLUPS).values_list("key", "version"))
    return json.dumps([stored.get(key) for key in PAGE_ROLLUPS] + [stories_version()])


_SEEN: dict[str, tuple[str, float]] = {}


def versions() -> str:
    """What the page shows, as versions: read from the database at most once per ``VERSION_TTL``."""
    now = public._clock()
    seen = _SEEN.get("page")
    if seen is not None and now - seen[1] < public.VERSION_TTL:
        return seen[0]
    current = _versions_now()
    _SEEN["page"] = (current, now)
    return current


def forget() -> None:
    _SEEN.clear()


# --- the figures ----------------------------------------------------------------------------------


def _stored() -> dict[str, Any]:
    """The values of the page's rollups (one query); before the first recompute ever, computed."""
    values = dict(Rollup.objects.filter(key__in=PAGE_ROLLUPS).values_list("key", "value"))
    if rollups.KPIS_LATEST not in values:
        values[rollups.KPIS_LATEST] = rollups.kpis().value
        for key, (metric, interval) in {
            USERS: ("monthly-active-users", "month"),
            HUBS: ("active-hubs", "month"),
            PULL_REQUESTS: ("merged-pull-requests", "quarter"),
        }.items():
            values[key] = rollups.series(metric, interval).value
        stored = rollups.get_rollup(HUBS_BY_USERS)
        if stored is not None:
            values[HUBS_BY_USERS] = stored.value
    return values


def _month_label(period: str) -> str:
    return date.fromisoformat(f"{period}-01").strftime("%b %Y")


def _line(points: list[dict[str, Any]]) -> dict[str, Any]:
    return {"x": [point["end"] for point in points], "y": [point["value"] for point in points]}


def _pull_requests(points: list[dict[str, Any]]) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """The stacked bars by upstream community, and each community's total, largest first."""
    totals: dict[str, int] = {}
    for point in points:
        for slug, count in point["groups"].items():
            totals[slug] = totals.get(slug, 0) + count
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    chart = {
        "x": [point["period"] for point in points],
        "series": [
            {"name": slug, "y": [point["groups"].get(slug, 0) for point in points]} for slug, _total in ranked
        ],
    }
    return chart, ranked


def _flat(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, inner in value.items():
        path = f"{prefix}{key}"
        if isinstance(inner, dict):
            yield from _flat(inner, f"{path}.")
        else:
            yield path, inner


def _shown(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Snippet:
    """A copy-paste block: its id, a title, what it does, the code to copy."""

    id: str
    title: str
    text: str
    code: str


def snippets(base: str, kpis: dict[str, Any]) -> list[Snippet]:
    """The four ways to use the figures on another site, written for this site's address."""
    users = kpis["users"]["monthly_active"]
    communities = kpis["communities"]["active"]
    card = f"{base}{reverse('widgets:card', args=[SNIPPET_METRIC])}"
    badge_json = f"{base}{reverse('public-api:badge', args=[SNIPPET_METRIC])}"
    badge = f"https://img.shields.io/endpoint?url={quote(badge_json, safe='')}"
    kpis_url = f"{base}{reverse('public-api:kpis')}"
    return [
        Snippet(
            "script",
            "A script tag",
            "Keep your own text in each element: it stays if our site cannot be reached, and is "
            "replaced by the live figure otherwise. One request per page, no cookies.",
            f'<p><span data-opsite-kpi="communities.active">{communities:,}</span> communities and\n'
            f'<span data-opsite-kpi="users.monthly_active">{users:,}</span> monthly active users.</p>\n'
            f'<script src="{base}{reverse("widgets:script")}" async></script>',
        ),
        Snippet(
            "iframe",
            "An iframe card",
            "A ready-made card: theme=light or dark, size=small, medium or large "
            "(200×100, 300×150 or 400×200 pixels).",
            f'<iframe src="{card}?theme=light&size=medium" title="Monthly active users"\n'
            '        width="300" height="150" style="border:0" loading="lazy"></iframe>',
        ),
        Snippet(
            "badge",
            "A shields.io badge",
            "For a README or any page that shows images: shields.io reads our badge endpoint.",
            f"![monthly active users]({badge})",
        ),
        Snippet(
            "fetch",
            "A fetch call",
            "For your own design: the whole answer is below, and every figure has a key.",
            f'fetch("{kpis_url}")\n'
            "  .then((response) => response.json())\n"
            "  .then((kpis) => {\n"
            '    document.querySelector("#users").textContent =\n'
            "      kpis.users.monthly_active.toLocaleString();\n"
            "  });",
        ),
    ]


def page_context(base: str) -> dict[str, Any]:
    """Everything the page template shows, for a site at ``base`` (``https://ops.example.org``)."""
    values = _stored()
    kpis = values[rollups.KPIS_LATEST]
    users = values.get(USERS, {}).get("points", [])
    hubs = values.get(HUBS, {}).get("points", [])
    pull_requests, by_community = _pull_requests(values.get(PULL_REQUESTS, {}).get("points", []))
    histogram = values.get(HUBS_BY_USERS, {}).get("bins", [])
    stories = [
        {
            **public_story(story),
            "category_label": CATEGORY_LABELS.get(story.category, story.category),
            "published": story.published_on,
        }
        for story in published_stories()[:GALLERY_SIZE]
    ]
    badge = public.badge_for(rollups.METRICS[SNIPPET_METRIC], kpis)
    recent = list(zip(users, hubs, strict=False))[-TABLE_MONTHS:]
    return {
        "kpis": kpis,
        "as_of": date.fromisoformat(kpis["as_of"]),
        "since": date.fromisoformat(kpis["contributions"]["since"]),
        "months": [
            {"label": _month_label(user["period"]), "users": user["value"], "hubs": hub["value"]}
            for user, hub in reversed(recent)
        ],
        "by_community": by_community,
        "pull_request_total": sum(total for _slug, total in by_community),
        "histogram": histogram,
        "charts": {
            "users": _line(users),
            "hubs": _line(hubs),
            "pull_requests": pull_requests,
            "histogram": {"labels": [b["label"] for b in histogram], "hubs": [b["hubs"] for b in histogram]},
        },
        "stories": stories,
        "snippets": snippets(base, kpis),
        "keys": [(key, _shown(value)) for key, value in _flat(kpis)],
        "kpis_json": json.dumps(kpis, indent=2),
        "badge": badge,
        "card_url": reverse("widgets:card", args=[SNIPPET_METRIC]),
        "metrics": public.public_metric_names(),
        "hub_data": settings.OPSITE_PUBLIC_HUB_DATA,
    }
