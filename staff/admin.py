"""Admin for the roster and its compensation history.

Saves and deletes go through ``staff.services`` (the kernel's admin base calls them), so the admin
applies the rules, and announces the roster changes, exactly as the API and imports do.

Compensation is sensitive (docs/roles.md "What is sensitive"): only users holding
``staff.view_compensation`` (Finance, Leadership, superusers) see the pay inline, the pay column,
the compensation pages, their history and their export. Every other view of a staff member is
built without reading a pay record at all. A refused delete names no pay record to them: the
kernel's admin base shows "Records you may not see" instead (``opsite.core.visibility``).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from opsite.core.admin import (
    OpsiteAdmin,
    OpsiteHistoryAdmin,
    OpsiteTabularInline,
    extra_inlines,
    figure,
    money_column,
    percent_column,
)
from opsite.core.formatting import format_money
from opsite.core.money import quantize

from .models import Compensation, StaffMember
from .resources import CompensationResource, StaffMemberResource
from .selectors import compensation_list, employed_on_q, staff_member_list, staff_member_list_with_pay

VIEW_COMPENSATION = "staff.view_compensation"


def may_view_compensation(request) -> bool:
    return request.user.has_perm(VIEW_COMPENSATION)


class CompensationInline(OpsiteTabularInline):
    """Pay history of one person, newest first. Shown only to users who may view compensation."""

    model = Compensation
    fields = ("effective_on", "annual_salary", "benefits_rate", "currency")
    extra = 0
    ordering = ("-effective_on",)
    # Read by those who may only view pay (Leadership): as money and a percentage.
    annual_salary_figure = money_column("annual_salary", description="annual salary")
    benefits_rate_figure = percent_column("benefits_rate", fraction=True, description="benefits rate")


class EmployedTodayFilter(admin.SimpleListFilter):
    title = "employed today"
    parameter_name = "employed"

    def lookups(self, request, model_admin):
        return (("yes", "Employed"), ("no", "Not employed (left or not started)"))

    def queryset(self, request, queryset):
        employed = employed_on_q(timezone.localdate())
        if self.value() == "yes":
            return queryset.filter(employed)
        if self.value() == "no":
            return queryset.exclude(employed)
        return queryset


@admin.register(StaffMember)
class StaffMemberAdmin(OpsiteAdmin):
    # What fits a laptop's screen beside the filters; the slug, GitHub login and dates are on the
    # person's page (and the dates in the list's date bar).
    list_display = (
        "name",
        "title",
        "team",
        "employment",
        "fte",
        "is_employed",
        "distinguished_contributor",
    )
    list_filter = (EmployedTodayFilter, "team", "employment", "distinguished_contributor", "country")
    search_fields = ("name", "slug", "github", "email", "title")
    date_hierarchy = "start_on"
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "slug", "github", "email", "country")}),
        ("Role", {"fields": ("title", "team", "employment", "fte", "distinguished_contributor")}),
        ("Employment", {"fields": ("start_on", "end_on")}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    resource_classes = [StaffMemberResource]

    def get_queryset(self, request):
        if may_view_compensation(request):
            return staff_member_list_with_pay(timezone.localdate())
        return staff_member_list()

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if may_view_compensation(request):
            columns = (*columns, "current_pay")
        return columns

    def get_inlines(self, request, obj):
        # Django would hide the inline from users without the permission anyway; saying it here
        # keeps the rule visible where the page is built. The apps above add theirs (the grants
        # a person's time is charged to, which reveal pay as much: Finance and Leadership only).
        if not may_view_compensation(request):
            return ()
        return (CompensationInline, *extra_inlines(StaffMember))

    def construct_change_message(self, request, form, formsets, add=False):
        # Pay changes (and the allocations that reveal pay) are audited in their own histories,
        # visible to Finance and Leadership. Kept out of the staff member's log, which Operations
        # can read.
        sensitive = {Compensation, *(inline.model for inline in extra_inlines(StaffMember))}
        formsets = [f for f in formsets if f.model not in sensitive]
        return super().construct_change_message(request, form, formsets, add)

    @admin.display(description="employed today", boolean=True)
    def is_employed(self, obj: StaffMember) -> bool:
        today = timezone.localdate()
        return obj.start_on <= today and (obj.end_on is None or obj.end_on >= today)

    current_pay = money_column("current_annual_salary", "current_currency", description="current pay")


@admin.register(Compensation)
class CompensationAdmin(OpsiteHistoryAdmin):
    list_display = (
        "staff",
        "effective_on",
        "in_effect_until",
        "annual_salary_figure",
        "benefits_rate_figure",
        "loaded_annual_cost",
    )
    list_filter = ("staff__team", ("staff", admin.RelatedOnlyFieldListFilter), "currency")
    search_fields = ("staff__name", "staff__slug", "staff__github")
    date_hierarchy = "effective_on"
    autocomplete_fields = ("staff",)
    list_select_related = ("staff",)
    readonly_fields = ("created_at", "updated_at")
    resource_classes = [CompensationResource]

    def get_readonly_fields(self, request, obj=None):
        # A pay record stays with its person (``compensation_update``): record the pay under the
        # right person and delete the wrong record.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "staff") if obj is not None else fields

    def get_queryset(self, request):
        # The day before the next record of the same person takes effect, for a column that
        # reads as a timeline without a query per row.
        next_effective_on = (
            Compensation.objects.filter(staff=OuterRef("staff"), effective_on__gt=OuterRef("effective_on"))
            .order_by("effective_on")
            .values("effective_on")[:1]
        )
        return compensation_list().annotate(superseded_on=Subquery(next_effective_on))

    @admin.display(description="until", ordering="superseded_on")
    def in_effect_until(self, obj: Compensation) -> str:
        if obj.superseded_on is None:
            return "-"
        return f"before {obj.superseded_on.isoformat()}"

    annual_salary_figure = money_column("annual_salary", description="annual salary")
    benefits_rate_figure = percent_column("benefits_rate", fraction=True, description="benefits rate")

    @admin.display(description="loaded annual cost")
    def loaded_annual_cost(self, obj: Compensation) -> str:
        # Salary plus benefits, in Python from the row's own columns: SQLite would do the
        # arithmetic in floating point.
        return figure(format_money(quantize(obj.annual_salary * (1 + obj.benefits_rate)), obj.currency))
