"""django-import-export resources of the funding app (CSV, XLSX, JSON).

Relations travel by natural key (a funder's slug, a grant's or subaward's reference, a
scenario's slug), so a file exported here re-imports as an update, into this database or
another. Rows without a natural key of their own (disbursements, payments, expenses, what-ifs,
snapshots) are matched on ``id``: leave it blank to add a row.

Rows are saved and deleted by the services (``funding.services``, through the base resource), so an
import refuses what the admin and the API refuse, with the same message on the same column.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from import_export import fields, widgets

from opsite.core.import_templates import key_with_room
from opsite.core.resources import NaturalKeyWidget, OpsiteResource
from opsite.core.services import writes_for
from staff.models import StaffMember

from .choices import GrantRole
from .models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Funder,
    FunderReport,
    Grant,
    GrantBudgetLine,
    RunwaySnapshot,
    Scenario,
    ScenarioAdjustment,
    StaffAllocation,
    Subaward,
    SubawardPayment,
)


class InstantWidget(widgets.DateTimeWidget):
    """An instant to the microsecond, written as text in every format.

    A spreadsheet cell holds time to the millisecond only, so a native XLSX datetime would come
    back as a different instant; text comes back exact.
    """

    def __init__(self):
        super().__init__(format="%Y-%m-%d %H:%M:%S.%f")

    def render(self, value, obj=None, **kwargs):
        kwargs.pop("force_native_type", None)
        return super().render(value, obj, **kwargs)


def _with_room(rows, children: str) -> str:
    """A row of ``rows`` whose amount leaves room for its ``children``'s example amount of 1.00."""
    return key_with_room(rows, "reference", total="amount", children=children, room=Decimal("1.00"))


# Funding's import messages are whole sentences.
UNKNOWN_KEY = "There is no {name} with {field} {key!r}."


def _relation(attribute: str, model, key: str) -> fields.Field:
    widget = NaturalKeyWidget(model, field=key, unknown_message=UNKNOWN_KEY)
    return fields.Field(attribute=attribute, column_name=attribute, widget=widget)


class FunderResource(OpsiteResource):
    class Meta:
        model = Funder
        fields = ("slug", "name", "kind")
        import_id_fields = ("slug",)


class GrantResource(OpsiteResource):
    funder = _relation("funder", Funder, "slug")

    class Meta:
        model = Grant
        fields = (
            "reference",
            "funder",
            "title",
            "category",
            "role",
            "status",
            "probability",
            "amount",
            "currency",
            "awarded_on",
            "start_on",
            "end_on",
            "restricted",
            "purpose",
        )
        import_id_fields = ("reference",)


class SubawardResource(OpsiteResource):
    grant = _relation("grant", Grant, "reference")

    template_example = {
        "grant": lambda resource: _with_room(Grant.objects.filter(role=GrantRole.PRIME), "subawards"),
        "amount": "1.00",
    }

    class Meta:
        model = Subaward
        fields = ("reference", "grant", "recipient", "amount", "start_on", "end_on")
        import_id_fields = ("reference",)


class DisbursementResource(OpsiteResource):
    grant = _relation("grant", Grant, "reference")

    template_example = {
        "grant": lambda resource: _with_room(Grant.objects.all(), "disbursements"),
        "amount": "1.00",
    }

    class Meta:
        model = Disbursement
        fields = ("id", "grant", "expected_on", "amount", "received_on")
        import_id_fields = ["id"]


class SubawardPaymentResource(OpsiteResource):
    subaward = _relation("subaward", Subaward, "reference")

    template_example = {
        "subaward": lambda resource: _with_room(Subaward.objects.all(), "payments"),
        "amount": "1.00",
    }

    class Meta:
        model = SubawardPayment
        fields = ("id", "subaward", "due_on", "amount", "paid_on")
        import_id_fields = ["id"]


class CashPositionResource(OpsiteResource):
    class Meta:
        model = CashPosition
        fields = ("as_of", "balance", "currency", "note")
        import_id_fields = ("as_of",)


class ExpenseResource(OpsiteResource):
    grant = _relation("grant", Grant, "reference")

    # Charged to no grant: one charged to a grant must lie within its dates, which an example
    # cannot know.
    template_example = {"grant": ""}

    class Meta:
        model = Expense
        fields = ("id", "name", "category", "amount", "currency", "recurrence", "start_on", "end_on", "grant")
        import_id_fields = ["id"]


