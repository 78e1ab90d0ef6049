"""The collection flags' reading of contracts (docs/definitions.md "Collection flags"): signed and
proposed contracts with the sums of their payments, in one query, for the kernel's rules
(:mod:`opsite.core.collection`). funding adds the grants and serves the whole list."""

from __future__ import annotations

from datetime import date

from opsite.core.collection import CollectionRecord, RecordKind, open_overdue
from opsite.core.money import quantize

from .choices import ContractStatus
from .models import ContractPayment, ServiceContract
from .selectors import with_payment_totals


def contract_records(as_of: date) -> list[CollectionRecord]:
    """Signed and proposed contracts with their payment sums, by reference: one query."""
    contracts = with_payment_totals(
        ServiceContract.objects.select_related("community").filter(
            status__in=(ContractStatus.SIGNED, ContractStatus.PROPOSED)
        )
    ).annotate(**open_overdue(ContractPayment, "contract", "due_on", "paid_on", as_of))
    return [
        CollectionRecord(
            kind=RecordKind.CONTRACT,
            key=contract.reference,
            counterparty=contract.community.name,
            status=contract.status,
            pipeline=contract.status == ContractStatus.PROPOSED,
            amount=contract.total_value,
            # Sums come back as floats on SQLite: to the cent before any comparison.
            scheduled=quantize(contract.payments_total),
            collected=quantize(contract.paid_total),
            currency=contract.currency,
            start_on=contract.start_on,
            end_on=contract.end_on,
            row="payment",
            settled="paid",
            still="proposed",
            overdue_count=contract.overdue_count,
            overdue_total=quantize(contract.overdue_total),
            oldest_overdue=contract.oldest_overdue,
        )
        for contract in contracts.order_by("reference")
    ]
