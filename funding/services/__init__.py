"""Writes with business rules: funders, grants and what hangs off them, cash, expenses, scenarios.

Every door (the admin, imports, the API) writes through the services of this package, named by
the ``ModelWrites`` at the bottom, so they all refuse the same things with the same messages
(docs/architecture.md "One write path"). ``<entity>_create`` and ``<entity>_update`` run
``full_clean()`` (the fields and the row's own ``clean()``) and the model's ``<entity>_validate``,
then save, inside one transaction.

Rules the database cannot hold, because they span rows (the ``<entity>_validate``):

* subawards go only under a ``prime`` grant, and never sum past the grant's amount;
* a grant's disbursements never sum past its amount, a subaward's payments never past its;
  children edited together (an admin inline) are checked as a set (``children_validate``);
* lowering a grant's or a subaward's amount below what already hangs off it is refused;
* exactly one scenario is the default;
* an inflow or an outflow what-if carries a positive amount.

Messages name the values and limits involved, because they reach people through an import
report or an API 400 with no other context. None of them quotes a cash balance.
"""

from opsite.core.services import ModelWrites

from ..models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Funder,
    FunderReport,
    Grant,
    GrantBudgetLine,
    RunwayAlert,
    RunwaySnapshot,
    Scenario,
    ScenarioAdjustment,
    StaffAllocation,
    Subaward,
    SubawardPayment,
)
from .alerts import (
    leadership_alert_recipients,
    runway_alert_create,
    runway_alert_decide,
    runway_alert_delete,
    runway_alert_send,
    runway_alert_update,
)
from .cash import (
    cash_position_create,
    cash_position_update,
    exchange_rate_create,
    exchange_rate_update,
    expense_create,
    expense_update,
    expense_validate,
)
from .grants import (
    children_save,
    children_validate,
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
from .restricted import (
    first_day_over_one,
    funder_report_create,
    funder_report_update,
    grant_budget_line_create,
    grant_budget_line_update,
    grant_budget_line_validate,
    staff_allocation_create,
    staff_allocation_update,
    staff_allocation_validate,
    staff_allocations_validate,
)
from .scenarios import (
    runway_snapshot_create,
    runway_snapshot_update,
    scenario_adjustment_amount_problem,
    scenario_adjustment_create,
    scenario_adjustment_delete,
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
    "children_save",
    "children_validate",
    "disbursement_create",
    "disbursement_update",
    "disbursement_validate",
    "exchange_rate_create",
    "exchange_rate_update",
    "expense_create",
    "expense_update",
    "expense_validate",
    "first_day_over_one",
    "funder_create",
    "funder_report_create",
    "funder_report_update",
    "funder_update",
    "grant_budget_line_create",
    "grant_budget_line_update",
    "grant_budget_line_validate",
    "grant_create",
    "grant_update",
    "grant_validate",
    "leadership_alert_recipients",
    "runway_alert_create",
    "runway_alert_decide",
    "runway_alert_delete",
    "runway_alert_send",
    "runway_alert_update",
    "runway_snapshot_create",
    "runway_snapshot_update",
    "scenario_adjustment_amount_problem",
    "scenario_adjustment_create",
    "scenario_adjustment_delete",
    "scenario_adjustment_update",
    "scenario_adjustment_validate",
    "scenario_create",
    "scenario_delete",
    "scenario_save",
    "scenario_set_default",
    "scenario_update",
    "scenario_validate",
    "staff_allocation_create",
    "staff_allocation_update",
    "staff_allocation_validate",
    "staff_allocations_validate",
    "subaward_create",
    "subaward_payment_create",
    "subaward_payment_update",
    "subaward_payment_validate",
    "subaward_update",
    "subaward_validate",
]

# --- the services of each model, for every door (opsite.core.services.writes_for) ---------------
# Models whose deletion has no rule of its own use the kernel's plain delete (delete=None); the
# database refuses a delete that would orphan a protected row.

FUNDER_WRITES = ModelWrites(model=Funder, create=funder_create, update=funder_update)
GRANT_WRITES = ModelWrites(model=Grant, create=grant_create, update=grant_update, validate=grant_validate)
SUBAWARD_WRITES = ModelWrites(
    model=Subaward, create=subaward_create, update=subaward_update, validate=subaward_validate
)
DISBURSEMENT_WRITES = ModelWrites(
    model=Disbursement, create=disbursement_create, update=disbursement_update, validate=disbursement_validate
)
SUBAWARD_PAYMENT_WRITES = ModelWrites(
    model=SubawardPayment,
    create=subaward_payment_create,
    update=subaward_payment_update,
    validate=subaward_payment_validate,
)
CASH_POSITION_WRITES = ModelWrites(
    model=CashPosition, create=cash_position_create, update=cash_position_update
)
EXPENSE_WRITES = ModelWrites(
    model=Expense, create=expense_create, update=expense_update, validate=expense_validate
)
EXCHANGE_RATE_WRITES = ModelWrites(
    model=ExchangeRate, create=exchange_rate_create, update=exchange_rate_update
)
SCENARIO_WRITES = ModelWrites(
    model=Scenario,
    create=scenario_create,
    update=scenario_update,
    delete=scenario_delete,
    validate=scenario_validate,
)
SCENARIO_ADJUSTMENT_WRITES = ModelWrites(
    model=ScenarioAdjustment,
    create=scenario_adjustment_create,
    update=scenario_adjustment_update,
    delete=scenario_adjustment_delete,
    validate=scenario_adjustment_validate,
)
# Written by the runway's jobs; the admin deletes them, and an import restores snapshots.
RUNWAY_SNAPSHOT_WRITES = ModelWrites(
    model=RunwaySnapshot, create=runway_snapshot_create, update=runway_snapshot_update
)
RUNWAY_ALERT_WRITES = ModelWrites(
    model=RunwayAlert, create=runway_alert_create, update=runway_alert_update, delete=runway_alert_delete
)
GRANT_BUDGET_LINE_WRITES = ModelWrites(
    model=GrantBudgetLine,
    create=grant_budget_line_create,
    update=grant_budget_line_update,
    validate=grant_budget_line_validate,
)
STAFF_ALLOCATION_WRITES = ModelWrites(
    model=StaffAllocation,
    create=staff_allocation_create,
    update=staff_allocation_update,
    validate=staff_allocation_validate,
)
FUNDER_REPORT_WRITES = ModelWrites(
    model=FunderReport, create=funder_report_create, update=funder_report_update
)
