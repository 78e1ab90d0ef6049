"""The rows the runway leaves out for their dates, counted for the dashboard's data-quality notes.

``funding.runway.loader`` skips every row dated outside the plausible range (``opsite.core.dates``;
see its docstring); this counts them all, table by table, whatever the cash position's date.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import Count, Q

from contracts.models import ContractPayment
from opsite.core.dates import plausible_range
from staff.models import Compensation, StaffMember

from ..models import CashPosition, Disbursement, ExchangeRate, ScenarioAdjustment, SubawardPayment
from ..models import Expense as ExpenseRow

# What the loader reads, and the dates that decide whether a row can be projected.
_DATED: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (CashPosition, ("as_of",)),
    (ExchangeRate, ("effective_on",)),
    (ContractPayment, ("due_on", "paid_on")),
    (Disbursement, ("expected_on", "received_on")),
    (SubawardPayment, ("due_on", "paid_on")),
    (ExpenseRow, ("start_on", "end_on")),
    (StaffMember, ("start_on", "end_on")),
    (Compensation, ("effective_on",)),
    (ScenarioAdjustment, ("start_on", "end_on")),
)


def implausible_rows() -> dict[str, int]:
    """Rows of the runway's tables dated outside the plausible range, by model label (only tables
    with some): one count query per table, whatever the number of rows.

    The loader leaves each of them out (see its module docstring); this counts them all, whether
    or not the current cash position's date would have read them.
    """
    span = plausible_range()
    counts: dict[str, int] = {}
    for model, names in _DATED:
        plausible = Q()
        for name in names:
            dated = Q(**{f"{name}__range": span})
            plausible &= dated | Q(**{f"{name}__isnull": True}) if model._meta.get_field(name).null else dated
        found = model.objects.aggregate(rows=Count("pk"), kept=Count("pk", filter=plausible))
        if found["rows"] != found["kept"]:
            counts[model._meta.label] = found["rows"] - found["kept"]
    return counts


def runway_data_quality_issues() -> list[str]:
    """The rows the runway leaves out for their dates, as sentences for the dashboard.

    Nine count queries. Each sentence names a table and a number of rows, never a value; it still
    tells that compensations or cash positions exist, so show it only to roles that may see the
    runway (docs/roles.md).
    """
    first, last = plausible_range()
    issues = []
    for label, count in implausible_rows().items():
        meta = apps.get_model(label)._meta
        name = meta.verbose_name if count == 1 else meta.verbose_name_plural
        issues.append(
            f"{count} {name} ({label}) {'is' if count == 1 else 'are'} dated outside "
            f"{first.isoformat()} to {last.isoformat()} and left out of the runway; correct the dates "
            "or delete the rows."
        )
    return issues
