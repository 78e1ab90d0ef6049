"""The "Needs attention" panel: the collection flags (docs/definitions.md "Revenue realism",
"Collection flags"), each with its reason in words and a link to the record's admin page.

Three queries, whatever the number of records: the selector's two (contracts, grants; the cash
position's date is the dashboard's own, passed in) and one for the flagged records' ids, which
the admin's URLs need and the flags do not carry (none when nothing is flagged).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import CharField, Value
from django.urls import reverse

from contracts.models import ServiceContract
from funding.collection import FlagCode, RecordKind, collection_flags
from funding.models import Grant

# Who sees a record's flags: whoever may view the record (Finance and Leadership see both).
VIEW_PERMISSIONS = {
    RecordKind.CONTRACT: "contracts.view_servicecontract",
    RecordKind.GRANT: "funding.view_grant",
}
ADMIN_URLS = {
    RecordKind.CONTRACT: "admin:contracts_servicecontract_change",
    RecordKind.GRANT: "admin:funding_grant_change",
}


@dataclass(frozen=True)
class AttentionItem:
    kind: str
    kind_label: str
    key: str
    counterparty: str
    flag: str
    flag_label: str
    reason: str
    url: str


def _record_ids(contracts: set[str], grants: set[str]) -> dict[tuple[str, str], int]:
    """The primary keys of the flagged records by (kind, reference): one query."""
    contract_rows = (
        ServiceContract.objects.filter(reference__in=contracts)
        .order_by()
        .values_list(Value(RecordKind.CONTRACT.value, output_field=CharField()), "reference", "pk")
    )
    grant_rows = (
        Grant.objects.filter(reference__in=grants)
        .order_by()
        .values_list(Value(RecordKind.GRANT.value, output_field=CharField()), "reference", "pk")
    )
    return {(kind, reference): pk for kind, reference, pk in contract_rows.union(grant_rows, all=True)}


def attention_items(user, as_of: date | None) -> list[AttentionItem]:
    """The flags ``user`` may see, as of the cash position's date (none without one)."""
    kinds = [kind for kind, permission in VIEW_PERMISSIONS.items() if user.has_perm(permission)]
    if as_of is None or not kinds:
        return []
    flags = [flag for flag in collection_flags(as_of) if flag.kind in kinds]
    if not flags:
        return []
    ids = _record_ids(
        {flag.key for flag in flags if flag.kind == RecordKind.CONTRACT},
        {flag.key for flag in flags if flag.kind == RecordKind.GRANT},
    )
    return [
        AttentionItem(
            kind=flag.kind,
            kind_label=RecordKind(flag.kind).label,
            key=flag.key,
            counterparty=flag.counterparty,
            flag=flag.flag,
            flag_label=FlagCode(flag.flag).label,
            reason=flag.reason,
            url=reverse(ADMIN_URLS[flag.kind], args=[ids[(flag.kind, flag.key)]])
            if (flag.kind, flag.key) in ids
            else "",
        )
        for flag in flags
    ]
