"""Admin for usage fee schedules and their tiers, and a contract's usage fees month by month.

``contracts/admin.py`` imports this module; importing it registers the classes. Writes go
through :mod:`contracts.fee_schedules` (the kernel's admin base).
"""

from __future__ import annotations

import csv
from datetime import date

from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from opsite.core.admin import OpsiteHistoryAdmin, OpsiteTabularInline, money_column
from opsite.core.formatting import format_count, format_money

from .models import ServiceContract, UsageFeeSchedule, UsageFeeTier
from .resources import UsageFeeScheduleResource, UsageFeeTierResource
from .selectors import usage_fee_schedule_list, usage_fee_tier_list
from .usage_fees import MonthlyUsageFee, monthly_usage_fees

# The months a contract's page shows: the last year, as the runway's mean reads.
MONTHS_SHOWN = 12


class UsageFeeTierInline(OpsiteTabularInline):
    model = UsageFeeTier
    fields = ("up_to", "unit_price")
    extra = 0
    ordering = ("up_to",)


@admin.register(UsageFeeSchedule)
class UsageFeeScheduleAdmin(OpsiteHistoryAdmin):
    list_display = ("name", "slug", "currency", "tiers_shown")
    search_fields = ("slug", "name")
    inlines = (UsageFeeTierInline,)
    resource_classes = [UsageFeeScheduleResource]

    def get_queryset(self, request):
        return usage_fee_schedule_list()

    @admin.display(description="tiers")
    def tiers_shown(self, schedule: UsageFeeSchedule) -> str:
        parts = []
        for tier in schedule.tiers.all():
            bound = f"up to {format_count(tier.up_to)}" if tier.up_to is not None else "above"
            parts.append(f"{bound}: {format_money(tier.unit_price, schedule.currency)}")
        return "; ".join(parts) or "-"


@admin.register(UsageFeeTier)
class UsageFeeTierAdmin(OpsiteHistoryAdmin):
    list_display = ("schedule", "bound", "unit_price_figure")
    list_filter = ("schedule",)
    list_select_related = ("schedule",)
    resource_classes = [UsageFeeTierResource]

    def get_queryset(self, request):
        return usage_fee_tier_list()

    unit_price_figure = money_column("unit_price", "schedule.currency", description="unit price")

    @admin.display(description="up to", ordering="up_to")
    def bound(self, tier: UsageFeeTier) -> str:
        return format_count(tier.up_to) if tier.up_to is not None else "no upper bound"


# --- a contract's usage fees -------------------------------------------------------------------


def recent_usage_fees(contract: ServiceContract, *, through: date | None = None) -> list[MonthlyUsageFee]:
    """The contract's usage fees of its last ``MONTHS_SHOWN`` active months up to ``through``."""
    if contract.pk is None or contract.usage_fee_schedule_id is None:
        return []
    rows = monthly_usage_fees(through=through or timezone.localdate(), contract_ids=[contract.pk])
    return rows[-MONTHS_SHOWN:]


def usage_fees_table(contract: ServiceContract, csv_url: str) -> str:
    """The contract's usage fees as an HTML table, with a link to all of them as CSV."""
    if contract.usage_fee_schedule_id is None:
        return "Not priced by usage."
    rows = recent_usage_fees(contract)
    if not rows:
        return "No month yet in which the contract was active on the month's last day."
    body = format_html_join(
        "",
        "<tr><td>{}</td><td class='num'>{}</td><td class='num'>{}</td></tr>",
        (
            (f"{r.month_end:%b %Y}", format_count(r.billable_users), format_money(r.fee, r.currency))
            for r in rows
        ),
    )
    return format_html(
        "<table class='usage-fees'><thead><tr><th>Month</th><th>Billable users</th><th>Fee</th></tr></thead>"
        "<tbody>{}</tbody></table><p><a href='{}'>All months as CSV</a></p>",
        body,
        csv_url,
    )


def usage_fees_csv(contract: ServiceContract) -> HttpResponse:
    """Every active month's billable users and fee, up to today, as CSV."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-fees-{contract.reference}.csv"'
    out = csv.writer(response)
    out.writerow(["month_end", "billable_users", "fee", "currency"])
    if contract.usage_fee_schedule_id is not None:
        for row in monthly_usage_fees(through=timezone.localdate(), contract_ids=[contract.pk]):
            out.writerow([row.month_end.isoformat(), row.billable_users, f"{row.fee:.2f}", row.currency])
    return response
