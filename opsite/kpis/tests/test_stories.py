"""Impact stories: their rules at every door, import/export, the admin, the records API, the roles,
Markdown for a static site, and the demo's stories (docs/adding-a-model.md, step 13)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from communities.models import Community
from communities.tests.factories import CommunityFactory
from opsite.core import testing
from opsite.core.resources import import_file
from opsite.core.testing import admin_url, exported_file, form_data
from opsite.kpis.choices import StoryCategory
from opsite.kpis.demo_stories import demo_stories, load_demo_stories
from opsite.kpis.markdown import story_markdown
from opsite.kpis.models import ImpactStory
from opsite.kpis.resources import ImpactStoryResource
from opsite.kpis.services import impact_story_create, impact_story_update

from .factories import ImpactStoryFactory

pytestmark = pytest.mark.django_db

NEW = {
    "slug": "shared-hub",
    "title": "One shared hub for a whole faculty",
    "published_on": "2024-05-02",
    "category": "community_impact",
    "summary": "Every course of the faculty runs on one hub.",
    "url": "https://example.org/blog/shared-hub/",
}


def front_matter(document: str) -> dict[str, Any]:
    assert document.startswith("---\n")
    head, _, _body = document[4:].partition("\n---\n")
    return yaml.safe_load(head)


# --- rules ----------------------------------------------------------------------------------------


def test_tags_are_kept_trimmed_in_lower_case_with_hyphens_for_spaces():
    story = impact_story_create(
        **{**NEW, "published_on": dt.date(2024, 5, 2)}, tags=[" Cloud Costs", "EDUCATION"]
    )

    assert ImpactStory.objects.get(pk=story.pk).tags == ["cloud-costs", "education"]


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["education"], "Give 2 to 5 tags, not 1."),
        (["a", "b", "c", "d", "e", "f"], "Give 2 to 5 tags, not 6."),
        (["education", "Education"], "Each tag once: education is listed more than once."),
        (["education", "cloud/costs"], "'cloud/costs' is not a tag"),
        ("education, cloud", "Enter a list of 2 to 5 tags, not str."),
    ],
)
def test_a_story_has_two_to_five_distinct_tags(tags, message):
    with pytest.raises(ValidationError) as refused:
        impact_story_create(**{**NEW, "published_on": dt.date(2024, 5, 2)}, tags=tags)

    assert any(message in text for text in refused.value.message_dict["tags"])
    assert not ImpactStory.objects.exists()


def test_a_published_story_needs_its_address_and_a_draft_does_not():
    fields = {**NEW, "published_on": dt.date(2024, 5, 2), "tags": ["a", "b"], "url": ""}
    with pytest.raises(ValidationError) as refused:
        impact_story_create(**fields, published=True)

    assert refused.value.message_dict["url"] == [
        "A published story links to where it is read: give its address."
    ]
    assert impact_story_create(**fields, published=False).url == ""


def test_the_database_refuses_an_unknown_category_and_a_published_story_without_address():
    story = ImpactStoryFactory()
    for change in ({"category": "gossip"}, {"url": "", "published": True}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ImpactStory.objects.filter(pk=story.pk).update(**change)


def test_a_community_is_named_by_its_slug_and_an_unknown_one_is_refused_on_its_field():
    community = CommunityFactory(slug="uni-nairobi")
    fields = {**NEW, "published_on": dt.date(2024, 5, 2), "tags": ["a", "b"]}

    assert impact_story_create(**fields, community="uni-nairobi").community == community
    with pytest.raises(ValidationError) as refused:
        impact_story_update(impact_story=ImpactStory.objects.get(), data={"community": "nope"})
    assert refused.value.message_dict == {"community": ["No community with slug 'nope'."]}


def test_a_story_reads_as_its_title():
    assert str(ImpactStoryFactory(title="Hubs start faster")) == "Hubs start faster"


# --- one rule, every door -------------------------------------------------------------------------

ONE_TAG = "Give 2 to 5 tags, not 1."


def test_every_door_refuses_a_single_tag_on_the_tags_field_with_the_same_message(super_client):
    api = super_client.post(
        reverse("kpis-api:impact-story-list"), {**NEW, "tags": ["education"]}, content_type="application/json"
    )
    admin = super_client.post(admin_url(ImpactStory, "add"), {**NEW, "tags": "education", "published": "on"})
    imported = testing.import_errors(
        ImpactStoryResource(),
        testing.csv_text([*NEW, "tags", "published"], [[*NEW.values(), "education", "1"]]),
        row=1,
    )

    assert testing.api_errors(api) == {"tags": [ONE_TAG]}
    assert testing.admin_errors(admin) == {"tags": [ONE_TAG]}
    assert imported == {"tags": [ONE_TAG]}
    assert not ImpactStory.objects.exists()


def test_the_admin_edits_tags_as_one_line_separated_by_commas(super_client):
    story = ImpactStoryFactory(tags=["education", "cloud"])
    path = admin_url(ImpactStory, "change", story.pk)
    data = form_data(super_client.get(path))
    assert data["tags"] == "education, cloud"

    assert (
        testing.admin_errors(super_client.post(path, data | {"tags": "Education, GPU, open source"})) is None
    )
    story.refresh_from_db()
    assert story.tags == ["education", "gpu", "open-source"]


# --- import and export ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_an_export_re_imports_as_an_update_that_changes_nothing(fmt):
    ImpactStoryFactory(community=CommunityFactory(), tags=["education", "gpu", "open-source"], featured=True)
    ImpactStoryFactory(published=False, url="")
    before = list(ImpactStory.objects.order_by("slug").values())

    result = import_file(ImpactStoryResource(), exported_file(ImpactStoryResource(), fmt), fmt)

    assert [row.import_type for row in result.rows] == ["skip", "skip"]
    assert list(ImpactStory.objects.order_by("slug").values()) == before


def test_the_export_writes_the_community_by_slug_and_the_tags_in_one_cell():
    ImpactStoryFactory(slug="s", community=CommunityFactory(slug="uni-x"), tags=["education", "gpu"])

    content = exported_file(ImpactStoryResource(), "csv")

    assert (
        content.splitlines()[0]
        == "slug,title,published_on,community,category,tags,summary,url,featured,published"
    )
    assert ',uni-x,community_impact,"education, gpu",' in content


# --- the admin ------------------------------------------------------------------------------------


def test_the_changelist_costs_the_same_queries_for_2_stories_as_for_20(super_client):
    ImpactStoryFactory.create_batch(2, community=CommunityFactory())
    few = testing.changelist_queries(super_client, ImpactStory)
    ImpactStoryFactory.create_batch(18, community=CommunityFactory())

    assert testing.changelist_queries(super_client, ImpactStory) == few


def _download(client, stories) -> Any:
    return client.post(
        admin_url(ImpactStory, "changelist"),
        {"action": "download_markdown", "_selected_action": [story.pk for story in stories]},
    )


def test_the_admin_downloads_one_story_as_markdown_with_front_matter(operations_client):
    story = ImpactStoryFactory(
        slug="jh5", title='JupyterHub 5: "sharing" ships', tags=["jupyterhub", "open-source"], featured=True
    )

    response = _download(operations_client, [story])

    assert response["Content-Type"].startswith("text/markdown")
    assert 'filename="2024-' in response["Content-Disposition"]
    assert front_matter(response.content.decode()) == {
        "title": 'JupyterHub 5: "sharing" ships',
        "slug": "jh5",
        "date": story.published_on,
        "categories": ["community_impact"],
        "tags": ["jupyterhub", "open-source"],
        "summary": story.summary,
        "featured": True,
        "external_url": story.url,
    }


def test_the_admin_downloads_several_stories_as_a_zip_of_markdown_files(operations_client):
    stories = ImpactStoryFactory.create_batch(3)

    response = _download(operations_client, stories)

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = sorted(archive.namelist())
    assert names == sorted(f"{s.published_on.isoformat()}-{s.slug}.md" for s in stories)
    assert {front_matter(archive.read(name).decode())["slug"] for name in names} == {s.slug for s in stories}


@pytest.mark.parametrize(
    "text",
    [
        "A title: with a colon",
        "Line one\nline two",
        "Quotes \" and ' and # and ---",
        "Ünïcödé \u2028 separator",
    ],
)
def test_front_matter_holds_any_title_and_summary(text):
    story = ImpactStoryFactory(
        title=text[:200], summary=text, community=CommunityFactory(name=f"{text[:50]} uni")
    )

    head = front_matter(story_markdown(story))

    assert (head["title"], head["summary"], head["community"]) == (text[:200], text, f"{text[:50]} uni")


# --- the records API ------------------------------------------------------------------------------


def test_the_api_reads_a_story_as_markdown_by_suffix_or_format(operations_client):
    story = ImpactStoryFactory(slug="gpu")
    detail = reverse("kpis-api:impact-story-detail", args=["gpu"])

    for url in (detail.rstrip("/") + ".md", f"{detail}?format=md"):
        response = operations_client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/markdown")
        assert response.content.decode() == story_markdown(story)
    assert operations_client.get(detail)["Content-Type"] == "application/json"


def test_the_api_filters_stories_by_tag_and_category(operations_client):
    ImpactStoryFactory(slug="a", tags=["gpu", "education"], category=StoryCategory.SERVICE_ENHANCEMENTS)
    ImpactStoryFactory(slug="b", tags=["gpus", "education"], category=StoryCategory.COMMUNITY_IMPACT)
    url = reverse("kpis-api:impact-story-list")

    def slugs(query: str) -> list[str]:
        return sorted(row["slug"] for row in operations_client.get(f"{url}?{query}").json()["results"])

    assert slugs("tag=gpu") == ["a"]  # the whole tag, not a part of another
    assert slugs("tag=GPU") == ["a"]
    assert slugs("tag=education&category=community_impact") == ["b"]
    assert operations_client.get(f"{url}?tag=no%20such").status_code == 400


# A signed-in list: 1 session, 2 user, 3 the user's permissions, 4 its groups' permissions,
# 5 the count, 6 the page (community joined).
LIST_QUERIES = 6


def test_the_api_list_costs_the_same_queries_for_3_stories_as_for_30(
    operations_client, django_assert_num_queries
):
    for size in (3, 30):
        ImpactStoryFactory.create_batch(size - ImpactStory.objects.count(), community=CommunityFactory())
        with django_assert_num_queries(LIST_QUERIES):
            response = operations_client.get(reverse("kpis-api:impact-story-list") + "?limit=100")
        assert len(response.json()["results"]) == size


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "read", "create"),
    [("operations", 200, 201), ("finance", 200, 201), ("leadership", 200, 403), ("anonymous", 401, 401)],
)
def test_operations_and_finance_keep_the_stories_and_leadership_reads_them(request, persona, read, create):
    client = Client() if persona == "anonymous" else request.getfixturevalue(f"{persona}_client")
    ImpactStoryFactory()
    url = reverse("kpis-api:impact-story-list")

    assert client.get(url).status_code == read
    posted = client.post(url, {**NEW, "tags": ["a", "b"]}, content_type="application/json")
    assert posted.status_code == create


def test_leadership_sees_the_stories_in_the_admin_but_may_not_change_them(
    leadership_client, operations_client
):
    story = ImpactStoryFactory()

    assert leadership_client.get(admin_url(ImpactStory, "changelist")).status_code == 200
    assert leadership_client.get(admin_url(ImpactStory, "add")).status_code == 403
    assert operations_client.get(admin_url(ImpactStory, "change", story.pk)).status_code == 200


# --- the demo -------------------------------------------------------------------------------------


def test_the_demo_has_a_dozen_stories_in_every_category_some_featured_some_drafts():
    stories = demo_stories()

    assert len(stories) == 12
    assert {story["category"] for story in stories} == set(StoryCategory.values)
    assert any(story["featured"] and story["published"] for story in stories)
    assert any(not story["published"] for story in stories)


def test_loading_the_demo_stories_twice_writes_them_once_naming_their_communities():
    communities = [CommunityFactory(slug=f"c{index}", name=f"College {index}") for index in range(4)]

    assert load_demo_stories(communities) == 12
    assert load_demo_stories({c.slug: c for c in communities}) == 0

    about = ImpactStory.objects.filter(community__isnull=False).select_related("community")
    assert about.exists()
    assert all(story.community.name in story.title for story in about)
    assert set(Community.objects.filter(impact_stories__isnull=False)) <= set(communities)
