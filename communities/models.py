"""Communities we serve, their hubs, how many people use them, and what the clusters cost.

The models hold the database's rules and, in ``clean()``, the checks of a row's own fields. Writes,
and the derived columns of a community, are ``communities.services``' (cloud costs and their
sources: ``communities.cost_services``; docs/architecture.md "One write path").
"""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from opsite.core.countries import COUNTRY_CHOICES
from opsite.core.dates import PlausibleDateValidator
from opsite.core.models import TimeStampedModel
from opsite.core.money import CurrencyField, MoneyField

from .choices import CommunityKind, CostComponent, HubKind, Provider, Region, UsagePeriod

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _day(value: object) -> date | None:
    """``value`` if it is already a date. Fields that failed to parse are reported elsewhere."""
    return value if isinstance(value, date) else None


def _credential_errors(source: "PrometheusSource | CostSource") -> dict[str, str]:
    """What is wrong with a source's credentials: the variable named as its auth needs, a username
    for basic auth. Shared by the importers' sources, which read their secrets the same way."""
    errors: dict[str, str] = {}
    if source.auth != PrometheusSource.Auth.NONE and not source.secret_env:
        errors["secret_env"] = (
            f"{source.get_auth_display()} needs the name of the variable holding the secret."
        )
    if source.secret_env and not _ENV_NAME.fullmatch(source.secret_env):
        errors["secret_env"] = (
            f"{source.secret_env!r} is not an environment variable name (letters, digits, _)."
        )
    if source.auth == PrometheusSource.Auth.BASIC and not source.username:
        errors["username"] = "Basic auth needs a username."
    return errors


def _mapping_is_text(mapping: object) -> bool:
    return isinstance(mapping, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    )


class Network(TimeStampedModel):
    """A program several communities belong to, e.g. a regional capacity-building project."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Community(TimeStampedModel):
    """A research or education community served by one or more hubs."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=CommunityKind.choices)
    country = models.CharField(max_length=2, choices=COUNTRY_CHOICES)
    region = models.CharField(
        max_length=20, choices=Region.choices, blank=True, help_text="Derived from the country when blank."
    )
    networks = models.ManyToManyField(Network, blank=True, related_name="communities")
    joined_on = models.DateField(validators=[PlausibleDateValidator()])
    left_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    website = models.URLField(blank=True)
    marginalized_override = models.BooleanField(
        null=True, blank=True, help_text="When set, wins over the derived historically-marginalized flag."
    )
    historically_marginalized = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "communities"
        constraints = [
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=F("joined_on")),
                name="communities_community_left_after_joined",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        """A community cannot leave before it joined."""
        joined_on, left_on = _day(self.joined_on), _day(self.left_on)
        if joined_on and left_on and left_on < joined_on:
            raise ValidationError(
                {"left_on": f"Left on {left_on.isoformat()} is before joined on {joined_on.isoformat()}."}
            )


class Hub(TimeStampedModel):
    """A JupyterHub (or BinderHub) we run for a community, live from ``launched_on``."""

    slug = models.SlugField(max_length=80, unique=True)
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="hubs")
    name = models.CharField(max_length=200)
    url = models.URLField(blank=True)
    cluster = models.CharField(max_length=80, blank=True)
    provider = models.CharField(max_length=10, choices=Provider.choices)
    kind = models.CharField(max_length=20, choices=HubKind.choices, default=HubKind.BASEHUB)
    launched_on = models.DateField(validators=[PlausibleDateValidator()])
    retired_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(retired_on__isnull=True) | Q(retired_on__gte=F("launched_on")),
                name="communities_hub_retired_after_launched",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        """A hub cannot retire before it launched.

        A hub launched before its community's ``joined_on`` is allowed on purpose: pilots often
        run before the paperwork that makes a community a member.
        """
        launched_on, retired_on = _day(self.launched_on), _day(self.retired_on)
        if launched_on and retired_on and retired_on < launched_on:
            raise ValidationError(
                {
                    "retired_on": (
                        f"Retired on {retired_on.isoformat()} is before launched on {launched_on.isoformat()}."
                    )
                }
            )


class ActiveUserCount(TimeStampedModel):
    """A hub's ``jupyterhub_active_users`` for one period label, sampled on ``date``."""

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="active_user_counts")
    date = models.DateField(validators=[PlausibleDateValidator()])
    period = models.CharField(max_length=3, choices=UsagePeriod.choices)
    active_users = models.PositiveIntegerField()

    class Meta:
        ordering = ["hub__slug", "-date", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["hub", "date", "period"], name="communities_activeusercount_unique"
            ),
            models.CheckConstraint(
                condition=Q(active_users__gte=0), name="communities_activeusercount_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["period", "date"], name="communities_auc_period_date"),
            # The incremental rollup finds samples changed since its last run (edits included).
            models.Index(fields=["updated_at"], name="communities_auc_updated_at"),
        ]

    def __str__(self) -> str:
        return f"{self.hub.slug} {self.date:%Y-%m-%d} {self.period}: {self.active_users}"


