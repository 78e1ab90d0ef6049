"""Import/export of service contracts and their payments (CSV, XLSX, JSON), by natural key.

An exported file re-imports as an update: contracts are matched by ``reference``; payments,
which have no natural key, by ``id`` (leave it empty for a new payment). A contract is written
as its reference, a community as its slug. A file of payments is checked against each
contract's total value as a whole, so it may move money from one payment to another.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from import_export import fields, widgets

from communities.models import Community
from opsite.core.money import quantize
from opsite.core.resources import NaturalKeyResource, NaturalKeyWidget, OpsiteResource

from .models import ContractPayment, ServiceContract
from .selectors import contract_list, contract_payment_list
from .services import CHECKED_AS_A_SET, contract_payments_validate


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

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        # contract id -> (row number, row) of each payment saved under it by this import
        self._rows_by_contract: dict[int, list[tuple[int, dict]]] = {}

    def after_init_instance(self, instance, new, row, **kwargs):
        super().after_init_instance(instance, new, row, **kwargs)
        # Each row is saved before the next is read: checked one by one against the stored
        # payments, a file moving money between two payments would be refused half-way. The
        # contract totals are checked once every row is in (after_import).
        setattr(instance, CHECKED_AS_A_SET, True)

    def after_save_instance(self, instance, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        self._rows_by_contract.setdefault(instance.contract_id, []).append((kwargs["row_number"], row))

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        # Every good row is saved (inside the import's transaction, rolled back on any error):
        # now each contract's payments must fit its total value. The error names the last row
        # of that contract in the file.
        contracts = ServiceContract.objects.in_bulk(list(self._rows_by_contract))
        for contract_id, rows in self._rows_by_contract.items():
            try:
                contract_payments_validate(contract=contracts[contract_id], amounts=[])
            except ValidationError as error:
                number, row = rows[-1]
                result.append_invalid_row(number, row, error)
        result.invalid_rows.sort(key=lambda invalid: invalid.number)
