"""Writes with business rules for service contracts and their payment schedules.

Every door (the admin, imports and the API) writes through these services, which refuse the same
things with the same messages (docs/architecture.md "One write path"). The models check only
their own fields (``clean()``); the rule across rows, "a contract's payments never sum past its
total value", lives here, checked under the contract's row lock:

* one payment written alone (:func:`contract_payment_create`, :func:`contract_payment_update`)
  is checked against the contract's stored payments;
* a set of payments written together (the payments inline in a contract's admin page, an import
  file, a schedule) goes through :func:`contract_payments_save`, which checks the set as it will
  be once written, so moving money from one payment to another in one save is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from communities.models import Community
from opsite.core.money import CENT, ZERO, quantize
from opsite.core.services import ModelWrites, assign, by_natural_key

from .choices import BillingPlan, ContractStatus
from .models import ContractPayment, ServiceContract, UsageFeeSchedule

# Months between two payments of each recurring plan.
PLAN_MONTHS = {BillingPlan.MONTHLY: 1, BillingPlan.QUARTERLY: 3, BillingPlan.ANNUAL: 12}

CONTRACT_FIELDS = frozenset(
    {
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
    }
)
CONTRACT_PAYMENT_FIELDS = frozenset({"contract", "due_on", "amount", "paid_on"})

# The code of the error "the payments would sum past the total value"; its ``params`` name the
# contract (``reference``), so a door writing many contracts' payments at once (an import) can
# show each error next to that contract's rows.
OVER_TOTAL = "payments_over_total"


def money(amount: Decimal, currency: str) -> str:
    """``12,000.00 USD``: how amounts are written in messages."""
    return f"{amount:,.2f} {currency}"


def _community_by_slug(value: Community | str) -> Community:
    return by_natural_key(Community, value, key="slug", field="community")


def _schedule_by_slug(value: UsageFeeSchedule | str | None) -> UsageFeeSchedule | None:
    if value in (None, ""):
        return None
    return by_natural_key(
        UsageFeeSchedule, value, key="slug", field="usage_fee_schedule", noun="usage fee schedule"
    )


def _contract_by_reference(value: ServiceContract | str) -> ServiceContract:
    return by_natural_key(ServiceContract, value, key="reference", field="contract", noun="contract")


def payments_total(contract: ServiceContract, *, excluding: Iterable[int] = ()) -> Decimal:
    """The sum of a contract's stored payments, leaving out the ids in ``excluding``."""
    if contract.pk is None:
        return ZERO
    payments = ContractPayment.objects.filter(contract_id=contract.pk)
    excluding = [pk for pk in excluding if pk is not None]
    if excluding:
        payments = payments.exclude(pk__in=excluding)
    # Quantized: SQLite sums decimals as floats, which may leave a hair past the cent.
    return quantize(payments.aggregate(total=Sum("amount"))["total"] or ZERO)