class ExchangeRateResource(OpsiteResource):
    template_example = {"currency": "EUR", "rate": "1.08"}

    class Meta:
        model = ExchangeRate
        fields = ("currency", "effective_on", "rate")
        import_id_fields = ("currency", "effective_on")


class ScenarioResource(OpsiteResource):
    """Scenarios; a row marked default takes over from the current default scenario."""

    class Meta:
        model = Scenario
        fields = ("slug", "name", "pipeline", "reserve", "horizon_months", "is_default")
        import_id_fields = ("slug",)

    def check_batch(self, instances, excludes):
        # The one-default constraint is kept by the service (scenario_save), which unticks the old
        # default: checked here, it would refuse exactly the switch the row asks for.
        return writes_for(Scenario).check_many(
            instances, exclude=[{*exclude, "is_default"} for exclude in excludes], rules=None
        )


class ScenarioAdjustmentResource(OpsiteResource):
    scenario = _relation("scenario", Scenario, "slug")
    grant = _relation("grant", Grant, "reference")

    # An inflow: the kind whose example needs no grant, months or salary.
    template_example = {"kind": "inflow", "amount": "1000.00", "recurrence": "once", "grant": ""}

    class Meta:
        model = ScenarioAdjustment
        fields = (
            "id",
            "scenario",
            "kind",
            "label",
            "amount",
            "benefits_rate",
            "recurrence",
            "start_on",
            "end_on",
            "grant",
            "months",
        )
        import_id_fields = ["id"]


class RunwaySnapshotResource(OpsiteResource):
    """Computed runways. The admin exports them only; they are imported back from a backup."""

    scenario = _relation("scenario", Scenario, "slug")
    computed_at = fields.Field(attribute="computed_at", column_name="computed_at", widget=InstantWidget())

    class Meta:
        model = RunwaySnapshot
        fields = ("id", "scenario", "as_of", "computed_at", "months", "cash_out_on", "result")
        import_id_fields = ["id"]


# --- restricted money ---------------------------------------------------------------------------


class GrantBudgetLineResource(OpsiteResource):
    """One row per grant and category: the pair is the line's natural key."""

    grant = _relation("grant", Grant, "reference")

    template_example = {
        "grant": lambda resource: _with_room(Grant.objects.all(), "budget_lines"),
        "amount": "1.00",
    }

    class Meta:
        model = GrantBudgetLine
        fields = ("grant", "category", "amount")
        import_id_fields = ("grant", "category")


def _example_grant() -> Grant | None:
    return Grant.objects.order_by("reference").first()


def _free_person(grant: Grant | None) -> str:
    """A person with no allocation on ``grant``'s first day: the example's share fits under 1."""
    if grant is None:
        return ""
    day = grant.start_on
    free = StaffMember.objects.exclude(allocations__start_on__lte=day, allocations__end_on__gte=day)
    return free.order_by("slug").values_list("slug", flat=True).first() or ""


class StaffAllocationResource(OpsiteResource):
    staff = _relation("staff", StaffMember, "slug")
    grant = _relation("grant", Grant, "reference")

    # A one-day allocation on the first day of a grant, of someone free that day.
    template_example = {
        "grant": lambda resource: getattr(_example_grant(), "reference", ""),
        "staff": lambda resource: _free_person(_example_grant()),
        "share": "0.5",
        "start_on": lambda resource: getattr(_example_grant(), "start_on", ""),
        "end_on": lambda resource: getattr(_example_grant(), "start_on", ""),
    }

    class Meta:
        model = StaffAllocation
        fields = ("id", "staff", "grant", "share", "start_on", "end_on")
        import_id_fields = ["id"]


class FunderReportResource(OpsiteResource):
    grant = _relation("grant", Grant, "reference")
    owner = fields.Field(
        attribute="owner",
        column_name="owner",
        widget=NaturalKeyWidget(get_user_model(), field="username", unknown_message=UNKNOWN_KEY),
    )

    class Meta:
        model = FunderReport
        fields = ("id", "grant", "kind", "period_start", "period_end", "due_on", "owner", "submitted_on")
        import_id_fields = ["id"]
