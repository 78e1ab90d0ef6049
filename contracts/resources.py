"""Import/export of service contracts and their payments (CSV, XLSX, JSON), by natural key.

An exported file re-imports as an update: contracts are matched by ``reference``; payments,
which have no natural key, by ``id`` (leave it empty for a new payment). A contract is written
as its reference, a community as its slug. Rows are written by :mod:`contracts.services`; a file
of payments is written as one set (``contract_payments_save``), checked against each contract's
total value as a whole, so it may move money from one payment to another.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from import_export import fields, widgets

from communities.models import Community
from opsite.core.money import quantize
from opsite.core.resources import NaturalKeyResource, NaturalKeyWidget, OpsiteResource
from opsite.core.services import adopt

from .models import ContractPayment, ServiceContract
from .selectors import contract_list, contract_payment_list
from .services import OVER_TOTAL, PaymentChange, contract_payments_save


class ServiceContractResource(NaturalKeyResource):
    """A contract per row, matched by ``reference``.

    ``payments_total`` and ``schedule_incomplete`` are exported for reading and ignored on import.
    """

    community = fields.Field(
        attribute="community", column_name="community", widget=NaturalKeyWidget(Community, "slug")
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

    class Meta(OpsiteResource.Meta):
        model = ContractPayment
        fields = ("id", "contract", "due_on", "amount", "paid_on", "currency")
        export_order = fields
        import_id_fields = ("id",)

    def get_queryset(self):
        return contract_payment_list()

    # Each row is read and checked on its own fields as the library goes (so a bad cell is
    # reported on its row), but not written then: written one by one, each checked against the
    # stored payments, a file moving money between two payments would be refused half-way.
    # The rows are written together once all are read (after_import), inside the import's
    # transaction, by the service that checks each contract's total for the set.

    def row_rules(self, instance):
        # The contract-total rule is checked for the whole file at once (after_import).
        return None

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._queued: list[_QueuedRow] = []

    def save_instance(self, instance, is_create, row, **kwargs):
        self.before_save_instance(instance, row, **kwargs)
        change = PaymentChange(None if is_create else instance, self.row_data(instance))
        self._queued.append(_QueuedRow(kwargs["row_number"], row, instance, change))
        self.after_save_instance(instance, row, **kwargs)

    def after_import_row(self, row, row_result, **kwargs):
        super().after_import_row(row, row_result, **kwargs)
        for queued in reversed(self._queued):
            if queued.number == kwargs["row_number"]:
                queued.result = row_result
                break

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if not self._queued or result.has_errors():
            return  # nothing to write, or a crash the import reports and rolls back
        try:
            saved = contract_payments_save(changes=[queued.change for queued in self._queued])
        except ValidationError as error:
            self._report(error, result)
            return
        for queued, payment in zip(self._queued, saved, strict=True):
            adopt(queued.instance, payment)
            if queued.result is not None:
                queued.result.add_instance_info(queued.instance)

    def _report(self, error: ValidationError, result) -> None:
        """Each error of the set on a row: a contract over its value on its last row in the file."""
        last_row_of: dict[str, _QueuedRow] = {}
        for queued in self._queued:
            last_row_of[queued.instance.contract.reference] = queued
        for name, errors in error.update_error_dict({}).items():
            for one in errors:
                at = self._queued[-1]
                if one.code == OVER_TOTAL:
                    at = last_row_of.get((one.params or {}).get("reference"), at)
                result.append_invalid_row(at.number, at.row, ValidationError({name: [one]}))
        result.invalid_rows.sort(key=lambda invalid: invalid.number)


@dataclass
class _QueuedRow:
    """A payment row read and checked, waiting to be written with the rest of its file."""

    number: int
    row: dict
    instance: ContractPayment
    change: PaymentChange
    result: object = None
