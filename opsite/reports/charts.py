"""The seven figures of a report, drawn on the server as SVG with matplotlib, each with its table.

The figures an organization of this kind publishes in its reports: communities served per quarter
(with the historically marginalized), monthly active users and active hubs per month, counted
upstream pull requests per quarter by key community, funding brought in per quarter by category,
team headcount per month, and for a grant its budget vs actual by category (for a plain range, the
service contracts signed per quarter, as on the dashboard).

Drawn with the object-oriented API (``matplotlib.figure.Figure``, no ``pyplot``): no global figure
state, so concurrent requests do not draw on each other's figures; the renderer is the SVG
backend's, never a GUI one. The same data gives the same bytes: the date is left out of the
metadata, the ids are salted with the figure's name (``svg.hashsalt``, so two figures inlined in
one page never share an id), and text stays text (``svg.fonttype: none``), which also keeps the
numbers searchable in the page and the PDF. Money is drawn from floats (drawing only); the tables
show the exact decimals.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from contracts.choices import ContractCategory
from funding.choices import BudgetCategory
from funding.rollups import FUNDING_CATEGORIES
from opsite.core.formatting import format_count
from opsite.dashboard.cells import COUNT, MONEY, PERCENT, display_cell
from opsite.dashboard.charts.base import CONTRACT_LABELS, FUNDING_LABELS, PALETTE

from .figures import ReportFigures

matplotlib.use("Agg")

# rcParams are process-wide: one figure is drawn at a time with its own settings.
_DRAWING = threading.Lock()
BUDGET_LABELS = dict(BudgetCategory.choices)
OTHER_COLOUR = "#9db4cc"
SIZE = (7.0, 3.4)  # inches: 504 x 245 pt, scaled to the page's width


@dataclass(frozen=True)
class ReportChart:
    """One figure: its file name (``figures/<name>.svg``), title, caption, table and SVG."""

    name: str
    title: str
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    svg: str

    @property
    def filename(self) -> str:
        return f"{self.name}.svg"

    @property
    def inline_svg(self) -> str:
        """The SVG element alone, without the XML declaration and doctype, for an HTML page."""
        return self.svg[self.svg.index("<svg") :]

    @property
    def label(self) -> str:
        """The MyST figure's ``:name:``, which ``{numref}`` points at."""
        return f"fig-{self.name}"


def _rc(name: str) -> dict[str, object]:
    return {
        "svg.hashsalt": f"opsite-report-{name}",
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 10,
        "legend.fontsize": 8,
        "legend.frameon": False,
    }


def _svg(name: str, draw) -> str:
    with _DRAWING, matplotlib.rc_context(_rc(name)):
        figure = Figure(figsize=SIZE, layout="constrained")
        axes = figure.add_subplot()
        draw(axes)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _category_axis(axes, labels: Sequence[str]) -> None:
    """Periods on the x axis: at most about twelve labelled, rotated so they never overlap."""
    positions = range(len(labels))
    step = max(1, -(-len(labels) // 12))
    axes.set_xticks(list(positions)[::step], [labels[i] for i in positions][::step], rotation=45, ha="right")
    axes.set_xlim(-0.6, len(labels) - 0.4)


def _count_axis(axes) -> None:
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: format_count(int(value))))
    axes.set_ylim(bottom=0)


def _money_axis(axes, currency: str) -> None:
    def short(value: float, _: int) -> str:
        for size, suffix in ((1e6, "M"), (1e3, "k")):
            if abs(value) >= size:
                return f"{value / size:g}{suffix}"
        return f"{value:g}"

    axes.yaxis.set_major_formatter(FuncFormatter(short))
    axes.set_ylabel(currency)
    axes.set_ylim(bottom=0)


def _stacked(axes, labels: Sequence[str], groups: Sequence[tuple[str, Sequence[float]]]) -> None:
    bottom = [0.0] * len(labels)
    for index, (name, values) in enumerate(groups):
        colour = OTHER_COLOUR if name == "Other" else PALETTE[index % len(PALETTE)]
        axes.bar(range(len(labels)), values, bottom=bottom, label=name, color=colour, width=0.7)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if groups:
        axes.legend(loc="upper left", ncols=min(len(groups), 4), bbox_to_anchor=(0, 1.02))


def _money(amount: Decimal) -> str:
    return display_cell(amount, MONEY)


