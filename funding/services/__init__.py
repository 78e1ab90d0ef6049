"""Writes with business rules: funders, grants and what hangs off them, cash, expenses, scenarios.

Each model's ``clean()`` calls its ``<entity>_validate`` from here, so the admin, the importer and
the API refuse the same things with the same messages. The ``<entity>_create`` /
``<entity>_update`` functions are the write path for code: they run ``full_clean()`` (hence the
validators) and save inside one transaction.

Rules the database cannot hold, because they span rows:

* subawards go only under a ``prime`` grant, and never sum past the grant's amount;
* a grant's disbursements never sum past its amount, a subaward's payments never past its;
* lowering a grant's or a subaward's amount below what already hangs off it is refused;
* exactly one scenario is the default.

Messages name the values and limits involved, because they reach people through an import
report or an API 400 with no other context. None of them quotes a cash balance.
"""

from .cash import (
    cash_position_create,
    cash_position_update,
    cash_position_validate,
    exchange_rate_create,
    exchange_rate_update,
    exchange_rate_validate,
    expense_create,
    expense_update,
    expense_validate,
)
from .grants import (
    disbursement_create,
    disbursement_update,
    disbursement_validate,
    funder_create,
    funder_update,
    grant_create,
    grant_update,
    grant_validate,
    subaward_create,
    subaward_payment_create,
    subaward_payment_update,
    subaward_payment_validate,
    subaward_update,
    subaward_validate,
)
from .scenarios import (
    runway_snapshot_create,
    scenario_adjustment_create,
    scenario_adjustment_update,
    scenario_adjustment_validate,
    scenario_create,
    scenario_delete,
    scenario_save,
    scenario_set_default,
    scenario_update,
    scenario_validate,
)

__all__ = [
    "cash_position_create",
    "cash_position_update",
    "cash_position_validate",
    "disbursement_create",
    "disbursement_update",
    "disbursement_validate",
    "exchange_rate_create",
    "exchange_rate_update",
    "exchange_rate_validate",
    "expense_create",
    "expense_update",
    "expense_validate",
    "funder_create",
    "funder_update",
    "grant_create",
    "grant_update",
    "grant_validate",
    "runway_snapshot_create",
    "scenario_adjustment_create",
    "scenario_adjustment_update",
    "scenario_adjustment_validate",
    "scenario_create",
    "scenario_delete",
    "scenario_save",
    "scenario_set_default",
    "scenario_update",
    "scenario_validate",
    "subaward_create",
    "subaward_payment_create",
    "subaward_payment_update",
    "subaward_payment_validate",
    "subaward_update",
    "subaward_validate",
]
