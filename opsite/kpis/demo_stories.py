"""The demo organization's impact stories: a dozen, across the four categories, some featured,
some drafts (a draft is never public, which the demo shows too).

:func:`load_demo_stories` writes them through the services, like every other demo row, and is
idempotent: a story is created only when its slug is missing. Stories about a community name it
in their title; which community is chosen from the ones given, in slug order, so a load is the
same on every machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from communities.models import Community

from .choices import StoryCategory
from .models import ImpactStory
from .services import impact_story_create

BLOG = "https://example.org/blog"

# (slug, title, published_on, category, tags, summary, featured, published, community: the index
# among the communities given, or None for a story of the whole organization)
_STORIES: tuple[tuple[Any, ...], ...] = (
    (
        "hubs-start-in-under-a-minute",
        "Hubs now start in under a minute",
        date(2023, 3, 14),
        StoryCategory.SERVICE_ENHANCEMENTS,
        ["performance", "kubernetes"],
        "Pre-pulled images and a smarter node pool mean a student's server is ready before the "
        "lecture starts, on every hub we run.",
        True,
        True,
        None,
    ),
    (
        "shared-gpus-for-teaching",
        "Shared GPU nodes for teaching hubs",
        date(2024, 2, 6),
        StoryCategory.SERVICE_ENHANCEMENTS,
        ["gpu", "education"],
        "Courses in machine learning can now ask for a GPU for the length of a lab session, "
        "without paying for one all term.",
        False,
        True,
        None,
    ),
    (
        "cloud-cost-reports",
        "Monthly cloud cost reports for every community",
        date(2024, 11, 20),
        StoryCategory.SERVICE_ENHANCEMENTS,
        ["cloud-costs", "transparency"],
        "Each community will see what its hubs cost to run, month by month, next to how many "
        "people used them.",
        False,
        False,
        None,
    ),
    (
        "first-data-science-course",
        "{community} teaches its first data science course on a shared hub",
        date(2022, 9, 12),
        StoryCategory.COMMUNITY_IMPACT,
        ["education", "data-science"],
        "Four hundred students opened the same notebooks in their browsers on the first day of "
        "term, with nothing to install.",
        True,
        True,
        0,
    ),
    (
        "climate-data-for-researchers",
        "{community} brings climate data to its researchers",
        date(2023, 6, 5),
        StoryCategory.COMMUNITY_IMPACT,
        ["climate", "research"],
        "Terabytes of reanalysis data, read in place from cloud storage: a week of downloads "
        "became a minute of setup.",
        False,
        True,
        3,
    ),
    (
        "coursework-in-the-cloud",
        "{community} moves its coursework to the cloud",
        date(2024, 4, 22),
        StoryCategory.COMMUNITY_IMPACT,
        ["education", "latin-america"],
        "Computer labs closed for the summer no longer stop a course: students work from home, "
        "on any laptop, in Portuguese and Spanish.",
        False,
        True,
        7,
    ),
    (
        "summer-workshop",
        "{community} runs a summer workshop for 200 students",
        date(2024, 12, 9),
        StoryCategory.COMMUNITY_IMPACT,
        ["workshops", "education"],
        "A week of hands-on sessions on one hub, set up in a day and taken down after.",
        False,
        False,
        5,
    ),
    (
        "jupyterhub-5",
        "JupyterHub 5 ships with features our team built",
        date(2024, 6, 18),
        StoryCategory.UPSTREAM_IMPACT,
        ["jupyterhub", "open-source"],
        "Role-based sharing and faster spawner restarts, written for our hubs, are now in every "
        "JupyterHub: upstream first, for everyone.",
        True,
        True,
        None,
    ),
    (
        "faster-image-builds",
        "Faster image builds in repo2docker",
        date(2023, 10, 30),
        StoryCategory.UPSTREAM_IMPACT,
        ["repo2docker", "open-source"],
        "Layer caching we contributed cut the time to rebuild a hub's environment from twenty "
        "minutes to three.",
        False,
        True,
        None,
    ),
    (
        "jupyter-book-2",
        "Our contributions to Jupyter Book 2",
        date(2024, 12, 2),
        StoryCategory.UPSTREAM_IMPACT,
        ["jupyter-book", "open-source"],
        "What we fixed and built for the next Jupyter Book, and why course websites need it.",
        False,
        False,
        None,
    ),
    (
        "public-kpis",
        "Our figures, live and public",
        date(2024, 9, 3),
        StoryCategory.ORGANIZATION,
        ["transparency", "impact"],
        "How many communities and people we serve, and what we give back upstream, now come "
        "straight from our records, updated every night.",
        False,
        True,
        None,
    ),
    (
        "regional-network-africa",
        "A regional network of hubs in Africa",
        date(2022, 5, 17),
        StoryCategory.ORGANIZATION,
        ["networks", "africa"],
        "Universities in five countries share one service and one support team, and decide "
        "together what comes next.",
        False,
        True,
        None,
    ),
)


def demo_stories() -> list[dict[str, Any]]:
    """The demo's stories as the create service takes them, ``community`` as an index (or None)."""
    keys = (
        "slug",
        "title",
        "published_on",
        "category",
        "tags",
        "summary",
        "featured",
        "published",
        "community",
    )
    stories = []
    for values in _STORIES:
        story = dict(zip(keys, values, strict=True))
        story["category"] = str(story["category"])
        story["tags"] = list(story["tags"])
        story["url"] = f"{BLOG}/{story['published_on']:%Y}/{story['slug']}/"
        stories.append(story)
    return stories


def load_demo_stories(communities: Iterable[Community] | Mapping[str, Community]) -> int:
    """Create the demo stories that are missing; return how many were created.

    ``communities`` are the demo's communities (rows, or rows by slug): a story about a community
    takes the one at its index in slug order (wrapping around), and names it in its title; with
    no communities, such a story is told of the organization instead.
    """
    rows = list(communities.values()) if isinstance(communities, Mapping) else list(communities)
    rows.sort(key=lambda community: community.slug)
    stories = demo_stories()
    existing = set(
        ImpactStory.objects.filter(slug__in=[s["slug"] for s in stories]).values_list("slug", flat=True)
    )
    created = 0
    for story in stories:
        if story["slug"] in existing:
            continue
        index = story.pop("community")
        community = rows[index % len(rows)] if rows and index is not None else None
        name = community.name if community is not None else "A community"
        story["title"] = story["title"].format(community=name)
        impact_story_create(community=community, **story)
        created += 1
    return created