def _count(value: int) -> str:
    return display_cell(value, COUNT)


def communities_chart(figures: ReportFigures) -> ReportChart:
    points = figures.communities_by_quarter
    labels = [point.period for point in points]

    def draw(axes):
        _stacked(
            axes,
            labels,
            [
                ("Historically marginalized", [point.historically_marginalized for point in points]),
                ("Other", [point.active - point.historically_marginalized for point in points]),
            ],
        )
        _category_axis(axes, labels)
        _count_axis(axes)
        axes.set_ylabel("Communities")

    return ReportChart(
        name="communities",
        title="Communities served per quarter",
        caption="Active communities at the end of each quarter, historically marginalized ones first.",
        headers=("Quarter", "Active communities", "Historically marginalized", "Marginalized share"),
        rows=tuple(
            (
                point.period,
                _count(point.active),
                _count(point.historically_marginalized),
                display_cell(
                    (Decimal(100) * point.historically_marginalized / point.active).quantize(Decimal("0.1"))
                    if point.active
                    else None,
                    PERCENT,
                ),
            )
            for point in points
        ),
        svg=_svg("communities", draw),
    )


def _monthly_line(
    name: str, title: str, caption: str, column: str, figures: ReportFigures, attr: str, colour
):
    points = figures.months
    labels = [point.period for point in points]
    values = [getattr(point, attr) for point in points]

    def draw(axes):
        axes.plot(range(len(labels)), values, color=colour, marker="o", markersize=2.5, linewidth=1.6)
        _category_axis(axes, labels)
        _count_axis(axes)
        axes.set_ylabel(column)
        axes.grid(axis="y", color="#dddddd", linewidth=0.6)

    return ReportChart(
        name=name,
        title=title,
        caption=caption,
        headers=("Month", column),
        rows=tuple((label, _count(value)) for label, value in zip(labels, values, strict=True)),
        svg=_svg(name, draw),
    )


def users_chart(figures: ReportFigures) -> ReportChart:
    return _monthly_line(
        "monthly-active-users",
        "Monthly active users per month",
        "Monthly active users (30-day active users of every live hub, BinderHubs left out) at the end of each month.",
        "Monthly active users",
        figures,
        "monthly_active",
        PALETTE[0],
    )


def hubs_chart(figures: ReportFigures) -> ReportChart:
    return _monthly_line(
        "active-hubs",
        "Active hubs per month",
        "Live hubs with at least one 30-day active user at the end of each month.",
        "Active hubs",
        figures,
        "active_hubs",
        PALETTE[2],
    )


def headcount_chart(figures: ReportFigures) -> ReportChart:
    points = figures.months
    labels = [point.period for point in points]
    values = [point.headcount for point in points]

    def draw(axes):
        axes.step(range(len(labels)), values, where="mid", color=PALETTE[3], linewidth=1.8)
        _category_axis(axes, labels)
        _count_axis(axes)
        axes.set_ylabel("People")
        axes.grid(axis="y", color="#dddddd", linewidth=0.6)

    return ReportChart(
        name="headcount",
        title="Team headcount per month",
        caption="People on staff at the end of each month.",
        headers=("Month", "Headcount"),
        rows=tuple((label, _count(value)) for label, value in zip(labels, values, strict=True)),
        svg=_svg("headcount", draw),
    )


def pull_requests_chart(figures: ReportFigures) -> ReportChart:
    points = figures.pull_requests_by_quarter
    labels = [point.period.label for point in points]
    slugs = sorted({slug for point in points for slug in point.by_community})
    names = [figures.community_names.get(slug, slug) for slug in slugs]

    def draw(axes):
        _stacked(
            axes,
            labels,
            [
                (name, [point.by_community.get(slug, 0) for point in points])
                for slug, name in zip(slugs, names, strict=True)
            ],
        )
        _category_axis(axes, labels)
        _count_axis(axes)
        axes.set_ylabel("Pull requests")

    return ReportChart(
        name="pull-requests",
        title="Upstream pull requests per quarter",
        caption="Counted upstream pull requests merged per quarter, by key upstream community.",
        headers=("Quarter", *names, "Total", "Repositories"),
        rows=tuple(
            (
                point.period.label,
                *(_count(point.by_community.get(slug, 0)) for slug in slugs),
                _count(point.merged_pull_requests),
                _count(point.repositories),
            )
            for point in points
        ),
        svg=_svg("pull-requests", draw),
    )


