"""Admin for service contracts and their payments, with their audit history.

Payment totals come from annotations in :mod:`contracts.selectors`, so a changelist costs the same
number of queries whatever its length. Every save, delete and action goes through
:mod:`contracts.services` (the kernel's admin base, ``opsite.core.admin``); the payments edited
inside a contract are checked against its total value as one set, the error shown above them, and
saved together by ``contract_payments_save``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.urls import path, reverse
from django.utils import timezone

from opsite.core.admin import (
    OpsiteHistoryAdmin,
    OpsiteTabularInline,
    form_data,
    money_column,
    percent_column,
)
from opsite.core.collection_admin import CollectionFlagsMixin
from opsite.core.formatting import format_money
from opsite.core.money import quantize
from opsite.core.services import adopt

from .choices import BillingPlan
from .collection import contract_records

# Importing it registers the usage fee schedules' admins too.
from .fee_admin import usage_fees_csv, usage_fees_table
from .models import ContractPayment, ServiceContract
from .resources import ContractPaymentResource, ServiceContractResource
from .selectors import with_payment_totals
from .services import (
    PaymentChange,
    contract_payment_update,
    contract_payments_check,
    contract_payments_save,
    contract_schedule_create,
)

# --- payments inside a contract --------------------------------------------------------------


class ContractPaymentInlineFormSet(BaseInlineFormSet):
    """The payments of one contract, checked against its total value and saved as one set.

    Checked row by row against the stored payments, moving money from one payment to another
    in one save would be refused; so :meth:`clean` checks the set as submitted, and the
    contract's admin saves it with the same set-level service.
    """

    def payment_changes(self) -> tuple[list[PaymentChange], list[ContractPayment], list]:
        """The submitted set: its changes (stored payments changed, new ones), its deletions,
        and the form of each change, in the same order."""
        changes, deletions, forms_of_changes = [], [], []
        for form in self.initial_forms:
            if form.instance.pk is None:
                continue
            if self.can_delete and self._should_delete_form(form):
                deletions.append(form.instance)
            elif form.has_changed():
                changes.append(PaymentChange(form.instance, form_data(form, changed_only=True)))
                forms_of_changes.append(form)
        for form in self.extra_forms:
            if not form.has_changed() or (self.can_delete and self._should_delete_form(form)):
                continue
            data = {**form_data(form, changed_only=False), "contract": self.instance}
            changes.append(PaymentChange(None, data))
            forms_of_changes.append(form)
        return changes, deletions, forms_of_changes

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        changes, deletions, _ = self.payment_changes()
        try:
            contract_payments_check(changes=changes, deletions=deletions)
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class ContractPaymentInline(OpsiteTabularInline):
    # The payments' only rule across rows, the contract's total, is checked for the whole set by
    # the formset (a row checked alone against the stored ones would refuse a valid set).
    row_rules = None
    model = ContractPayment
    formset = ContractPaymentInlineFormSet
    fields = ("due_on", "amount", "paid_on")
    extra = 0
    ordering = ("due_on", "id")
    show_change_link = True
    amount_figure = money_column("amount", "contract.currency")


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
class ServiceContractAdmin(CollectionFlagsMixin, OpsiteHistoryAdmin):
    action_form = ContractActionForm
    # The collection flags (opsite.core.collection_admin) tell what was paid and the cash
    # position's date, which Operations, who may view contracts, may not see.
    flag_permissions = ("contracts.view_contractpayment", "funding.view_cashposition")
    # What fits a laptop's screen beside the filters, the figures first so that a phone shows
    # them too. The category and the dates are on the contract's page.
    list_display = (
        "reference",
        "total_value_figure",
        "scheduled",
        "fully_scheduled",
        "status",
        "probability_figure",
        "community",
    )
    list_filter = ("status", "category", ScheduleIncompleteFilter, "currency", "community__region")
    search_fields = ("reference", "community__name", "community__slug")
    date_hierarchy = "start_on"
    autocomplete_fields = ("community",)
    list_select_related = ("community",)
    readonly_fields = ("payments_summary", "usage_fees", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("reference", "community", "category")}),
        ("Status", {"fields": ("status", "probability", "signed_on")}),
        ("Term and value", {"fields": ("start_on", "end_on", "total_value", "currency", "payments_summary")}),
        ("Usage fees", {"fields": ("usage_fee_schedule", "usage_fees")}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (ContractPaymentInline,)
    actions = ("create_payment_schedule",)
    resource_classes = [ServiceContractResource]

    def flag_records(self, as_of):
        return contract_records(as_of)

    def get_queryset(self, request):
        return self.with_flags(request, with_payment_totals(super().get_queryset(request)))

    def get_urls(self):
        csv_view = self.admin_site.admin_view(self.usage_fees_csv_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_usage_fees"
        return [path("<int:object_id>/usage-fees.csv", csv_view, name=name), *super().get_urls()]

    def usage_fees_csv_view(self, request, object_id: int):
        """The contract's usage fees, every active month, as CSV: for whoever may see it."""
        contract = self.get_object(request, str(object_id))
        if contract is None or not self.has_view_permission(request, contract):
            raise PermissionDenied
        return usage_fees_csv(contract)

    @admin.display(description="usage fees, last 12 months")
    def usage_fees(self, obj: ServiceContract) -> str:
        if obj.pk is None:
            return "-"
        return usage_fees_table(obj, reverse("admin:contracts_servicecontract_usage_fees", args=[obj.pk]))

    def save_formset(self, request, form, formset, change):
        """The payments inline: written as one set by ``contract_payments_save``.

        Fills the formset's ``new_objects``, ``changed_objects`` and ``deleted_objects``, as
        ``BaseModelFormSet.save`` does, for the admin's change message.
        """
        if not isinstance(formset, ContractPaymentInlineFormSet):
            return super().save_formset(request, form, formset, change)
        changes, deletions, forms_of_changes = formset.payment_changes()
        saved = contract_payments_save(changes=changes, deletions=deletions)
        formset.deleted_objects = deletions
        formset.new_objects, formset.changed_objects = [], []
        for change, inline_form, payment in zip(changes, forms_of_changes, saved, strict=True):
            if change.payment is None:
                adopt(inline_form.instance, payment)
                formset.new_objects.append(inline_form.instance)
            else:
                formset.changed_objects.append((payment, inline_form.changed_data))
        return None

    probability_figure = percent_column("probability")
    total_value_figure = money_column("total_value", description="total value")
    scheduled = money_column("payments_total", description="payments")

    # Said the positive way, so that the green tick is the good news and the red cross the gap.
    @admin.display(description="fully scheduled", boolean=True, ordering="-schedule_incomplete")
    def fully_scheduled(self, obj: ServiceContract) -> bool:
        return not obj.schedule_incomplete

    @admin.display(description="payments")
    def payments_summary(self, obj: ServiceContract) -> str:
        if obj.pk is None:
            return "-"
        total = quantize(obj.payments_total)
        scheduled, paid = format_money(total, obj.currency), format_money(obj.paid_total, obj.currency)
        text = f"{scheduled} scheduled, {paid} paid"
        if obj.schedule_incomplete:
            text += f"; {format_money(obj.total_value - total, obj.currency)} not scheduled yet"
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
    list_display = ("contract", "community", "due_on", "amount_figure", "paid_on", "state")
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

    amount_figure = money_column("amount", "contract.currency")

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
