"""A report as the three outputs read it: its title, its tables in words and figures, its charts;
and its MyST Markdown, zipped with the figures' SVG files.

The web page, the PDF and the MyST text are made from the same :class:`Report`, so each says the
same figures in the same words. Every figure is written by the site's formatting helpers
(``opsite.core.formatting``): counts grouped (``7,214``), money with its currency.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date

from funding.models import Grant
from opsite.core.formatting import format_count, format_money, format_percent
from opsite.dashboard.charts.base import FUNDING_LABELS
from opsite.dashboard.summary import format_day

from .charts import ReportChart, report_charts
from .figures import ReportFigures, report_figures


@dataclass(frozen=True)
class Table:
    """A table of the report: its MyST/HTML caption, headers and rows of display strings."""

    slug: str
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Report:
    title: str
    period: str
    figures: ReportFigures
    headline: Table
    tables: tuple[Table, ...]
    grant_tables: tuple[Table, ...]
    charts: tuple[ReportChart, ...]
    generated_on: date

    @property
    def basename(self) -> str:
        """``opsite-report-2021-01-01-2023-12-31``: the downloads' file names."""
        return f"opsite-report-{self.figures.start.isoformat()}-{self.figures.end.isoformat()}"


def _share(part: int, whole: int) -> str:
    return format_percent(round(100 * part / whole, 1)) if whole else "–"


def _headline(figures: ReportFigures) -> Table:
    currency = figures.currency
    end = format_day(figures.end)
    return Table(
        slug="headline",
        caption=f"Headline figures from {format_day(figures.start)} to {end}.",
        headers=("Figure", "Value"),
        rows=(
            ("Communities served", format_count(figures.communities_served)),
            (
                "of them historically marginalized",
                f"{format_count(figures.historically_marginalized)} "
                f"({_share(figures.historically_marginalized, figures.communities_served)})",
            ),
            (f"Monthly active users on {end}", format_count(figures.monthly_active)),
            (f"Weekly active users on {end}", format_count(figures.weekly_active)),
            (f"Active hubs on {end}", format_count(figures.active_hubs)),
            ("Upstream pull requests merged", format_count(figures.merged_pull_requests)),
            ("in distinct repositories", format_count(figures.repositories)),
            (f"Headcount on {format_day(figures.start)}", format_count(figures.headcount_start)),
            (f"Headcount on {end}", format_count(figures.headcount_end)),
            ("Funding brought in (gross)", format_money(figures.funding_gross, currency)),
            ("Funding brought in (net of subawards)", format_money(figures.funding_net, currency)),
        ),
    )


def _tables(figures: ReportFigures) -> tuple[Table, ...]:
    return (
        Table(
            slug="pull-requests-by-community",
            caption="Counted upstream pull requests merged in the range, by key upstream community.",
            headers=("Upstream community", "Pull requests"),
            rows=tuple((name, format_count(count)) for name, count in figures.pull_requests_by_community),
        ),
        Table(
            slug="funding-by-category",
            caption=f"Funding brought in during the range by category, gross, in {figures.currency}.",
            headers=("Category", "Gross"),
            rows=tuple(
                (FUNDING_LABELS.get(category, category), format_money(amount, figures.currency))
                for category, amount in figures.funding_by_category
            ),
        ),
    )


def _grant_tables(figures: ReportFigures) -> tuple[Table, ...]:
    if figures.grant is None:
        return ()
    grant = figures.grant.grant
    currency = grant.currency
    about = Table(
        slug="grant",
        caption="The grant.",
        headers=("", ""),
        rows=(
            ("Title", grant.title),
            ("Funder", grant.funder.name),
            ("Reference", grant.reference),
            ("Purpose", grant.purpose or "–"),
            ("Period", f"{format_day(grant.start_on)} to {format_day(grant.end_on)}"),
            ("Amount", format_money(grant.amount, currency)),
            ("Time gone", format_percent(round(100 * figures.grant.budget.elapsed_share, 1))),
        ),
    )
    subawards = Table(
        slug="subawards",
        caption=f"Subawards of the grant and what was paid on them up to {format_day(figures.end)}, in {currency}.",
        headers=("Recipient", "Reference", "Amount", "Paid", "Still to pay"),
        rows=tuple(
            (
                subaward.recipient,
                subaward.reference,
                format_money(subaward.amount),
                format_money(subaward.paid),
                format_money(subaward.amount - subaward.paid),
            )
            for subaward in figures.grant.subawards
        ),
    )
    return (about, subawards)


