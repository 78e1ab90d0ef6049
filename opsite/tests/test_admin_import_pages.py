"""The admin import's pages as a spreadsheet user meets them.

* A refused cell is listed in line (not in a tooltip): its row, its column, the value given, why,
  and what the column accepts (``YYYY-MM-DD``, the values allowed).
* Every resource offers a template whose example row imports as a valid dry run.
* Derived fields are not offered for import, nor read from a file that holds them.
* Bad addresses of the import, export and template pages answer 400 or a redirect, never a 500.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.apps import apps
from django.utils.html import escape

from communities.models import Community
from communities.resources import CommunityResource
from communities.tests.factories import CommunityFactory, HubFactory
from opsite.core.resources import OpsiteResource

from .admin_imports import (
    EXPORTABLE,
    IMPORTABLE,
    REGISTRY,
    admin_url,
    assert_no_server_error,
    client_for,
    csv_bytes,
    demo_rows,
    outcome,
    post_import,
    quick_pages,
)

pytestmark = pytest.mark.django_db

USAGE = "communities.ActiveUserCount"


@pytest.fixture
def root(superuser):
    with quick_pages():
        yield client_for(superuser)


def problem_rows(html: str) -> list[list[str]]:
    """The cells of the problems table, as text."""
    table = html.split('<table class="import-problems">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        rows.append([re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells])
    return rows


# --- errors in line --------------------------------------------------------------------------------


def test_a_bad_day_is_shown_in_line_with_its_row_column_value_and_format(root):
    HubFactory(slug="north")
    data = csv_bytes(
        ["hub", "date", "period", "active_users"],
        [["north", "2024-01-31", "30d", "4"], ["north", "31/01/2024", "30d", "5"]],
    )
    response = post_import(root, USAGE, "usage.csv", "0", data)
    assert outcome(response)[0] == "rows"
    [problem] = problem_rows(response.content.decode())
    assert problem == [
        "2",
        "date",
        "31/01/2024",
        escape("'31/01/2024' is not a date; write it as YYYY-MM-DD, such as 2024-03-31."),
        "a date written YYYY-MM-DD, such as 2024-03-31",
    ]


def test_a_bad_choice_is_refused_naming_the_values_allowed(root):
    HubFactory(slug="north")
    data = csv_bytes(["hub", "date", "period", "active_users"], [["north", "2024-01-31", "weekly", "4"]])
    [problem] = problem_rows(post_import(root, USAGE, "usage.csv", "0", data).content.decode())
    allowed = "24h (24 hours), 7d (7 days), 30d (30 days)"
    assert problem[:3] == ["1", "period", "weekly"]
    assert problem[3] == escape(f"'weekly' is not allowed here; use one of {allowed}.")
    assert problem[4] == f"one of {allowed}"


def test_a_choice_may_be_written_as_its_label_in_any_case(root):
    HubFactory(slug="north")
    data = csv_bytes(["hub", "date", "period", "active_users"], [["north", "2024-01-31", "30 DAYS", "4"]])
    response = post_import(root, USAGE, "usage.csv", "0", data)
    assert outcome(response) == ("preview", [])
    assert response.context["report"]["rows"][0]["cells"][2]["value"] == "30d"


def test_a_long_list_of_choices_is_named_by_a_few_and_listed_whole_in_the_template(root):
    data = csv_bytes(
        ["slug", "name", "kind", "country", "joined_on"], [["x", "X", "university", "XX", "2024-01-01"]]
    )
    [problem] = problem_rows(post_import(root, "communities.Community", "c.csv", "0", data).content.decode())
    assert problem[:3] == ["1", "country", "XX"]
    choices = CommunityResource().fields["country"].widget.choices
    first = ", ".join(value for value, _ in choices[:5])
    assert (
        f"use one of the {len(choices)} codes, such as {first} (the import template lists them all)"
        in problem[3]
    )
    template = root.get(admin_url("communities.Community", "import_template")).content.decode()
    assert all(f"{value} ({label})" in template for value, label in choices)


def test_a_file_error_names_the_missing_column_without_a_traceback(root):
    response = post_import(root, USAGE, "usage.csv", "0", b"hub,date,active_users\nnorth,2024-01-31,4\n")
    html = response.content.decode()
    assert "File: " in html and "period" in html
    assert "Traceback" not in html


def test_the_format_is_read_from_the_file_name_when_it_is_not_chosen(root):
    HubFactory(slug="north")
    data = csv_bytes(["hub", "date", "period", "active_users"], [["north", "2024-01-31", "30d", "4"]])
    assert outcome(post_import(root, USAGE, "usage.csv", "", data)) == ("preview", [])
    assert outcome(post_import(root, USAGE, "usage.txt", "", data)) == (
        "file",
        ["Choose the file's format: its name does not end in .csv, .xlsx or .json."],
    )


# --- templates -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, and a subaward with room for a payment (the demo's are paid in full)."""
    from funding.tests.factories import SubawardFactory

    with demo_rows(django_db_blocker):
        with django_db_blocker.unblock():
            SubawardFactory(reference="template-room")
        yield


