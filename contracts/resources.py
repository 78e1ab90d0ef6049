"""Import/export of service contracts and their payments (CSV, XLSX, JSON), by natural key.

An exported file re-imports as an update: contracts are matched by ``reference``; payments,
which have no natural key, by ``id`` (leave it empty for a new payment). A contract is written
as its reference, a community as its slug. Rows are written by :mod:`contracts.services`; a file
of payments is checked as one set against each contract's total value
(``contract_payments_check``), so it may move money from one payment to another, then written a
batch at a time through the payments' batch services.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from import_export import fields, widgets
from import_export.results import RowResult

from communities.models import Community
from opsite.core.batch_import import BATCH_ROWS, Pending
from opsite.core.import_templates import key_with_room
from opsite.core.money import quantize
from opsite.core.resources import NaturalKeyResource, NaturalKeyWidget, OpsiteResource

from .models import ContractPayment, ServiceContract, UsageFeeSchedule, UsageFeeTier
from .selectors import contract_list, contract_payment_list, usage_fee_schedule_list, usage_fee_tier_list
from .services import OVER_TOTAL, PaymentChange, contract_payments_check


class ServiceContractResource(NaturalKeyResource):
    """A contract per row, matched by ``reference``; ``usage_fee_schedule`` is a schedule's slug,
    empty when the contract is not priced by usage.

    ``payments_total`` and ``schedule_incomplete`` are exported for reading and ignored on import.
    """

    community = fields.Field(
        attribute="community", column_name="community", widget=NaturalKeyWidget(Community, "slug")
    )
    usage_fee_schedule = fields.Field(
        attribute="usage_fee_schedule",
        column_name="usage_fee_schedule",
        widget=NaturalKeyWidget(UsageFeeSchedule, "slug"),
    )
    payments_total = fields.Field(
        attribute="payments_total", column_name="payments_total", widget=widgets.CharWidget(), readonly=True
    )
    schedule_incomplete = fields.Field(
        attribute="schedule_incomplete",
        column_name="schedule_incomplete",
        widget=widgets.BooleanWidget(),
        readonly=True,
    )

    class Meta(OpsiteResource.Meta):
        model = ServiceContract
        fields = (
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
            "usage_fee_schedule",
            "payments_total",
            "schedule_incomplete",
        )
        export_order = fields
        import_id_fields = ("reference",)

    def get_queryset(self):
        return contract_list()

    def dehydrate_payments_total(self, contract: ServiceContract) -> str:
        total = getattr(contract, "payments_total", None)
        return "" if total is None else format(quantize(total), "f")


class ContractPaymentResource(NaturalKeyResource):
    """A payment per row, matched by ``id``; ``contract`` is the contract's reference."""

    contract = fields.Field(
        attribute="contract", column_name="contract", widget=NaturalKeyWidget(ServiceContract, "reference")
    )
    currency = fields.Field(
        attribute="contract__currency", column_name="currency", widget=widgets.CharWidget(), readonly=True
    )

    # Written a batch at a time by the payments' batch services, once the file passed the
    # contract-total rule as a whole (below).
    batch_writes = True
    template_example = {"contract": lambda resource: _contract_with_room(), "amount": "1.00"}

    class Meta(OpsiteResource.Meta):
        model = ContractPayment
        fields = ("id", "contract", "due_on", "amount", "paid_on", "currency")
        export_order = fields
        import_id_fields = ("id",)

    def get_queryset(self):
        return contract_payment_list()

    # Each row is read and checked on its own fields as the batches go (so a bad cell is reported
    # on its row), but not written then: written batch by batch, each checked against the stored
    # payments, a file moving money between two payments would be refused half-way. The rows are
    # checked together once all are read (after_import), by the service that checks each
    # contract's total for the set, then written, inside the import's transaction.

    def row_rules(self, instance):
        # The contract-total rule is checked for the whole file at once (after_import).
        return None

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._queued: list[Pending] = []

    def save_batch(self, pending: list[Pending]) -> dict[Pending, ValidationError]:
        found = self.check_batch([item.instance for item in pending], [set() for _ in pending])
        refused = {pending[position]: error for position, error in found.items()}
        self._queued.extend(item for item in pending if item not in refused)
        return refused

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if not self._queued or result.has_errors():
            return  # nothing to write, or a crash the import reports and rolls back
        changes = [
            PaymentChange(None if item.new else item.instance, self.row_data(item.instance))
            for item in self._queued
        ]
        try:
            contract_payments_check(changes=changes)
        except ValidationError as error:
            self._report(error, result)
            return
        if result.has_validation_errors():
            return  # the file is refused: nothing of it would stay written
        refused: dict[Pending, ValidationError] = {}
        for start in range(0, len(self._queued), BATCH_ROWS):
            refused.update(
                self.write_many(self._queued[start : start + BATCH_ROWS], rules=None, checked=True)
            )
        for item in self._queued:
            if item in refused:
                self._refuse(result, item, refused[item])
            else:
                item.result.object_id = item.instance.pk
        result.invalid_rows.sort(key=lambda invalid: invalid.number)

    def _report(self, error: ValidationError, result) -> None:
        """Each error of the set on a row: a contract over its value on its last row in the file."""
        last_row_of: dict[str, Pending] = {}
        for item in self._queued:
            last_row_of[item.instance.contract.reference] = item
        for name, errors in error.update_error_dict({}).items():
            for one in errors:
                at = self._queued[-1]
                if one.code == OVER_TOTAL:
                    at = last_row_of.get((one.params or {}).get("reference"), at)
                self._refuse(result, at, ValidationError({name: [one]}))
        result.invalid_rows.sort(key=lambda invalid: invalid.number)

    def _refuse(self, result, item: Pending, error: ValidationError) -> None:
        """``item``'s row refused after it was counted as new or changed."""
        if item.result.import_type != RowResult.IMPORT_TYPE_INVALID:
            result.totals[item.result.import_type] -= 1
            result.totals[RowResult.IMPORT_TYPE_INVALID] += 1
            item.result.import_type = RowResult.IMPORT_TYPE_INVALID
            item.result.validation_error = error
        result.append_invalid_row(item.number, item.row, error)


def _contract_with_room() -> str:
    """A contract whose payments leave room for the template's example payment of 1.00."""
    return key_with_room(
        ServiceContract.objects.all(),
        "reference",
        total="total_value",
        children="payments",
        room=Decimal("1.00"),
    )


class UsageFeeScheduleResource(NaturalKeyResource):
    """A usage fee schedule per row, matched by ``slug``; its tiers are a file of their own."""

    template_example = {"slug": "education-2025", "name": "Education (2025)", "currency": "USD"}

    class Meta(OpsiteResource.Meta):
        model = UsageFeeSchedule
        fields = ("slug", "name", "currency")
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return usage_fee_schedule_list()


class UsageFeeTierResource(NaturalKeyResource):
    """A tier per row, matched by ``id`` (empty for a new tier); ``schedule`` is its slug and an
    empty ``up_to`` is the open tier."""

    schedule = fields.Field(
        attribute="schedule", column_name="schedule", widget=NaturalKeyWidget(UsageFeeSchedule, "slug")
    )
    template_example = {"id": "", "schedule": "mau-2024", "up_to": "50000", "unit_price": "0.50"}

    class Meta(OpsiteResource.Meta):
        model = UsageFeeTier
        fields = ("id", "schedule", "up_to", "unit_price")
        export_order = fields
        import_id_fields = ("id",)

    def get_queryset(self):
        return usage_fee_tier_list()
