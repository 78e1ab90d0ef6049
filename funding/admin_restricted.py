"""Admin of restricted money: budget lines, staff allocations and funder reports.

The budget lines and the reports are also inlines of the grant's page (``funding.admin``); the
allocations are an inline of the staff member's page, added through the kernel
(``opsite.core.admin.add_inline``) since ``staff`` may not import ``funding``. Allocations reveal
pay: the role groups give them to Finance and Leadership only, and Django shows an inline only to
those who may view its model.
"""

from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from opsite.core.admin import OpsiteHistoryAdmin, OpsiteTabularInline, add_inline, money_column

from . import selectors, services
from .admin_forms import CappedInlineFormSet, ServiceRulesForm
from .models import FunderReport, GrantBudgetLine, StaffAllocation
from .resources import FunderReportResource, GrantBudgetLineResource, StaffAllocationResource


class GrantBudgetLineInline(OpsiteTabularInline):
    """The grant's budget by category: together never past the grant's amount."""

    model = GrantBudgetLine
    form = ServiceRulesForm
    formset = CappedInlineFormSet
    row_rules = partial(services.grant_budget_line_validate, with_siblings=False)
    fields = ("category", "amount")
    extra = 0
    amount_figure = money_column("amount", "grant.currency")


class FunderReportInline(OpsiteTabularInline):
    """What the funder is owed, when, and who writes it (reminded 35 and 7 days before)."""

    model = FunderReport
    form = ServiceRulesForm
    fields = ("kind", "period_start", "period_end", "due_on", "owner", "submitted_on")
    extra = 0
    ordering = ("due_on",)
    show_change_link = True


@admin.register(GrantBudgetLine)
class GrantBudgetLineAdmin(OpsiteHistoryAdmin):
    resource_classes = [GrantBudgetLineResource]
    form = ServiceRulesForm
    list_display = ("grant", "category", "amount_figure")
    list_filter = ("category", "grant__currency")
    list_select_related = ("grant",)
    search_fields = ("grant__reference", "grant__title")
    autocomplete_fields = ("grant",)

    def get_queryset(self, request):
        return selectors.grant_budget_line_list()

    amount_figure = money_column("amount", "grant.currency")


class AllocationInlineFormSet(BaseInlineFormSet):
    """A person's allocations edited together never sum past 1 on any day, taken as a set."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = []
        for form in self.forms:
            data = form.cleaned_data
            if not data or self._should_delete_form(form):
                continue
            share, start_on, end_on = data.get("share"), data.get("start_on"), data.get("end_on")
            if share is None or start_on is None or end_on is None or end_on < start_on:
                continue
            rows.append((share, start_on, end_on))
        try:
            services.staff_allocations_validate(staff=self.instance, rows=rows)
        except ValidationError as error:
            raise ValidationError(error.messages) from None

    def order_changes(self, forms):
        """Lowered shares first: each save then also passes alone (the services check it again)."""
        return sorted(forms, key=lambda form: form.instance.share - form.initial.get("share", 0))


class StaffAllocationInline(OpsiteTabularInline):
    """The grants a person's time is charged to (on the staff member's page)."""

    model = StaffAllocation
    form = ServiceRulesForm
    formset = AllocationInlineFormSet
    row_rules = partial(services.staff_allocation_validate, with_siblings=False)
    fields = ("grant", "share", "start_on", "end_on")
    autocomplete_fields = ("grant",)
    extra = 0
    ordering = ("start_on",)


add_inline("staff.StaffMember", StaffAllocationInline)


@admin.register(StaffAllocation)
class StaffAllocationAdmin(OpsiteHistoryAdmin):
    resource_classes = [StaffAllocationResource]
    form = ServiceRulesForm
    list_display = ("staff", "grant", "share", "start_on", "end_on")
    list_filter = ("grant",)
    list_select_related = ("staff", "grant")
    search_fields = ("staff__name", "staff__slug", "grant__reference")
    date_hierarchy = "start_on"
    autocomplete_fields = ("staff", "grant")

    def get_queryset(self, request):
        return selectors.staff_allocation_list()


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("late", "Late"), ("open", "Not submitted"), ("submitted", "Submitted"))

    def queryset(self, request, queryset):
        if self.value() == "late":
            return queryset.filter(submitted_on__isnull=True, due_on__lt=timezone.localdate())
        if self.value() == "open":
            return queryset.filter(submitted_on__isnull=True)
        if self.value() == "submitted":
            return queryset.filter(submitted_on__isnull=False)
        return queryset


@admin.register(FunderReport)
class FunderReportAdmin(OpsiteHistoryAdmin):
    resource_classes = [FunderReportResource]
    form = ServiceRulesForm
    list_display = ("grant", "kind", "period_start", "period_end", "due_on", "owner_column", "submitted_on")
    list_filter = (OpenFilter, "kind", "grant")
    list_select_related = ("grant", "owner")
    # Not by owner: Finance may not view users, so no search or sort goes through them.
    search_fields = ("grant__reference", "grant__title")
    date_hierarchy = "due_on"
    autocomplete_fields = ("grant",)
    readonly_fields = ("reminded_35_at", "reminded_7_at")
    fieldsets = (
        (None, {"fields": ("grant", "kind", "period_start", "period_end")}),
        ("Deadline", {"fields": ("due_on", "owner", "submitted_on")}),
        ("Reminders sent", {"fields": ("reminded_35_at", "reminded_7_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return selectors.funder_report_list()

    @admin.display(description="owner")
    def owner_column(self, obj: FunderReport) -> str:
        return obj.owner_name or "–"