def resource_indexes() -> list[tuple[str, int]]:
    return [
        (label, index)
        for label in IMPORTABLE
        for index, _ in enumerate(REGISTRY[apps.get_model(label)].get_import_resource_classes(None))
    ]


@pytest.mark.parametrize(("label", "index"), resource_indexes())
def test_each_template_reads_back_through_its_own_import_as_a_valid_dry_run(demo, root, label, index):
    response = root.get(admin_url(label, "import_template") + f"?resource={index}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = response.content.decode()
    lines = list(csv.reader(io.StringIO(content)))
    notes = [line for line in lines if line and line[0].startswith("#")]
    header, example = [line for line in lines if line and not line[0].startswith("#")]
    assert len(example) == len(header)
    resource = REGISTRY[apps.get_model(label)].get_import_resource_classes(None)[index]()
    assert header == [f.column_name for f in resource.get_import_fields()]
    # Every column is explained: required or not, and what to write.
    explained = {line[0].removeprefix("# "): line[1:] for line in notes if len(line) == 3}
    assert set(header) <= set(explained)
    before = {model: model.objects.count() for model in (apps.get_model(label),)}
    answer = post_import(root, label, "template.csv", "0", content.encode())
    assert outcome(answer) == ("preview", []), label
    assert answer.context["report"]["total_rows"] == 1
    assert {model: model.objects.count() for model in before} == before


def test_the_import_page_links_each_template(root):
    html = root.get(admin_url(USAGE, "import")).content.decode()
    assert f'href="{admin_url(USAGE, "import_template")}?resource=0"' in html
    assert "Download the import template (CSV)" in html


def test_a_template_of_an_unknown_resource_is_a_400(root):
    for query in ("resource=9", "resource=abc", "resource=-1", "format=0", "resource=0&x=1"):
        response = root.get(admin_url(USAGE, "import_template") + "?" + query)
        assert response.status_code == 400, query


def test_a_template_is_only_for_who_may_import(leadership_client):
    assert leadership_client.get(admin_url(USAGE, "import_template")).status_code == 403


# --- derived fields --------------------------------------------------------------------------------


def test_no_resource_offers_a_read_only_field_for_import():
    offered = [
        f"{label}: {field.column_name}"
        for label in IMPORTABLE
        for resource_class in REGISTRY[apps.get_model(label)].get_import_resource_classes(None)
        for field in resource_class().get_import_fields()
        if field.readonly
    ]
    assert offered == []
    assert issubclass(CommunityResource, OpsiteResource)


def test_the_community_import_does_not_offer_the_derived_historically_marginalized(root):
    html = root.get(admin_url("communities.Community", "import")).content.decode()
    listed = re.search(
        r"This importer will import the following fields:\s*<code>(.*?)</code>", html, re.S
    ).group(1)
    assert "historically_marginalized" not in listed
    assert "marginalized_override" in listed
    template = root.get(admin_url("communities.Community", "import_template")).content.decode()
    assert "historically_marginalized" not in template


def test_a_file_holding_the_derived_column_is_told_it_is_not_imported(root):
    community = CommunityFactory(slug="north", country="US", kind="university", marginalized_override=None)
    community.refresh_from_db()
    derived = community.historically_marginalized
    content = CommunityResource().export(queryset=Community.objects.filter(pk=community.pk)).csv
    flipped = content.replace(f",{int(derived)}\r\n", f",{int(not derived)}\r\n")
    assert flipped != content
    response = post_import(root, "communities.Community", "c.csv", "0", flipped.encode())
    report = response.context["report"]
    assert report["totals"]["skip"] == 1
    assert [
        "historically_marginalized",
        "derived or read-only: exported for reading, never imported",
    ] in report["ignored"]
    assert "historically_marginalized</code> (derived or read-only" in response.content.decode()
    assert Community.objects.get(pk=community.pk).historically_marginalized == derived


# --- bad addresses ---------------------------------------------------------------------------------

BAD_QUERIES = ("format=0", "format=abc", "format=-1", "resource=abc", "resource=9", "x=%00", "o=zz")


@pytest.mark.parametrize("label", EXPORTABLE)
def test_bad_parameters_on_the_import_and_export_pages_answer_400_or_a_redirect(root, label):
    pages = [admin_url(label, "export")]
    if label in IMPORTABLE:
        pages.append(admin_url(label, "import"))
    for page in pages:
        for query in BAD_QUERIES:
            response = root.get(f"{page}?{query}")
            assert_no_server_error(response, f"{page}?{query}")
            assert response.status_code in (302, 400), f"{page}?{query}"
            if response.status_code == 302:
                assert response["Location"] == page, f"{page}?{query}"
        assert root.get(page).status_code == 200


def test_the_community_export_with_format_0_redirects_to_the_page(root):
    page = admin_url("communities.Community", "export")
    response = root.get(page + "?format=0")
    assert (response.status_code, response["Location"]) == (302, page)
