"""Model signals that schedule the recompute of derived figures when their inputs change.

One table says which models feed which recompute. Saving or deleting one of their rows (in the
admin, an import, the API, a service) asks for the recompute after the commit, collapsed per
transaction by ``opsite.core.recompute.request_recompute``. ``bulk_create``, ``bulk_update`` and
``QuerySet.update`` send no signals: code that writes that way calls ``request_recompute`` itself.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models.signals import m2m_changed, post_delete, post_save

from opsite.core.recompute import ROLLUPS, RUNWAY, request_recompute

# Which recompute each model's rows feed (docs/definitions.md). A model that feeds neither is
# listed in NOT_INPUTS, so a new model cannot be forgotten silently (a test checks both lists
# cover every model of the apps).
RECOMPUTE_INPUTS: dict[str, tuple[str, ...]] = {
    "communities.Network": (ROLLUPS,),
    "communities.Community": (ROLLUPS,),
    # A usage-priced contract's future inflow is its community's recent MAU, priced: the runway.
    "communities.Hub": (ROLLUPS, RUNWAY),
    "communities.ActiveUserCount": (ROLLUPS, RUNWAY),
    # Cost per hub, per active user and per community margin are rollups (docs/definitions.md).
    "communities.CloudCost": (ROLLUPS,),
    "contributions.UpstreamCommunity": (ROLLUPS,),
    "contributions.Repository": (ROLLUPS,),
    "contributions.PullRequest": (ROLLUPS,),
    # Headcount and FTE are rollups; payroll is the runway's.
    "staff.StaffMember": (ROLLUPS, RUNWAY),
    "staff.Compensation": (RUNWAY,),
    # New contracts and "funding brought in" are rollups; payment schedules are the runway's.
    "contracts.ServiceContract": (ROLLUPS, RUNWAY),
    "contracts.ContractPayment": (RUNWAY,),
    "contracts.UsageFeeSchedule": (RUNWAY,),
    "contracts.UsageFeeTier": (RUNWAY,),
    "funding.Funder": (ROLLUPS,),
    "funding.Grant": (ROLLUPS, RUNWAY),
    "funding.Subaward": (ROLLUPS, RUNWAY),
    "funding.Disbursement": (RUNWAY,),
    "funding.SubawardPayment": (RUNWAY,),
    "funding.CashPosition": (RUNWAY,),
    "funding.Expense": (RUNWAY,),
    # What is charged to a restricted grant is paid from its money first: the unrestricted runway.
    "funding.StaffAllocation": (RUNWAY,),
    # Both convert amounts in another currency.
    "funding.ExchangeRate": (ROLLUPS, RUNWAY),
    "funding.Scenario": (RUNWAY,),
    "funding.ScenarioAdjustment": (RUNWAY,),
}

# Many-to-many relations whose membership feeds a recompute: "model.field".
RECOMPUTE_M2M_INPUTS: dict[str, tuple[str, ...]] = {
    "communities.Community.networks": (ROLLUPS,),
}

# Models of the apps that feed no recompute: the outputs themselves and bookkeeping. Their writes
# happen inside the recompute and the alert, so watching them would only schedule more recomputes.
NOT_INPUTS: frozenset[str] = frozenset(
    {
        "funding.RunwaySnapshot",
        "funding.RunwayAlert",
        "opsite.RecomputeState",
        "opsite.InputDeletion",
        # The importers' run log and settings (their rows, not their imports, change no figure).
        "contributions.SyncRun",
        "communities.PrometheusSource",
        "communities.ClusterUsage",
        "communities.CostSource",
        # Stories are shown as they are; no figure is computed from them.
        "kpis.ImpactStory",
        # Budget vs actual is read live, never stored; reports are deadlines, not figures.
        "funding.GrantBudgetLine",
        "funding.FunderReport",
    }
)

_M2M_ACTIONS = frozenset({"post_add", "post_remove", "post_clear"})


def request_recompute_for(*models: type) -> None:
    """Ask for the recomputes the rows of ``models`` feed, as the table says: for a bulk write,
    which sends no signal (``bulk_create``, an upsert)."""
    from .recompute import request_recompute

    kinds = sorted({kind for model in models for kind in RECOMPUTE_INPUTS.get(model._meta.label, ())})
    if kinds:
        request_recompute(*kinds)


def _row_receiver(kinds: tuple[str, ...]):
    def receiver(sender, using: str | None = None, **kwargs) -> None:
        request_recompute(*kinds, using=using)

    return receiver


def _m2m_receiver(kinds: tuple[str, ...]):
    def receiver(sender, action: str, using: str | None = None, **kwargs) -> None:
        if action in _M2M_ACTIONS:
            request_recompute(*kinds, using=using)

    return receiver


def connect() -> None:
    """Connect the recompute signals and the deletion stamps of the incremental rollups' inputs
    (``opsite.core.deletions``); idempotent (``dispatch_uid``). Called from ``AppConfig.ready``."""
    from . import deletions

    deletions.connect()
    for label, kinds in RECOMPUTE_INPUTS.items():
        model = apps.get_model(label)
        receiver = _row_receiver(kinds)
        # weak=False: nothing else holds these closures.
        post_save.connect(
            receiver, sender=model, weak=False, dispatch_uid=f"opsite.core.recompute.save.{label}"
        )
        post_delete.connect(
            receiver, sender=model, weak=False, dispatch_uid=f"opsite.core.recompute.delete.{label}"
        )
    for label, kinds in RECOMPUTE_M2M_INPUTS.items():
        model_label, field_name = label.rsplit(".", 1)
        through = apps.get_model(model_label)._meta.get_field(field_name).remote_field.through
        m2m_changed.connect(
            _m2m_receiver(kinds),
            sender=through,
            weak=False,
            dispatch_uid=f"opsite.core.recompute.m2m.{label}",
        )