def _lock(*contracts: ServiceContract) -> None:
    """Take the contracts' row locks until the end of the transaction (PostgreSQL).

    Writes that change a contract's payments or its total value take turns on the contract row,
    so two payments added at once cannot both fit under the total. Several contracts are locked
    in one query, in id order, so two writers never wait on each other in a circle. Outside a
    transaction there is nothing to hold a lock for (the rules then run unlocked, as on SQLite,
    which serializes writes anyway).
    """
    pks = sorted({contract.pk for contract in contracts if contract.pk is not None})
    if not pks or not transaction.get_connection().in_atomic_block:
        return
    list(
        ServiceContract.objects.select_for_update()
        .filter(pk__in=pks)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- contracts -------------------------------------------------------------------------------


def contract_validate(contract: ServiceContract) -> None:
    """The rule across rows: the total value covers the contract's stored payments.

    The rules on the contract's own fields (a signed contract is dated, dates in order, the
    probability a percentage) are the model's ``clean()``, which ``full_clean()`` runs first.
    """
    schedule = contract.usage_fee_schedule
    if schedule is not None and contract.currency and schedule.currency != contract.currency:
        raise ValidationError(
            {
                "usage_fee_schedule": (
                    f"Schedule {schedule.slug} prices in {schedule.currency}; contract "
                    f"{contract.reference} is in {contract.currency}. Pick a schedule in {contract.currency}."
                )
            }
        )
    if contract.total_value is None or contract.pk is None:
        return
    _lock(contract)
    paid_in = payments_total(contract)
    if paid_in > contract.total_value:
        raise ValidationError(
            {
                "total_value": (
                    f"The payments of contract {contract.reference} already sum to "
                    f"{money(paid_in, contract.currency)}: the total value cannot be "
                    f"{money(contract.total_value, contract.currency)}, "
                    f"{money(paid_in - contract.total_value, contract.currency)} less than that."
                )
            }
        )


@transaction.atomic
def contract_create(
    *,
    reference: str,
    community: Community | str,
    category: str,
    start_on: date,
    end_on: date,
    total_value: Decimal,
    status: str = ContractStatus.PROPOSED,
    probability: int = 100,
    signed_on: date | None = None,
    currency: str | None = None,
    usage_fee_schedule: UsageFeeSchedule | str | None = None,
) -> ServiceContract:
    """Create a contract; ``community`` is one or its slug, ``currency`` defaults to reporting,
    ``usage_fee_schedule`` is one, its slug, or None (no usage fees)."""
    contract = ServiceContract(
        reference=reference,
        community=_community_by_slug(community),
        category=category,
        status=status,
        probability=probability,
        signed_on=signed_on,
        start_on=start_on,
        end_on=end_on,
        total_value=total_value,
        usage_fee_schedule=_schedule_by_slug(usage_fee_schedule),
    )
    if currency:
        contract.currency = currency
    contract.full_clean()
    contract_validate(contract)
    contract.save()
    return contract


@transaction.atomic
def contract_update(*, contract: ServiceContract, data: Mapping[str, Any]) -> ServiceContract:
    """Change the fields named in ``data`` (any of :data:`CONTRACT_FIELDS`)."""
    data = dict(data)
    if "community" in data:
        data["community"] = _community_by_slug(data["community"])
    if "usage_fee_schedule" in data:
        data["usage_fee_schedule"] = _schedule_by_slug(data["usage_fee_schedule"])
    assign(contract, data, CONTRACT_FIELDS)
    contract.full_clean()
    # Locks the contract row before it sums the payments, so none is added meanwhile.
    contract_validate(contract)
    contract.save()
    return contract


# --- payments --------------------------------------------------------------------------------


def _over_total_error(contract: ServiceContract, total: Decimal) -> ValidationError:
    return ValidationError(
        "The payments of contract %(reference)s would sum to %(total)s, %(over)s over its total value "
        "of %(value)s.",
        code=OVER_TOTAL,
        params={
            "reference": contract.reference,
            "total": money(total, contract.currency),
            "over": money(total - contract.total_value, contract.currency),
            "value": money(contract.total_value, contract.currency),
        },
    )


def contract_payments_validate(
    *, contract: ServiceContract, amounts: Iterable[Decimal], replacing: Iterable[int] = ()
) -> None:
    """Refuse a set of payments that would take the contract past its ``total_value``.

    ``amounts`` are the new values of a set edited together; ``replacing`` are the ids of the
    stored payments that set replaces (edited or deleted), which are left out of the stored sum.
    """
    if contract.total_value is None:
        return
    _lock(contract)
    total = payments_total(contract, excluding=replacing) + sum(
        (amount for amount in amounts if amount is not None), ZERO
    )
    if total > contract.total_value:
        raise ValidationError({"amount": _over_total_error(contract, total)})


def contract_payment_validate(payment: ContractPayment) -> None:
    """The rule across rows for one payment: with the contract's stored others, within its value."""
    if payment.contract_id is None or payment.amount is None:
        return
    contract_payments_validate(contract=payment.contract, amounts=[payment.amount], replacing=[payment.pk])


@transaction.atomic
def contract_payment_create(
    *, contract: ServiceContract | str, due_on: date, amount: Decimal, paid_on: date | None = None
) -> ContractPayment:
    """Add one payment to a contract (one or its reference), within the contract's total value."""
    payment = ContractPayment(
        contract=_contract_by_reference(contract), due_on=due_on, amount=amount, paid_on=paid_on
    )
    payment.full_clean()
    # Locks the contract row before it sums the payments.
    contract_payment_validate(payment)
    payment.save()
    return payment


@transaction.atomic
def contract_payment_update(*, contract_payment: ContractPayment, data: Mapping[str, Any]) -> ContractPayment:
    """Change the fields named in ``data`` (any of :data:`CONTRACT_PAYMENT_FIELDS`)."""
    data = dict(data)
    if "contract" in data:
        data["contract"] = _contract_by_reference(data["contract"])
    assign(contract_payment, data, CONTRACT_PAYMENT_FIELDS)
    contract_payment.full_clean()
    contract_payment_validate(contract_payment)
    contract_payment.save()
    return contract_payment


# --- sets of payments written together -------------------------------------------------------


@dataclass(frozen=True)
class PaymentChange:
    """One payment of a set written together: a stored ``payment`` and the fields that change
    (``data``), or, with ``payment=None``, a new payment (``data`` holds its fields)."""

    payment: ContractPayment | None
    data: Mapping[str, Any] = field(default_factory=dict)


def _distinct(changes: Sequence[PaymentChange]) -> list[PaymentChange]:
    """The changes as they will stand once written in order: a payment changed twice, its last."""
    last: dict[int, int] = {}
    for index, change in enumerate(changes):
        if change.payment is not None and change.payment.pk is not None:
            last[change.payment.pk] = index
    return [
        change
        for index, change in enumerate(changes)
        if change.payment is None or change.payment.pk is None or last[change.payment.pk] == index
    ]


def contract_payments_check(
    *, changes: Sequence[PaymentChange], deletions: Iterable[ContractPayment] = ()
) -> None:
    """The total-value rule for a set of payments written together, as the set will stand.

    For each contract the set puts payments on, its stored payments outside the set plus the
    set's own must fit its total value (a payment moved to another contract, changed or deleted
    counts only where it ends up). Contracts only losing payments cannot break the rule. Every
    contract over its value is named, in one error on ``amount`` per contract (code
    :data:`OVER_TOTAL`). Locks the contracts' rows, in id order.
    """
    deletions = list(deletions)
    replacing = {p.pk for p in deletions} | {c.payment.pk for c in changes if c.payment is not None}
    # Contracts by id, or by identity while unsaved (payments added with a new contract).
    groups: dict[Any, tuple[ServiceContract, list[Decimal]]] = {}
    for change in _distinct(changes):
        if "contract" in change.data:
            contract = _contract_by_reference(change.data["contract"])
        elif change.payment is not None:
            contract = change.payment.contract
        else:
            raise ValidationError({"contract": "A new payment needs its contract."})
        amount = change.data.get("amount", change.payment.amount if change.payment is not None else None)
        key = contract.pk if contract.pk is not None else id(contract)
        groups.setdefault(key, (contract, []))[1].append(amount)
    _lock(*(contract for contract, _ in groups.values()))
    errors: list[ValidationError] = []
    for contract, amounts in groups.values():
        try:
            contract_payments_validate(contract=contract, amounts=amounts, replacing=replacing)
        except ValidationError as error:
            errors.extend(error.error_dict["amount"])
    if errors:
        raise ValidationError({"amount": errors})


@transaction.atomic
def contract_payments_save(
    *, changes: Sequence[PaymentChange], deletions: Iterable[ContractPayment] = ()
) -> list[ContractPayment]:
    """Write a set of payments edited together: the total-value rule checked once, for the set.

    ``deletions`` are deleted, then each change is written in order: a stored payment gets its
    ``data``, a new one is created from it. Each payment's own fields are checked
    (``full_clean``) before anything is written; the total of every contract the set touches is
    checked by :func:`contract_payments_check` under the contracts' row locks. Returns the
    payments written, in the order of ``changes``.
    """
    deletions = list(deletions)
    payments: list[ContractPayment] = []
    for change in changes:
        data = dict(change.data)
        if "contract" in data:
            data["contract"] = _contract_by_reference(data["contract"])
        if change.payment is None:
            unknown = sorted(set(data) - CONTRACT_PAYMENT_FIELDS)
            if unknown:
                raise TypeError(f"A ContractPayment cannot be created with {', '.join(unknown)}")
            payment = ContractPayment(**data)
        else:
            payment = change.payment
            assign(payment, data, CONTRACT_PAYMENT_FIELDS)
        payment.full_clean()
        payments.append(payment)
    contract_payments_check(changes=changes, deletions=deletions)
    for payment in deletions:
        payment.delete()
    for payment in payments:
        payment.save()
    return payments


# --- schedules -------------------------------------------------------------------------------


def schedule_dates(
    *, start_on: date, end_on: date, plan: str, first_due_on: date | None = None
) -> list[date]:
    """The due dates of a plan: one per period that starts before ``end_on``, at least one.

    Each date is computed from the first one (not from the previous), so a schedule that starts
    on the 31st comes back to the 31st after a short month.
    """
    first = first_due_on or start_on
    if plan == BillingPlan.UPFRONT:
        return [first]
    months = PLAN_MONTHS[BillingPlan(plan)]
    count = 0
    # A period starting on the last day is not counted: with calendar clipping, 31 January to
    # 30 April would otherwise hold a fourth "month" of one day.
    while start_on + relativedelta(months=months * count) < end_on:
        count += 1
    return [first + relativedelta(months=months * k) for k in range(max(count, 1))]


def split_amount(total: Decimal, count: int) -> list[Decimal]:
    """``count`` amounts summing exactly to ``total``: equal cents, the rounding cent last."""
    share = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return [share] * (count - 1) + [total - share * (count - 1)]


@transaction.atomic
def contract_schedule_create(
    *, contract: ServiceContract, plan: BillingPlan | str, first_due_on: date | None = None
) -> list[ContractPayment]:
    """Create the payments of ``contract`` under a billing plan, summing exactly to its value.

    Upfront is one payment; monthly, quarterly and annual are one payment per period starting
    within the contract's term, the first due on ``first_due_on`` (default: the start date).
    Refused when the contract already has payments.
    """
    try:
        plan = BillingPlan(plan)
    except ValueError:
        raise ValidationError(
            {"plan": f"{plan!r} is not a billing plan; choose one of {', '.join(BillingPlan.values)}."}
        ) from None
    _lock(contract)
    existing = ContractPayment.objects.filter(contract_id=contract.pk).count()
    if existing:
        raise ValidationError(
            {
                "payments": f"Contract {contract.reference} already has {existing} "
                f"payment{'s' if existing != 1 else ''}; delete them before creating a schedule."
            }
        )
    dates = schedule_dates(
        start_on=contract.start_on, end_on=contract.end_on, plan=plan, first_due_on=first_due_on
    )
    amounts = split_amount(contract.total_value, len(dates))
    if amounts[0] <= ZERO:
        raise ValidationError(
            {
                "total_value": f"The total value of contract {contract.reference}, "
                f"{money(contract.total_value, contract.currency)}, is too small for "
                f"{len(dates)} {plan.label.lower()} payments of at least 0.01."
            }
        )
    return contract_payments_save(
        changes=[
            PaymentChange(None, {"contract": contract, "due_on": due_on, "amount": amount})
            for due_on, amount in zip(dates, amounts, strict=True)
        ]
    )


# --- the services of each model, for every door (docs/architecture.md "One write path") ------

# Deleting has no rule: a contract takes its payments with it (CASCADE), and a deleted payment
# only lowers its contract's sum; the kernel's model_delete does both.
SERVICE_CONTRACT_WRITES = ModelWrites(
    model=ServiceContract,
    create=contract_create,
    update=contract_update,
    validate=contract_validate,
    fields=CONTRACT_FIELDS,
    name="contract",
)
CONTRACT_PAYMENT_WRITES = ModelWrites(
    model=ContractPayment,
    create=contract_payment_create,
    update=contract_payment_update,
    validate=contract_payment_validate,
    fields=CONTRACT_PAYMENT_FIELDS,
)
