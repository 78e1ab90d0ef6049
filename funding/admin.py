"""Admin of the funding app: funders, grants and their money in and out, cash, scenarios.

Every save and delete goes through the services (``funding.services``, through the kernel's admin
base), and every form shows their rules before anything is saved; the forms below put each message
on the field it names, or at the top of the form when that field is not on it (Django would
otherwise fail with "has no field named ..."). Changelists read through the selectors, so their
computed columns are subqueries in one query, never a query per row.

Cash positions and runway snapshots are sensitive: the role groups leave them out of
Operations, and nothing here shows a balance or a runway on any other model's page.
"""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.utils import timezone

from opsite.core.admin import (
    OpsiteAdmin,
    OpsiteHistoryAdmin,
    OpsiteTabularInline,
    ReadOnlyAdmin,
    ServiceWritesMixin,
    figure,
    money_column,
    months_column,
    percent_column,
)
from opsite.core.collection_admin import CollectionFlagsMixin
from opsite.core.formatting import format_months

from . import selectors, services
from .admin_budget import VIEW_SPENT, budget_table
from .admin_forms import CappedChildrenAdmin, CappedInlineFormSet, ScenarioForm, ServiceRulesForm
from .admin_restricted import FunderReportInline, GrantBudgetLineInline
from .choices import GrantRole
from .collection import grant_records
from .models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Funder,
    Grant,
    RunwayAlert,
    RunwaySnapshot,
    Scenario,
    ScenarioAdjustment,
    Subaward,
    SubawardPayment,
)
from .resources import (
    CashPositionResource,
    DisbursementResource,
    ExchangeRateResource,
    ExpenseResource,
    FunderResource,
    GrantResource,
    RunwaySnapshotResource,
    ScenarioAdjustmentResource,
    ScenarioResource,
    SubawardPaymentResource,
    SubawardResource,
)

# The forms and the capped-children machinery live in ``admin_forms``, shared with
# ``admin_restricted``.

# --- funders and grants -------------------------------------------------------------------------


@admin.register(Funder)
class FunderAdmin(OpsiteAdmin):
    resource_classes = [FunderResource]
    form = ServiceRulesForm
    list_display = ("name", "slug", "kind", "grant_count", "awarded_count")
    list_filter = ("kind",)
    search_fields = ("name", "slug", "grants__reference", "grants__title")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return selectors.funder_list()

    @admin.display(description="grants", ordering="grant_count")
    def grant_count(self, obj: Funder) -> int:
        return obj.grant_count

    @admin.display(description="awarded", ordering="awarded_count")
    def awarded_count(self, obj: Funder) -> int:
        return obj.awarded_count


class SubawardInline(OpsiteTabularInline):
    model = Subaward
    form = ServiceRulesForm
    formset = CappedInlineFormSet
    # The grant's cap on its subawards is the formset's, checked for the set; the rest per row.
    row_rules = staticmethod(partial(services.subaward_validate, with_siblings=False))
    fields = ("reference", "recipient", "amount", "start_on", "end_on")
    extra = 0
    show_change_link = True
    amount_figure = money_column("amount", "grant.currency")


class DisbursementInline(OpsiteTabularInline):
    model = Disbursement
    form = ServiceRulesForm
    formset = CappedInlineFormSet
    row_rules = None  # the grant's cap, their one rule across rows, is the formset's
    fields = ("expected_on", "amount", "received_on")
    extra = 0
    amount_figure = money_column("amount", "grant.currency")