def funding_chart(figures: ReportFigures) -> ReportChart:
    points = figures.funding_by_quarter
    labels = [point.period.label for point in points]
    present = [
        category
        for category in FUNDING_CATEGORIES
        if any(point.gross_by_category.get(category) for point in points)
    ]

    def draw(axes):
        _stacked(
            axes,
            labels,
            [
                (
                    FUNDING_LABELS.get(category, category),
                    [float(point.gross_by_category[category]) for point in points],
                )
                for category in present
            ],
        )
        _category_axis(axes, labels)
        _money_axis(axes, figures.currency)

    return ReportChart(
        name="funding",
        title="Funding brought in per quarter",
        caption=f"Grants awarded and service contracts signed per quarter, by category, gross, in {figures.currency}.",
        headers=(
            "Quarter",
            *(FUNDING_LABELS.get(category, category) for category in present),
            "Total (gross)",
        ),
        rows=tuple(
            (
                point.period.label,
                *(_money(point.gross_by_category[category]) for category in present),
                _money(point.gross),
            )
            for point in points
        ),
        svg=_svg("funding", draw),
    )


def budget_chart(figures: ReportFigures) -> ReportChart:
    """A grant's budget against what was spent, by budget category, on the report's last day."""
    assert figures.grant is not None
    budget = figures.grant.budget
    currency = figures.grant.grant.currency
    lines = budget.lines
    labels = [BUDGET_LABELS.get(line.category, line.category) for line in lines]

    def draw(axes):
        positions = range(len(lines))
        axes.barh(
            [p + 0.2 for p in positions],
            [float(line.budget) for line in lines],
            height=0.4,
            label="Budget",
            color=OTHER_COLOUR,
        )
        axes.barh(
            [p - 0.2 for p in positions],
            [float(line.spent) for line in lines],
            height=0.4,
            label="Spent",
            color=PALETTE[0],
        )
        axes.set_yticks(list(positions), labels)
        axes.invert_yaxis()
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1e3:g}k" if value else "0"))
        axes.set_xlabel(currency)
        axes.legend(loc="lower right")

    return ReportChart(
        name="budget",
        title="Budget vs actual by category",
        caption=(
            f"The grant's budget and what was spent by category on {budget.as_of.isoformat()}, in {currency}; "
            "pace is the share of the budget spent over the share of the grant's time gone."
        ),
        headers=("Category", "Budget", "Spent", "Remaining", "Pace"),
        rows=tuple(
            (
                BUDGET_LABELS.get(line.category, "Total" if line.category == "total" else line.category),
                _money(line.budget),
                _money(line.spent),
                _money(line.remaining),
                display_cell(line.pace),
            )
            for line in (*lines, budget.total)
        ),
        svg=_svg("budget", draw),
    )


def contracts_chart(figures: ReportFigures) -> ReportChart:
    points = figures.contracts_by_quarter
    labels = [point.period.label for point in points]
    categories = [
        category
        for category in ContractCategory.values
        if any(point.by_category.get(category) and point.by_category[category].count for point in points)
    ]

    def draw(axes):
        _stacked(
            axes,
            labels,
            [
                (
                    CONTRACT_LABELS.get(category, category),
                    [
                        point.by_category[category].count if category in point.by_category else 0
                        for point in points
                    ],
                )
                for category in categories
            ],
        )
        _category_axis(axes, labels)
        _count_axis(axes)
        axes.set_ylabel("Contracts")

    return ReportChart(
        name="contracts",
        title="Service contracts signed per quarter",
        caption=f"Service contracts signed per quarter, by category, with their total value in {figures.currency}.",
        headers=("Quarter", "Contracts signed", "Total value"),
        rows=tuple((point.period.label, _count(point.count), _money(point.value)) for point in points),
        svg=_svg("contracts", draw),
    )


def report_charts(figures: ReportFigures) -> list[ReportChart]:
    """The seven figures, in the report's order."""
    return [
        communities_chart(figures),
        users_chart(figures),
        hubs_chart(figures),
        pull_requests_chart(figures),
        funding_chart(figures),
        headcount_chart(figures),
        budget_chart(figures) if figures.grant is not None else contracts_chart(figures),
    ]
