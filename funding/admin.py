"""Admin of the funding app: funders, grants and their money in and out, cash, scenarios.

Every save runs the model's ``clean()``, hence the service validators; the forms below put each
message on the field it names, or at the top of the form when that field is not on it (Django
would otherwise fail with "has no field named ..."). Changelists read through the selectors, so
their computed columns are subqueries in one query, never a query per row.

Cash positions and runway snapshots are sensitive: the role groups leave them out of
Operations, and nothing here shows a balance or a runway on any other model's page.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.models import BaseInlineFormSet

from opsite.core.admin import OpsiteAdmin, OpsiteHistoryAdmin, ReadOnlyAdmin
from opsite.core.money import ZERO, reporting_currency

from . import selectors
from .choices import GrantRole
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
from .services import (
    exchange_rate_validate,
    expense_validate,
    scenario_delete,
    scenario_save,
    scenario_set_default,
    scenario_validate,
)

# --- forms --------------------------------------------------------------------------------------


class ServiceRulesForm(forms.ModelForm):
    """A model form that shows every service message where the user can see it.

    ``validator`` runs a service validator the model's ``clean()`` does not call.
    """

    validator = None

    def _post_clean(self):
        super()._post_clean()
        if self.validator is not None:
            try:
                type(self).validator(self.instance)
            except ValidationError as e:
                self._update_errors(e)

    def add_error(self, field, error):
        if field is None and isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            shown = {name for name, f in self.fields.items() if not f.widget.is_hidden}
            remapped: dict[str, list] = {}
            for name, errors in error.error_dict.items():
                key = name if name in shown else NON_FIELD_ERRORS
                remapped.setdefault(key, []).extend(errors)
            error = ValidationError(remapped)
        super().add_error(field, error)


class ExpenseForm(ServiceRulesForm):
    validator = staticmethod(expense_validate)


class ExchangeRateForm(ServiceRulesForm):
    validator = staticmethod(exchange_rate_validate)


class ScenarioForm(ServiceRulesForm):
    validator = staticmethod(scenario_validate)

    def _get_validation_exclusions(self):
        # Ticking "default" on a second scenario is a switch, done by scenario_save; the
        # one-default constraint would refuse it here before the switch can happen.
        return {*super()._get_validation_exclusions(), "is_default"}


class CappedInlineFormSet(BaseInlineFormSet):
    """Children edited together must fit under their parent's ``amount`` together.

    Each child's own validation sees only the rows already saved, so two new rows entered in
    one go could each pass alone.
    """

    children = "rows"

    def clean(self):
        super().clean()
        parent = self.instance
        cap = getattr(parent, "amount", None)
        if any(self.errors) or cap is None:
            return
        total = sum(
            (
                form.cleaned_data.get("amount") or ZERO
                for form in self.forms
                if form.cleaned_data and not self._should_delete_form(form)
            ),
            ZERO,
        )
        if total > cap:
            currency = _currency_of(parent)
            raise ValidationError(
                f"The {self.children} of {parent._meta.verbose_name} {parent} would sum to {total:,.2f} {currency}, past its amount "
                f"{cap:,.2f} {currency} by {total - cap:,.2f} {currency}."
            )


def _currency_of(parent) -> str:
    if isinstance(parent, Grant):
        return parent.currency
    grant = getattr(parent, "grant", None) if getattr(parent, "grant_id", None) else None
    return grant.currency if grant is not None else reporting_currency()


class SubawardFormSet(CappedInlineFormSet):
    children = "subawards"


class DisbursementFormSet(CappedInlineFormSet):
    children = "disbursements"


class PaymentFormSet(CappedInlineFormSet):
    children = "payments"


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


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


class SubawardInline(admin.TabularInline):
    model = Subaward
    form = ServiceRulesForm
    formset = SubawardFormSet
    fields = ("reference", "recipient", "amount", "start_on", "end_on")
    extra = 0
    show_change_link = True


class DisbursementInline(admin.TabularInline):
    model = Disbursement
    form = ServiceRulesForm
    formset = DisbursementFormSet
    fields = ("expected_on", "amount", "received_on")
    extra = 0


@admin.register(Grant)
class GrantAdmin(OpsiteHistoryAdmin):
    resource_classes = [GrantResource]
    form = ServiceRulesForm
    list_display = (
        "reference",
        "title",
        "funder",
        "category",
        "role",
        "status",
        "probability",
        "amount",
        "currency",
        "subawarded_column",
        "net_column",
        "received_column",
        "awarded_on",
        "start_on",
        "end_on",
    )
    # Columns summing rows of other models, shown only to those who may see those rows.
    needs_view = {
        "subawarded_column": "funding.view_subaward",
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
    inlines = (SubawardInline, DisbursementInline)
    fieldsets = (
        (None, {"fields": ("reference", "funder", "title", "category", "role", "restricted")}),
        ("Pipeline", {"fields": ("status", "probability", "awarded_on")}),
        ("Money and dates", {"fields": ("amount", "currency", "start_on", "end_on")}),
    )

    def get_queryset(self, request):
        return selectors.grant_list()

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

    @admin.display(description="subawarded", ordering="subawarded")
    def subawarded_column(self, obj: Grant) -> str:
        return _money(obj.subawarded)

    @admin.display(description="net", ordering="net_amount")
    def net_column(self, obj: Grant) -> str:
        return _money(obj.net_amount)

    @admin.display(description="received", ordering="received")
    def received_column(self, obj: Grant) -> str:
        return _money(obj.received)


class SubawardPaymentInline(admin.TabularInline):
    model = SubawardPayment
    form = ServiceRulesForm
    formset = PaymentFormSet
    fields = ("due_on", "amount", "paid_on")
    extra = 0


@admin.register(Subaward)
class SubawardAdmin(OpsiteHistoryAdmin):
    resource_classes = [SubawardResource]
    form = ServiceRulesForm
    list_display = (
        "reference",
        "recipient",
        "grant",
        "amount",
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

    @admin.display(description="payments scheduled", ordering="scheduled")
    def scheduled_column(self, obj: Subaward) -> str:
        return _money(obj.scheduled)

    @admin.display(description="paid", ordering="paid")
    def paid_column(self, obj: Subaward) -> str:
        return _money(obj.paid)


@admin.register(Disbursement)
class DisbursementAdmin(OpsiteHistoryAdmin):
    resource_classes = [DisbursementResource]
    form = ServiceRulesForm
    list_display = ("grant", "funder_column", "expected_on", "amount", "currency_column", "received_on")
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

    @admin.display(description="currency")
    def currency_column(self, obj: Disbursement) -> str:
        return obj.grant.currency


@admin.register(SubawardPayment)
class SubawardPaymentAdmin(OpsiteHistoryAdmin):
    resource_classes = [SubawardPaymentResource]
    form = ServiceRulesForm
    list_display = ("subaward", "recipient_column", "grant_column", "due_on", "amount", "paid_on")
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


# --- cash, expenses, rates ----------------------------------------------------------------------


@admin.register(CashPosition)
class CashPositionAdmin(OpsiteHistoryAdmin):
    """Sensitive: Finance, Leadership and superusers only (see opsite.core.roles)."""

    resource_classes = [CashPositionResource]
    form = ServiceRulesForm
    list_display = ("as_of", "balance", "currency", "note")
    list_filter = ("currency",)
    search_fields = ("note",)
    date_hierarchy = "as_of"

    def get_queryset(self, request):
        return selectors.cash_position_list()


@admin.register(Expense)
class ExpenseAdmin(OpsiteAdmin):
    resource_classes = [ExpenseResource]
    form = ExpenseForm
    list_display = ("name", "category", "amount", "currency", "recurrence", "start_on", "end_on")
    list_filter = ("category", "recurrence", "currency", ("end_on", admin.EmptyFieldListFilter))
    search_fields = ("name",)
    date_hierarchy = "start_on"

    def get_queryset(self, request):
        return selectors.expense_list()


@admin.register(ExchangeRate)
class ExchangeRateAdmin(OpsiteAdmin):
    resource_classes = [ExchangeRateResource]
    form = ExchangeRateForm
    list_display = ("currency", "effective_on", "rate")
    list_filter = ("currency",)
    search_fields = ("currency",)
    date_hierarchy = "effective_on"

    def get_queryset(self, request):
        return selectors.exchange_rate_list()


# --- scenarios and the runway -------------------------------------------------------------------


class ScenarioAdjustmentInline(admin.TabularInline):
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


@admin.register(Scenario)
class ScenarioAdmin(OpsiteAdmin):
    resource_classes = [ScenarioResource]
    form = ScenarioForm
    list_display = (
        "name",
        "slug",
        "is_default",
        "pipeline",
        "reserve",
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

    def save_model(self, request, obj, form, change):
        scenario_save(scenario=obj)

    def delete_model(self, request, obj):
        scenario_delete(scenario=obj)

    def delete_queryset(self, request, queryset):
        for scenario in queryset:
            scenario_delete(scenario=scenario)

    @admin.display(description="what-ifs", ordering="adjustment_count")
    def adjustment_count(self, obj: Scenario) -> int:
        return obj.adjustment_count

    @admin.display(description="runway (months)", ordering="latest_months")
    def latest_months(self, obj: Scenario) -> str:
        if obj.latest_computed_at is None:
            return "-"
        return "beyond the horizon" if obj.latest_months is None else str(obj.latest_months)

    @admin.display(description="cash out on", ordering="latest_cash_out_on")
    def latest_cash_out_on(self, obj: Scenario):
        return obj.latest_cash_out_on

    @admin.action(description="Make the selected scenario the default", permissions=["change"])
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one scenario to make the default.", messages.ERROR)
            return
        scenario = scenario_set_default(scenario=queryset.get())
        self.message_user(request, f"{scenario} is now the default scenario.", messages.SUCCESS)


@admin.register(ScenarioAdjustment)
class ScenarioAdjustmentAdmin(OpsiteAdmin):
    resource_classes = [ScenarioAdjustmentResource]
    form = ServiceRulesForm
    list_display = (
        "label",
        "scenario",
        "kind",
        "amount",
        "recurrence",
        "start_on",
        "end_on",
        "grant",
        "months",
    )
    list_filter = ("kind", "recurrence", "scenario")
    list_select_related = ("scenario", "grant")
    search_fields = ("label", "scenario__name", "scenario__slug", "grant__reference")
    date_hierarchy = "start_on"
    autocomplete_fields = ("scenario", "grant")

    def get_queryset(self, request):
        return selectors.scenario_adjustment_list()


@admin.register(RunwaySnapshot)
class RunwaySnapshotAdmin(OpsiteAdmin):
    """Read-only: snapshots are computed by the runway, never typed in or edited."""

    resource_classes = [RunwaySnapshotResource]
    list_display = ("scenario", "as_of", "computed_at", "months", "cash_out_on")
    list_filter = ("scenario",)
    list_select_related = ("scenario",)
    search_fields = ("scenario__name", "scenario__slug")
    date_hierarchy = "as_of"
    fields = ("scenario", "as_of", "computed_at", "months", "cash_out_on", "result")

    def get_queryset(self, request):
        return selectors.runway_snapshot_list()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request):
        return False


@admin.register(RunwayAlert)
class RunwayAlertAdmin(ReadOnlyAdmin):
    """The runway alerts e-mailed to Leadership (sensitive: Finance and Leadership only)."""

    list_display = ("scenario", "snapshot", "months", "reason", "recipients", "sent_at")
    list_filter = ("reason", "scenario")
    list_select_related = ("scenario", "snapshot__scenario")
    date_hierarchy = "sent_at"