class PrometheusSource(TimeStampedModel):
    """Where a cluster's Prometheus answers, and how its metric labels name our hubs.

    Secrets never enter the database: ``secret_env`` names the environment variable that holds
    the bearer token or basic-auth password, read when the importer runs.
    """

    class Auth(models.TextChoices):
        NONE = "none", "None"
        BEARER = "bearer", "Bearer token"
        BASIC = "basic", "Basic auth"

    cluster = models.CharField(max_length=80, unique=True, help_text="As in the hubs' cluster field.")
    url = models.URLField(max_length=300, help_text="Base URL of the Prometheus server.")
    auth = models.CharField(max_length=10, choices=Auth.choices, default=Auth.NONE)
    username = models.CharField(max_length=150, blank=True, help_text="For basic auth.")
    secret_env = models.CharField(
        "secret environment variable",
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the token or password (not the secret).",
    )
    hub_label = models.CharField(
        max_length=100, default="namespace", help_text="The metric label that names the hub."
    )
    hub_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Label values that are not hub slugs, as {"label value": "hub-slug"}.',
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["cluster"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(auth="none") | ~models.Q(secret_env=""),
                name="communities_prometheussource_secret_env_with_auth",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cluster} ({self.url})"

    def clean(self):
        """Credentials named as the auth needs them; a label name and a mapping Prometheus takes."""
        errors = _credential_errors(self)
        if not _LABEL_NAME.fullmatch(self.hub_label or ""):
            errors["hub_label"] = f"{self.hub_label!r} is not a Prometheus label name."
        if not _mapping_is_text(self.hub_mapping):
            errors["hub_mapping"] = 'Give an object of "label value": "hub-slug" pairs.'
        if errors:
            raise ValidationError(errors)


class ClusterUsage(TimeStampedModel):
    """Unique users of a whole cluster on ``date`` (30 days), deduplicated across its hubs.

    The sum of the hubs' 30d active users counts a person once per hub they use; this is the
    figure to show beside it.
    """

    cluster = models.CharField(max_length=80, help_text="As in the hubs' cluster field.")
    date = models.DateField(validators=[PlausibleDateValidator()])
    unique_users = models.PositiveIntegerField()

    class Meta:
        ordering = ["cluster", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "date"], name="communities_clusterusage_unique"),
            models.CheckConstraint(
                condition=models.Q(unique_users__gte=0), name="communities_clusterusage_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cluster} {self.date:%Y-%m-%d}: {self.unique_users}"


class CostSource(TimeStampedModel):
    """Where a cluster's JupyterHub cost-monitoring service answers, and how it names our hubs.

    The service (github.com/2i2c-org/jupyterhub-cost-monitoring) serves a cluster's daily cloud
    costs per hub and per component as JSON; ``communities.cost_monitoring`` reads it. As for
    :class:`PrometheusSource`, secrets never enter the database: ``secret_env`` names the
    environment variable holding the bearer token or basic-auth password, read when the importer
    runs.
    """

    Auth = PrometheusSource.Auth

    cluster = models.CharField(max_length=80, unique=True, help_text="As in the hubs' cluster field.")
    url = models.URLField(max_length=300, help_text="Base URL of the cost-monitoring service.")
    auth = models.CharField(max_length=10, choices=Auth.choices, default=Auth.NONE)
    username = models.CharField(max_length=150, blank=True, help_text="For basic auth.")
    secret_env = models.CharField(
        "secret environment variable",
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the token or password (not the secret).",
    )
    hub_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            'Hub names of the service that are not hub slugs, as {"name": "hub-slug"}; map a name to "" '
            "to count its costs as the cluster's own (no hub)."
        ),
    )
    currency = CurrencyField(
        default="USD", help_text="The currency the service reports in (AWS Cost Explorer: USD)."
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["cluster"]
        constraints = [
            models.CheckConstraint(
                condition=Q(auth="none") | ~Q(secret_env=""),
                name="communities_costsource_secret_env_with_auth",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cluster} ({self.url})"

    def clean(self):
        """Credentials named as the auth needs them; a mapping of names to slugs."""
        errors = _credential_errors(self)
        if not _mapping_is_text(self.hub_mapping):
            errors["hub_mapping"] = 'Give an object of "name": "hub-slug" pairs.'
        if errors:
            raise ValidationError(errors)


class CloudCost(TimeStampedModel):
    """What a cluster's cloud cost one day for one component, owned by one hub or by none.

    ``hub`` is empty for the costs no hub owns (core nodes, support services, costs the provider
    could not attribute): docs/definitions.md#cloud-costs shares them among the cluster's hubs.
    The importers write these rows (``communities.cost_monitoring``, ``communities.cost_import``);
    Finance may correct them by hand.
    """

    date = models.DateField(validators=[PlausibleDateValidator()])
    cluster = models.CharField(max_length=80, help_text="As in the hubs' cluster field.")
    hub = models.ForeignKey(
        Hub,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cloud_costs",
        help_text="Empty for the cluster's costs no hub owns (core nodes, support).",
    )
    component = models.CharField(max_length=20, choices=CostComponent.choices)
    amount = MoneyField()
    currency = CurrencyField()

    class Meta:
        ordering = ["-date", "cluster", "component", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "cluster", "hub", "component"], name="communities_cloudcost_unique"
            ),
            # SQL's unique constraint takes two NULLs as different: the costs no hub owns need their
            # own, on both SQLite and PostgreSQL.
            models.UniqueConstraint(
                fields=["date", "cluster", "component"],
                condition=Q(hub__isnull=True),
                name="communities_cloudcost_unique_without_hub",
                violation_error_message=(
                    "This cluster already has a cost of this component with no hub on this date."
                ),
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="communities_cloudcost_amount_gte_0"),
        ]
        indexes = [
            models.Index(fields=["cluster", "date"], name="communities_cloudcost_cl_date"),
            # The cost rollups' watermark: which months a cost was written in since the last run.
            models.Index(fields=["updated_at"], name="communities_cloudcost_updated"),
        ]

    def __str__(self) -> str:
        owner = self.hub.slug if self.hub_id else "no hub"
        return f"{self.cluster} {owner} {self.date:%Y-%m-%d} {self.component}: {self.amount} {self.currency}"
