"""The report's downloads (the MyST zip, the PDF) and the demo organization's report of 2021-2023."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import roles

from conftest import require
from opsite.reports.figures import report_figures
from opsite.tests.shared_rows import loaded_demo
from opsite.tests.test_reports import RANGE, URL, build_small_organization

# --- the MyST zip ---------------------------------------------------------------------------


def _numref(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{numref}`` as docutils alone can check it (it is Sphinx's role): a reference by name,
    which docutils resolves against the figures' ``:name:`` and reports when nothing has it."""
    reference = nodes.reference(rawtext, text, refname=nodes.fully_normalize_name(text))
    inliner.document.note_refname(reference)
    return [reference], []


def build_myst(markdown: str) -> tuple[nodes.document, str]:
    """Parse with myst-parser through docutils; any warning stops it (halt level 2)."""
    from myst_parser.parsers.docutils_ import Parser

    roles.register_local_role("numref", _numref)
    warnings = io.StringIO()
    doctree = publish_doctree(
        markdown,
        parser=Parser(),
        settings_overrides={"warning_stream": warnings, "halt_level": 2, "report_level": 2},
    )
    return doctree, warnings.getvalue()


@pytest.fixture
def myst_zip(finance_client):
    build_small_organization()
    response = finance_client.get(URL, {**RANGE, "format": "myst"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="opsite-report-2024-01-01-2024-06-30.zip"'
    return zipfile.ZipFile(io.BytesIO(response.content))


@pytest.mark.django_db
def test_every_figure_the_markdown_names_is_in_the_zip_and_every_numref_has_a_target(myst_zip):
    names = set(myst_zip.namelist())
    markdown = myst_zip.read("report.md").decode()
    figures = re.findall(r"^```\{figure\} (\S+)$", markdown, flags=re.MULTILINE)
    assert len(figures) == 7
    assert set(figures) <= names
    assert names == {"report.md", *figures}
    labels = set(re.findall(r"^:name: (\S+)$", markdown, flags=re.MULTILINE))
    targets = set(re.findall(r"\{numref\}`([^`]+)`", markdown))
    assert len(labels) == 7 and targets
    assert targets <= labels
    for name in figures:
        svg = myst_zip.read(name).decode()
        assert svg.startswith("<?xml") and "<svg" in svg


@pytest.mark.django_db
def test_the_markdown_builds_with_myst_parser_without_a_warning(myst_zip):
    markdown = myst_zip.read("report.md").decode()
    assert markdown.startswith("---\ntitle: ")
    doctree, warnings = build_myst(markdown)
    assert warnings == ""
    assert len(list(doctree.findall(nodes.figure))) == 7
    assert len(list(doctree.findall(nodes.table))) >= 7
    # The purpose's "|" stays in its cell instead of splitting it.
    text = doctree.astext()
    assert "330,000.00 USD" in text and "JupyterHub" in text


@pytest.mark.django_db
def test_the_grant_s_markdown_escapes_its_text_and_still_builds(finance_client):
    prime = build_small_organization()["prime"]
    response = finance_client.get(URL, {"grant": prime.reference, "format": "myst"})
    markdown = zipfile.ZipFile(io.BytesIO(response.content)).read("report.md").decode()
    doctree, warnings = build_myst(markdown)
    assert warnings == ""
    assert "Hubs for open science | in Latin America" in doctree.astext()
    assert "figures/budget.svg" in markdown


@pytest.mark.django_db
def test_the_same_figures_make_the_same_bytes(finance_client):
    build_small_organization()
    first = finance_client.get(URL, {**RANGE, "format": "myst"}).content
    assert finance_client.get(URL, {**RANGE, "format": "myst"}).content == first


def test_a_markdown_numref_to_a_missing_figure_does_not_build():
    markdown = "# T\n\n```{figure} figures/a.svg\n:name: fig-a\n\nA.\n```\n\nSee {numref}`fig-b`.\n"
    with pytest.raises(Exception, match="fig-b"):
        build_myst(markdown)


# --- the PDF --------------------------------------------------------------------------------


def _weasyprint_loads() -> bool:
    try:
        import weasyprint  # noqa: F401
    except OSError:
        return False
    return True


@pytest.mark.django_db
def test_the_pdf_holds_the_headline_figures(finance_client):
    require(_weasyprint_loads(), "WeasyPrint's system libraries (Pango, HarfBuzz, fontconfig) are missing")
    from pypdf import PdfReader

    prime = build_small_organization()["prime"]
    response = finance_client.get(URL, {"grant": prime.reference, "format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="opsite-report-2024-01-01-2024-12-31.pdf"'
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    for expected in (
        "Communities served",
        "330,000.00 USD",
        "280,000.00 USD",
        "Universidad del Sur",
        "Budget vs actual",
    ):
        assert expected in text, expected
    assert len(reader.pages) >= 2


# --- the demo organization ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo's reports of 2021-2023 and of 2021-2024, and the pull requests of 2021-2023 counted
    with plain queries (test_demo's), computed once: loading the demo is slow."""
    from opsite.tests.test_demo import counted_pull_requests

    with loaded_demo(django_db_blocker), django_db_blocker.unblock():
        counted = counted_pull_requests(until=date(2023, 12, 31))
        yield {
            "2021-2023": report_figures(start=date(2021, 1, 1), end=date(2023, 12, 31), grant=None),
            "2021-2024": report_figures(start=date(2021, 1, 1), end=date(2024, 12, 31), grant=None),
            "counted": (counted.count(), counted.values("repository").distinct().count()),
        }


@pytest.mark.django_db
class TestDemoReport:
    def test_more_than_70_communities_were_served_in_2021_2023(self, demo):
        # 70 active at the end of 2023, and one that left before it.
        assert demo["2021-2023"].communities_served > 70
        assert demo["2021-2023"].historically_marginalized >= 12

    def test_about_7200_monthly_active_users_at_the_end_of_2023(self, demo):
        figures = demo["2021-2023"]
        assert abs(figures.monthly_active - 7200) <= 7200 * 0.05
        assert 0 < figures.weekly_active < figures.monthly_active

    def test_the_pull_requests_of_2021_2023_are_those_counted_by_plain_queries(self, demo):
        figures = demo["2021-2023"]
        assert (figures.merged_pull_requests, figures.repositories) == demo["counted"]

    def test_over_2000_pull_requests_across_over_600_repositories_in_2021_2023(self, demo):
        figures = demo["2021-2023"]
        assert figures.merged_pull_requests > 2000
        assert figures.repositories > 600

    def test_about_5_6_million_brought_in_over_2021_2023(self, demo):
        gross = demo["2021-2023"].funding_gross
        assert abs(gross - Decimal("5600000")) <= Decimal("5600000") * Decimal("0.02")

    def test_the_team_grows_from_2_to_12_in_2021_2023(self, demo):
        # The roster of opsite/demo/data.py: two on 1 Jan 2021, twelve on 31 Dec 2023 and a year later.
        assert (demo["2021-2023"].headcount_start, demo["2021-2023"].headcount_end) == (2, 12)
        assert demo["2021-2024"].headcount_end == 12
