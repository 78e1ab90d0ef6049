"""Examples of the public API's answers for its OpenAPI schema, taken from the demo organization.

The figures are the demo's as of 2024-12-31 (its history up to that day is fixed: a demo loaded
on any day answers the same for that day), so a reader sees real answers rather than "string"
and 0. ``opsite/tests/test_public_kit.py`` checks each against what the demo answers.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample

from ..demo_stories import demo_stories

KPIS_2024 = {
    "as_of": "2024-12-31",
    "communities": {"active": 105, "historically_marginalized": 37, "countries": 19},
    "hubs": {"active": 107},
    "users": {"monthly_active": 9103, "weekly_active": 2604, "daily_active": 415},
    "contributions": {"merged_pull_requests": 3382, "repositories": 626, "since": "2021-01-01"},
    "staff": {"headcount": 12, "fte": "11.50"},
}
PULL_REQUESTS_2024 = {
    "metric": "merged-pull-requests",
    "interval": "year",
    "points": [
        {
            "period": "2024",
            "start": "2024-01-01",
            "end": "2024-12-31",
            "value": 1047,
            "groups": {
                "cryptnono": 20,
                "dask": 125,
                "jupyter": 284,
                "jupyter-book": 127,
                "jupyterhub": 276,
                "pangeo": 119,
                "pydata": 49,
                "rocker": 47,
            },
            "repositories": 365,
        }
    ],
}
MONTHLY_USERS_2024_H2 = {
    "metric": "monthly-active-users",
    "interval": "quarter",
    "points": [
        {"period": "2024-Q3", "start": "2024-07-01", "end": "2024-09-30", "value": 9507, "groups": {}},
        {"period": "2024-Q4", "start": "2024-10-01", "end": "2024-12-31", "value": 9103, "groups": {}},
    ],
}
# The first rows of the demo's file for 2024-12-31.
MAUS_BY_HUB_CSV = (
    "date,hub,users,cluster\r\n"
    "2024-12-31,agronomy-initiative-poland,50,gcp-shared-eu\r\n"
    "2024-12-31,air-quality-collaboration,44,aws-air-quality-collaboration\r\n"
    "2024-12-31,air-quality-consortium,40,aws-shared-us\r\n"
)
# The demo records no cluster-wide figures: these rows show the shape only.
MAUS_UNIQUE_BY_CLUSTER_CSV = (
    "date,cluster,unique_users\r\n2024-12-31,aws-shared-us,1840\r\n2024-12-31,gcp-shared-eu,1215\r\n"
)


def _public(story: dict[str, Any]) -> dict[str, Any]:
    return {
        key: story[key] if key != "published_on" else story[key].isoformat()
        for key in (
            "slug",
            "title",
            "published_on",
            "community",
            "category",
            "tags",
            "summary",
            "url",
            "featured",
        )
    }


def demo_upstream_stories() -> dict[str, Any]:
    """The demo's answer to ``/api/v1/public/stories/?category=upstream_impact``."""
    stories = [
        _public(story)
        for story in demo_stories()
        if story["published"] and story["category"] == "upstream_impact"
    ]
    # Featured first, then newest, as the API orders them (two stable sorts).
    stories.sort(key=lambda story: story["published_on"], reverse=True)
    stories.sort(key=lambda story: not story["featured"])
    return {"count": len(stories), "next": None, "previous": None, "results": stories}


# The badge of monthly-active-users as KPIS_2024 makes it.
BADGE_2024 = {
    "schemaVersion": 1,
    "label": "monthly active users",
    "message": "9,103",
    "color": "blue",
    "cacheSeconds": 300,
}

KPIS = [OpenApiExample("The demo organization on 2024-12-31", value=KPIS_2024, response_only=True)]
SERIES = [
    OpenApiExample(
        "Merged pull requests in 2024 (interval=year&start=2024-01-01&end=2024-12-31)",
        value=PULL_REQUESTS_2024,
        response_only=True,
    ),
    OpenApiExample(
        "Monthly active users, second half of 2024 (interval=quarter&start=2024-07-01&end=2024-12-31)",
        value=MONTHLY_USERS_2024_H2,
        response_only=True,
    ),
]
BADGES = [
    OpenApiExample(
        "monthly-active-users, as it read on 2024-12-31",
        value=BADGE_2024,
        response_only=True,
    )
]
STORIES = [
    OpenApiExample("category=upstream_impact", value=demo_upstream_stories(), response_only=True),
]


def csv_example(filename: str, text: str) -> OpenApiExample:
    return OpenApiExample(filename, value=text, response_only=True, media_type="text/csv")