def build_report(*, start: date, end: date, grant: Grant | None, today: date) -> Report:
    """The report of ``start``..``end`` (a grant's period when ``grant`` is given)."""
    figures = report_figures(start=start, end=end, grant=grant)
    period = f"{format_day(start)} to {format_day(end)}"
    title = f"Report on {grant.title}" if grant is not None else "Impact report"
    return Report(
        title=title,
        period=period,
        figures=figures,
        headline=_headline(figures),
        tables=_tables(figures),
        grant_tables=_grant_tables(figures),
        charts=tuple(report_charts(figures)),
        generated_on=today,
    )


# --- MyST Markdown ---------------------------------------------------------------------------

# Characters Markdown would read as markup in a table cell or a heading: escaped with a backslash.
_MARKUP = re.compile(r"([\\`*_{}\[\]<>()#+!|~$:])")


def escape(text: str) -> str:
    """``text`` as literal MyST inline text: markup characters escaped, lines joined."""
    return _MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def _myst_table(table: Table) -> list[str]:
    headers = [escape(header) or " " for header in table.headers]
    lines = [f"**{escape(table.caption)}**", "", "| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join(" --- " for _ in headers) + "|")
    if not table.rows:
        lines.append("| " + " | ".join(["–"] * len(headers)) + " |")
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in table.rows]
    return [*lines, ""]


def _myst_figure(chart: ReportChart) -> list[str]:
    return [
        f"```{{figure}} figures/{chart.filename}",
        f":name: {chart.label}",
        f":alt: {chart.title}",
        "",
        f"{escape(chart.title)}. {escape(chart.caption)}",
        "```",
        "",
    ]


def myst_markdown(report: Report) -> str:
    """The report as a MyST Markdown document: front matter, headings, tables, the figures as
    ``figure`` directives with ``:name:`` labels, and ``{numref}`` references to them."""
    # JSON strings are YAML strings: a title with a colon or a quote stays one value.
    lines = [
        "---",
        f"title: {json.dumps(report.title)}",
        f"date: {json.dumps(report.generated_on.isoformat())}",
        f"subtitle: {json.dumps(report.period)}",
        "---",
        "",
        f"# {escape(report.title)}",
        "",
        f"{escape(report.period)}.",
        "",
        "## Headline figures",
        "",
        *_myst_table(report.headline),
    ]
    for table in report.tables:
        lines += _myst_table(table)
    if report.grant_tables:
        lines += ["## The grant", ""]
        for table in report.grant_tables:
            lines += _myst_table(table)
    lines += ["## Figures", ""]
    references = ", ".join(f"{{numref}}`{chart.label}`" for chart in report.charts)
    lines += [f"The figures of the range are {references}.", ""]
    for chart in report.charts:
        lines += [f"### {escape(chart.title)}", "", *_myst_figure(chart), *_myst_table(_chart_table(chart))]
    return "\n".join(lines)


def _chart_table(chart: ReportChart) -> Table:
    return Table(slug=chart.name, caption=chart.caption, headers=chart.headers, rows=chart.rows)


def myst_zip(report: Report) -> bytes:
    """``report.md`` and ``figures/<name>.svg``, zipped with fixed dates so the same report gives
    the same bytes."""
    buffer = io.BytesIO()
    stamp = (report.generated_on.year, report.generated_on.month, report.generated_on.day, 0, 0, 0)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("report.md", stamp), myst_markdown(report).encode())
        for chart in report.charts:
            archive.writestr(zipfile.ZipInfo(f"figures/{chart.filename}", stamp), chart.svg.encode())
    return buffer.getvalue()
