"""Budget vs actual as a table on the grant's admin page (``funding.budget`` computes it).

Spent figures are a share of people's pay: shown only to who may view staff allocations
(Finance, Leadership, superusers).
"""

from __future__ import annotations

from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from opsite.core.formatting import format_money

from .budget import budget_vs_actual
from .choices import BudgetCategory
from .models import Grant

VIEW_SPENT = "funding.view_staffallocation"


def _pace(value) -> str:
    return "–" if value is None else f"{value}"


def budget_table(grant: Grant, *, as_of: date) -> SafeString | str:
    (figures,) = budget_vs_actual(grants=[grant], as_of=as_of)
    if not figures.lines:
        return "No budget lines and nothing charged yet."
    currency = grant.currency
    labels = {**dict(BudgetCategory.choices), "total": "Total"}
    rows = format_html_join(
        "",
        "<tr><th scope='row'>{}</th><td class='number'>{}</td><td class='number'>{}</td>"
        "<td class='number'>{}</td><td class='number'>{}</td></tr>",
        (
            (
                labels.get(line.category, line.category),
                format_money(line.budget, currency),
                format_money(line.spent, currency),
                format_money(line.remaining, currency),
                _pace(line.pace),
            )
            for line in (*figures.lines, figures.total)
        ),
    )
    return format_html(
        "<table class='budget-vs-actual'><caption>As of {} ({} of the grant's time gone)</caption>"
        "<thead><tr><th scope='col'>category</th><th scope='col'>budget</th><th scope='col'>spent</th>"
        "<th scope='col'>remaining</th><th scope='col'>pace</th></tr></thead><tbody>{}</tbody></table>"
        "<p class='help'>Pace is the share of the budget spent over the share of the grant's time gone: "
        "1 is on pace, above 1.2 faster than time, below 0.8 slower.</p>",
        f"{as_of.day} {as_of:%b %Y}",
        f"{(figures.elapsed_share * 100).quantize(1)}%",
        rows,
    )
