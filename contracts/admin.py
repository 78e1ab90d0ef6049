"""Admin for service contracts and their payments, with their audit history.

Payment totals come from annotations in :mod:`contracts.selectors`, so a changelist costs the same
number of queries whatever its length. Saves go through ``full_clean()``, which runs the rules of
:mod:`contracts.services`; the payments edited inside a contract are checked against its total
value as one set, and the error is shown above them.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from opsite.core.admin import OpsiteHistoryAdmin
from opsite.core.money import quantize

from .choices import BillingPlan
from .models import ContractPayment, ServiceContract
from .resources import ContractPaymentResource, ServiceContractResource
from .selectors import with_payment_totals
from .services import (
    CHECKED_AS_A_SET,
    contract_payment_update,
    contract_payments_validate,
    contract_schedule_create,
    money,
)

# --- payments inside a contract --------------------------------------------------------------


class ContractPaymentInlineFormSet(BaseInlineFormSet):
    """The payments of one contract, checked against its total value as a whole.

    Checked row by row against the stored payments, moving money from one payment to another
    in one save would be refused; so each form skips that check and :meth:`clean` runs it once
    for the set as submitted.
    """

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        setattr(form.instance, CHECKED_AS_A_SET, True)
        return form

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        amounts, replacing = [], []
        for form in self.forms:
            if form.instance.pk is not None:
                replacing.append(form.instance.pk)
            if not form.cleaned_data or self._should_delete_form(form):
                continue
            amounts.append(form.cleaned_data.get("amount"))
        try:
            contract_payments_validate(contract=self.instance, amounts=amounts, replacing=replacing)
        except ValidationError as error:
            raise ValidationError(error.message_dict["amount"]) from None


class ContractPaymentInline(admin.TabularInline):
    model = ContractPayment
    formset = ContractPaymentInlineFormSet
    fields = ("due_on", "amount", "paid_on")
    extra = 0
    ordering = ("due_on", "id")
    show_change_link = True


# --- contracts -------------------------------------------------------------------------------


class ScheduleIncompleteFilter(admin.SimpleListFilter):
    title = "schedule incomplete"
    parameter_name = "schedule_incomplete"

    def lookups(self, request, model_admin):
        return (("yes", "Yes: payments short of the value"), ("no", "No: payments cover the value"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(schedule_incomplete=True)
        if self.value() == "no":
            return queryset.filter(schedule_incomplete=False)
        return queryset


class ContractActionForm(helpers.ActionForm):
    """The action bar, with the billing plan the "Create payment schedule" action uses."""

    plan = forms.ChoiceField(
        label="Billing plan", choices=[("", "billing plan…"), *BillingPlan.choices], required=False
    )


@admin.register(ServiceContract)
class ServiceContractAdmin(OpsiteHistoryAdmin):
    action_form = ContractActionForm
    list_display = (
        "reference",
        "community",
        "category",
        "status",
        "probability",
        "signed_on",
        "start_on",
        "end_on",
        "total_value",
        "currency",
        "scheduled",
        "schedule_incomplete",
    )
    list_filter = ("status", "category", ScheduleIncompleteFilter, "currency", "community__region")
    search_fields = ("reference", "community__name", "community__slug")
    date_hierarchy = "start_on"
    autocomplete_fields = ("community",)
    list_select_related = ("community",)
    readonly_fields = ("payments_summary", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("reference", "community", "category")}),
        ("Status", {"fields": ("status", "probability", "signed_on")}),
        ("Term and value", {"fields": ("start_on", "end_on", "total_value", "currency", "payments_summary")}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (ContractPaymentInline,)
    actions = ("create_payment_schedule",)
    resource_classes = [ServiceContractResource]

    def get_queryset(self, request):
        return with_payment_totals(super().get_queryset(request))

    @admin.display(description="payments", ordering="payments_total")
    def scheduled(self, obj: ServiceContract):
        return quantize(obj.payments_total)

    @admin.display(description="schedule incomplete", boolean=True, ordering="schedule_incomplete")
    def schedule_incomplete(self, obj: ServiceContract) -> bool:
        return obj.schedule_incomplete

    @admin.display(description="payments")
    def payments_summary(self, obj: ServiceContract) -> str:
        if obj.pk is None:
            return "-"
        total = quantize(obj.payments_total)
        text = f"{money(total, obj.currency)} scheduled, {money(quantize(obj.paid_total), obj.currency)} paid"
        if obj.schedule_incomplete:
            text += f"; {money(obj.total_value - total, obj.currency)} not scheduled yet"
        return text

    def has_add_payment_permission(self, request) -> bool:
        return request.user.has_perm("contracts.add_contractpayment")

    @admin.action(description="Create payment schedule (choose a billing plan)", permissions=["add_payment"])
    def create_payment_schedule(self, request, queryset):
        plan = request.POST.get("plan", "")
        if plan not in BillingPlan.values:
            self.message_user(request, "Choose a billing plan for the payment schedule.", messages.ERROR)
            return
        created: list[str] = []
        for contract in queryset.order_by("reference"):
            try:
                payments = contract_schedule_create(contract=contract, plan=plan)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                created.append(f"{contract.reference} ({len(payments)})")
        if created:
            self.message_user(
                request,
                f"Created {BillingPlan(plan).label.lower()} payment schedules for {', '.join(created)}.",
                messages.SUCCESS,
            )


# --- payments --------------------------------------------------------------------------------


class PaymentStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("paid", "Paid"), ("open", "Not paid yet"), ("overdue", "Overdue"))

    def queryset(self, request, queryset):
        if self.value() == "paid":
            return queryset.filter(paid_on__isnull=False)
        if self.value() == "open":
            return queryset.filter(paid_on__isnull=True)
        if self.value() == "overdue":
            return queryset.filter(paid_on__isnull=True, due_on__lt=timezone.localdate())
        return queryset


@admin.register(ContractPayment)
class ContractPaymentAdmin(OpsiteHistoryAdmin):
    list_display = ("contract", "community", "due_on", "amount", "currency", "paid_on", "state")
    list_filter = (PaymentStateFilter, "contract__status", "contract__category", "contract__currency")
    search_fields = ("contract__reference", "contract__community__name", "contract__community__slug")
    date_hierarchy = "due_on"
    autocomplete_fields = ("contract",)
    list_select_related = ("contract__community",)
    readonly_fields = ("created_at", "updated_at")
    actions = ("mark_paid_today",)
    resource_classes = [ContractPaymentResource]

    @admin.display(description="community", ordering="contract__community__name")
    def community(self, obj: ContractPayment):
        return obj.contract.community

    @admin.display(description="currency", ordering="contract__currency")
    def currency(self, obj: ContractPayment) -> str:
        return obj.contract.currency

    @admin.display(description="state")
    def state(self, obj: ContractPayment) -> str:
        if obj.paid_on is not None:
            return "paid"
        return "overdue" if obj.due_on < timezone.localdate() else "due"

    @admin.action(description="Mark as paid today", permissions=["change"])
    def mark_paid_today(self, request, queryset):
        today = timezone.localdate()
        marked = 0
        for payment in queryset.filter(paid_on__isnull=True):
            contract_payment_update(contract_payment=payment, data={"paid_on": today})
            marked += 1
        self.message_user(
            request,
            f"Marked {marked} payment{'' if marked == 1 else 's'} as paid on {today}.",
            messages.SUCCESS,
        )
