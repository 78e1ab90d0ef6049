"""The roles of docs/definitions.md as Django groups, defined once.

A data migration calls :func:`sync_role_groups`; when the matrix changes, add a migration that
calls it again. Sensitive models (compensation, cash positions, runway snapshots) are absent
from ``Operations`` on purpose: see docs/roles.md.
"""

from __future__ import annotations

OPERATIONS = "Operations"
FINANCE = "Finance"
LEADERSHIP = "Leadership"
ROLE_NAMES = (OPERATIONS, FINANCE, LEADERSHIP)

ALL = ("add", "change", "delete", "view")
VIEW = ("view",)

# Models Operations keeps.
OPERATIONS_EDITS = (
    "staff.staffmember",
    "communities.network",
    "communities.community",
    "communities.hub",
    "communities.activeusercount",
    "contributions.upstreamcommunity",
    "contributions.repository",
    "contributions.pullrequest",
    "contracts.servicecontract",
    "contracts.contractpayment",
    "contracts.usagefeeschedule",
    "contracts.usagefeetier",
    "communities.prometheussource",
    "communities.clusterusage",
    "kpis.impactstory",
)
OPERATIONS_VIEWS = (
    "funding.funder",
    "funding.grant",
    "contributions.syncrun",
    # What the clusters cost: not pay nor cash, so not sensitive; Finance keeps it.
    "communities.cloudcost",
    "communities.costsource",
)

FINANCE_EDITS = (
    "staff.compensation",
    "funding.funder",
    "funding.grant",
    "funding.subaward",
    "funding.disbursement",
    "funding.subawardpayment",
    "funding.cashposition",
    "funding.expense",
    "funding.exchangerate",
    "funding.scenario",
    "funding.scenarioadjustment",
    "funding.runwaysnapshot",
    "funding.grantbudgetline",
    "funding.staffallocation",
    "funding.funderreport",
    "communities.cloudcost",
    "communities.costsource",
)
FINANCE_VIEWS = ("funding.runwayalert",)

LEADERSHIP_EDITS = ("funding.scenario", "funding.scenarioadjustment")
# Models outside the apps that Leadership reads: whether a recompute is still owed; impact stories.
LEADERSHIP_VIEWS = ("opsite.recomputestate", "kpis.impactstory")

# Models whose rows are sensitive: only Finance, Leadership and superusers see them.
SENSITIVE_MODELS = (
    "staff.compensation",
    "funding.cashposition",
    "funding.runwaysnapshot",
    "funding.runwayalert",
    # A share of a person's payroll charged to a grant reveals their pay, as the grant's spent
    # figures do (docs/roles.md).
    "funding.staffallocation",
)

OPSITE_APPS = ("staff", "communities", "contributions", "contracts", "funding")


def role_matrix(all_models: list[str]) -> dict[str, set[str]]:
    """``{group: {"app.codename", ...}}`` for the given ``app.model`` labels."""

    def perms(models, actions):
        return {f"{m.split('.')[0]}.{a}_{m.split('.')[1]}" for m in models for a in actions}

    operations = perms(OPERATIONS_EDITS, ALL) | perms(OPERATIONS_VIEWS, VIEW)
    finance = operations | perms(FINANCE_EDITS, ALL) | perms(FINANCE_VIEWS, VIEW)
    leadership = perms(all_models, VIEW) | perms(LEADERSHIP_VIEWS, VIEW) | perms(LEADERSHIP_EDITS, ALL)
    return {OPERATIONS: operations, FINANCE: finance, LEADERSHIP: leadership}


def _model_of(permission: str) -> str:
    app_label, codename = permission.split(".", 1)
    return f"{app_label}.{codename.split('_', 1)[1]}"


def sync_role_groups(apps) -> None:
    """Create the role groups and give each exactly the permissions of the matrix."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # A migration's historical app configs have no models module, and create_permissions
        # skips those; the live registry's must be left as they are.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    models = [
        f"{m._meta.app_label}.{m._meta.model_name}"
        for label in OPSITE_APPS
        for m in apps.get_app_config(label).get_models()
        if not m._meta.model_name.startswith("historical")
    ]
    by_name = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(
            content_type__app_label__in=(*OPSITE_APPS, "opsite", "kpis")
        )
    }
    # An earlier migration's state lacks the models added after it: their permissions are given by
    # the migration that adds them (it calls this again). A name that the final state does not
    # know is a typo, which the role tests catch (they compare the groups with the matrix).
    present = {f"{m._meta.app_label}.{m._meta.model_name}" for m in apps.get_models()}
    for group_name, wanted in role_matrix(models).items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = {name for name in wanted if _model_of(name) in present}
        missing = wanted - by_name.keys()
        if missing:
            raise RuntimeError(f"role {group_name} names unknown permissions: {sorted(missing)}")
        group.permissions.set([by_name[name] for name in sorted(wanted)])