@admin.register(Grant)
class GrantAdmin(CollectionFlagsMixin, CappedChildrenAdmin, OpsiteHistoryAdmin):
    resource_classes = [GrantResource]
    # The collection flags (opsite.core.collection_admin) tell what was received, which Operations,
    # who may view grants, may not see.
    flag_permissions = ("funding.view_disbursement", "funding.view_cashposition")
    form = ServiceRulesForm
    # What fits a laptop's screen beside the filters, the figures first so that a phone shows
    # them too. The title, category, role, the amount subawarded and the dates are on the
    # grant's page.
    list_display = (
        "reference",
        "amount_figure",
        "net_column",
        "received_column",
        "status",
        "probability_figure",
        "funder",
    )
    # Columns summing rows of other models, shown only to those who may see those rows.
    needs_view = {
        "net_column": "funding.view_subaward",
        "received_column": "funding.view_disbursement",
    }
    list_filter = ("status", "role", "category", "restricted", "currency", "funder")
    list_select_related = ("funder",)
    search_fields = (
        "reference",
        "title",
        "funder__name",
        "funder__slug",
        "subawards__reference",
        "subawards__recipient",
    )
    date_hierarchy = "start_on"
    autocomplete_fields = ("funder",)
    # Budget lines and reports are shown to those who may view them (Finance, Leadership).
    inlines = (SubawardInline, DisbursementInline, GrantBudgetLineInline, FunderReportInline)
    fieldsets = (
        (None, {"fields": ("reference", "funder", "title", "category", "role", "restricted", "purpose")}),
        ("Pipeline", {"fields": ("status", "probability", "awarded_on")}),
        ("Money and dates", {"fields": ("amount", "currency", "start_on", "end_on")}),
    )

    def flag_records(self, as_of):
        return grant_records(as_of)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and request.user.has_perm(VIEW_SPENT):
            fieldsets = (*fieldsets, ("Budget vs actual", {"fields": ("budget_vs_actual",)}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and request.user.has_perm(VIEW_SPENT):
            readonly = (*readonly, "budget_vs_actual")
        return readonly

    @admin.display(description="budget vs actual")
    def budget_vs_actual(self, obj: Grant):
        """Per budget category, as of today (Finance and Leadership only: spent reveals pay)."""
        return budget_table(obj, as_of=timezone.localdate())

    def get_queryset(self, request):
        return self.with_flags(request, selectors.grant_list())

    def get_list_display(self, request):
        return [
            name
            for name in super().get_list_display(request)
            if name not in self.needs_view or request.user.has_perm(self.needs_view[name])
        ]

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        if obj is not None and obj.role != GrantRole.PRIME:
            # Only a prime grant passes subawards on; an empty inline would invite an error.
            inlines = [inline for inline in inlines if not isinstance(inline, SubawardInline)]
        return inlines

    probability_figure = percent_column("probability")
    amount_figure = money_column("amount")
    net_column = money_column("net_amount", description="net")
    received_column = money_column("received")


class SubawardPaymentInline(OpsiteTabularInline):
    model = SubawardPayment
    form = ServiceRulesForm
    formset = CappedInlineFormSet
    row_rules = None  # the subaward's cap, their one rule across rows, is the formset's
    fields = ("due_on", "amount", "paid_on")
    extra = 0
    amount_figure = money_column("amount", "subaward.grant.currency")


@admin.register(Subaward)
class SubawardAdmin(CappedChildrenAdmin, OpsiteHistoryAdmin):
    resource_classes = [SubawardResource]
    form = ServiceRulesForm
    list_display = (
        "reference",
        "recipient",
        "grant",
        "amount_figure",
        "scheduled_column",
        "paid_column",
        "start_on",
        "end_on",
    )
    list_filter = ("grant__status", "grant__funder")
    list_select_related = ("grant", "grant__funder")
    search_fields = ("reference", "recipient", "grant__reference", "grant__title", "grant__funder__name")
    date_hierarchy = "start_on"
    autocomplete_fields = ("grant",)
    inlines = (SubawardPaymentInline,)

    def get_queryset(self, request):
        return selectors.subaward_list()

    amount_figure = money_column("amount", "grant.currency")
    scheduled_column = money_column("scheduled", "grant.currency", description="payments scheduled")
    paid_column = money_column("paid", "grant.currency")


@admin.register(Disbursement)
class DisbursementAdmin(OpsiteHistoryAdmin):
    resource_classes = [DisbursementResource]
    form = ServiceRulesForm
    list_display = ("grant", "funder_column", "expected_on", "amount_figure", "received_on")
    list_filter = (("received_on", admin.EmptyFieldListFilter), "grant__status", "grant__funder")
    list_select_related = ("grant", "grant__funder")
    search_fields = ("grant__reference", "grant__title", "grant__funder__name")
    date_hierarchy = "expected_on"
    autocomplete_fields = ("grant",)

    def get_queryset(self, request):
        return selectors.disbursement_list()

    @admin.display(description="funder", ordering="grant__funder__name")
    def funder_column(self, obj: Disbursement) -> str:
        return obj.grant.funder.name

    amount_figure = money_column("amount", "grant.currency")


@admin.register(SubawardPayment)
class SubawardPaymentAdmin(OpsiteHistoryAdmin):
    resource_classes = [SubawardPaymentResource]
    form = ServiceRulesForm
    list_display = ("subaward", "recipient_column", "grant_column", "due_on", "amount_figure", "paid_on")
    list_filter = (("paid_on", admin.EmptyFieldListFilter), "subaward__grant__status")
    list_select_related = ("subaward", "subaward__grant")
    search_fields = ("subaward__reference", "subaward__recipient", "subaward__grant__reference")
    date_hierarchy = "due_on"
    autocomplete_fields = ("subaward",)

    def get_queryset(self, request):
        return selectors.subaward_payment_list()

    @admin.display(description="recipient", ordering="subaward__recipient")
    def recipient_column(self, obj: SubawardPayment) -> str:
        return obj.subaward.recipient

    @admin.display(description="grant", ordering="subaward__grant__reference")
    def grant_column(self, obj: SubawardPayment) -> str:
        return obj.subaward.grant.reference

    amount_figure = money_column("amount", "subaward.grant.currency")


# --- cash, expenses, rates ----------------------------------------------------------------------


@admin.register(CashPosition)
class CashPositionAdmin(OpsiteHistoryAdmin):
    """Sensitive: Finance, Leadership and superusers only (see opsite.core.roles)."""

    resource_classes = [CashPositionResource]
    form = ServiceRulesForm
    list_display = ("as_of", "balance_figure", "note")
    list_filter = ("currency",)
    search_fields = ("note",)
    date_hierarchy = "as_of"

    def get_queryset(self, request):
        return selectors.cash_position_list()

    balance_figure = money_column("balance")


@admin.register(Expense)
class ExpenseAdmin(OpsiteAdmin):
    resource_classes = [ExpenseResource]
    form = ServiceRulesForm
    list_display = ("name", "category", "amount_figure", "recurrence", "start_on", "end_on", "grant")
    list_filter = ("category", "recurrence", "currency", ("end_on", admin.EmptyFieldListFilter), "grant")
    search_fields = ("name", "grant__reference")
    date_hierarchy = "start_on"
    autocomplete_fields = ("grant",)

    def get_queryset(self, request):
        return selectors.expense_list()

    amount_figure = money_column("amount")


@admin.register(ExchangeRate)
class ExchangeRateAdmin(OpsiteAdmin):
    resource_classes = [ExchangeRateResource]
    form = ServiceRulesForm
    list_display = ("currency", "effective_on", "rate")
    list_filter = ("currency",)
    search_fields = ("currency",)
    date_hierarchy = "effective_on"

    def get_queryset(self, request):
        return selectors.exchange_rate_list()


# --- scenarios and the runway -------------------------------------------------------------------


class ScenarioAdjustmentInline(OpsiteTabularInline):
    model = ScenarioAdjustment
    form = ServiceRulesForm
    fields = (
        "kind",
        "label",
        "amount",
        "benefits_rate",
        "recurrence",
        "start_on",
        "end_on",
        "grant",
        "months",
    )
    autocomplete_fields = ("grant",)
    extra = 0
    # Adjustments are in the reporting currency.
    amount_figure = money_column("amount", None)
    benefits_rate_figure = percent_column("benefits_rate", fraction=True, description="benefits rate")


@admin.register(Scenario)
class ScenarioAdmin(OpsiteAdmin):
    resource_classes = [ScenarioResource]
    form = ScenarioForm
    list_display = (
        "name",
        "slug",
        "is_default",
        "pipeline",
        "reserve_figure",
        "horizon_months",
        "adjustment_count",
        "latest_months",
        "latest_cash_out_on",
    )
    list_filter = ("pipeline", "is_default")
    search_fields = ("name", "slug", "adjustments__label")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (ScenarioAdjustmentInline,)
    actions = ("make_default",)

    def get_queryset(self, request):
        return selectors.scenario_list()

    @admin.display(description="what-ifs", ordering="adjustment_count")
    def adjustment_count(self, obj: Scenario) -> int:
        return obj.adjustment_count

    reserve_figure = money_column("reserve", None)

    @admin.display(description="runway (months)", ordering="latest_months")
    def latest_months(self, obj: Scenario) -> str:
        if obj.latest_computed_at is None:
            return "-"
        return "beyond the horizon" if obj.latest_months is None else figure(format_months(obj.latest_months))

    @admin.display(description="cash out on", ordering="latest_cash_out_on")
    def latest_cash_out_on(self, obj: Scenario):
        return obj.latest_cash_out_on

    @admin.action(description="Make the selected scenario the default", permissions=["change"])
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one scenario to make the default.", messages.ERROR)
            return
        scenario = services.scenario_set_default(scenario=queryset.get())
        self.message_user(request, f"{scenario} is now the default scenario.", messages.SUCCESS)


@admin.register(ScenarioAdjustment)
class ScenarioAdjustmentAdmin(OpsiteAdmin):
    resource_classes = [ScenarioAdjustmentResource]
    form = ServiceRulesForm
    list_display = (
        "label",
        "scenario",
        "kind",
        "amount_figure",
        "recurrence",
        "start_on",
        "end_on",
    )
    list_filter = ("kind", "recurrence", "scenario")
    list_select_related = ("scenario", "grant")
    search_fields = ("label", "scenario__name", "scenario__slug", "grant__reference")
    date_hierarchy = "start_on"
    autocomplete_fields = ("scenario", "grant")

    def get_queryset(self, request):
        return selectors.scenario_adjustment_list()

    amount_figure = money_column("amount", None)
    benefits_rate_figure = percent_column("benefits_rate", fraction=True, description="benefits rate")


@admin.register(RunwaySnapshot)
class RunwaySnapshotAdmin(OpsiteAdmin):
    """Read-only: snapshots are computed by the runway, never typed in or edited."""

    resource_classes = [RunwaySnapshotResource]
    list_display = ("scenario", "as_of", "computed_at", "months_figure", "cash_out_on")
    list_filter = ("scenario",)
    list_select_related = ("scenario",)
    search_fields = ("scenario__name", "scenario__slug")
    date_hierarchy = "as_of"
    fields = ("scenario", "as_of", "computed_at", "months", "cash_out_on", "result")

    def get_queryset(self, request):
        return selectors.runway_snapshot_list()

    months_figure = months_column("months", description="runway (months)")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request):
        return False


@admin.register(RunwayAlert)
class RunwayAlertAdmin(ServiceWritesMixin, ReadOnlyAdmin):
    """The runway alerts e-mailed to Leadership (sensitive: Finance and Leadership only).

    Never typed in; a delete (which lets a later run alert on that snapshot again) goes through
    the services like any other.
    """

    list_display = ("scenario", "snapshot_as_of", "months_figure", "reason", "recipients", "sent_at")
    list_filter = ("reason", "scenario")
    list_select_related = ("scenario", "snapshot")
    date_hierarchy = "sent_at"

    months_figure = months_column("months", description="runway (months)")

    @admin.display(description="runway as of", ordering="snapshot__as_of")
    def snapshot_as_of(self, obj: RunwayAlert):
        return obj.snapshot.as_of
