"""Serializers of the communities CRUD API: they parse and render; the services decide.

Networks, communities and hubs are named by their ``slug``; a community's networks are a list of
slugs. ``region`` left blank is derived from the country, and ``historically_marginalized`` is
always derived (see docs/definitions.md): read-only here.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from opsite.core.api.serializers import OpsiteModelSerializer, OpsiteSerializer, StrictIntegerField

from ..models import (
    ActiveUserCount,
    CloudCost,
    ClusterUsage,
    Community,
    CostSource,
    Hub,
    Network,
    PrometheusSource,
)

TIMESTAMPS = ("created_at", "updated_at")


class NetworkSerializer(OpsiteModelSerializer):
    community_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Network
        fields = ("slug", "name", "community_count", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class CommunitySerializer(OpsiteModelSerializer):
    networks = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Network.objects.all(),
        many=True,
        required=False,
        help_text="The slugs of the networks it belongs to.",
    )
    hub_count = serializers.IntegerField(read_only=True)
    live_hub_count = serializers.IntegerField(read_only=True, help_text="Hubs live today.")

    class Meta:
        model = Community
        fields = (
            "slug",
            "name",
            "kind",
            "country",
            "region",
            "networks",
            "joined_on",
            "left_on",
            "website",
            "marginalized_override",
            "historically_marginalized",
            "hub_count",
            "live_hub_count",
            *TIMESTAMPS,
        )
        read_only_fields = ("historically_marginalized", *TIMESTAMPS)
        extra_kwargs = {
            "historically_marginalized": {
                "help_text": "Derived: see docs/definitions.md, Historically marginalized community."
            },
        }


class HubSerializer(OpsiteModelSerializer):
    community = serializers.SlugRelatedField(
        slug_field="slug", queryset=Community.objects.all(), help_text="The community's slug."
    )
    latest_30d_users = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Its latest 30-day active users, up to today."
    )
    latest_30d_on = serializers.DateField(
        read_only=True, allow_null=True, help_text="The day of that sample."
    )

    class Meta:
        model = Hub
        fields = (
            "slug",
            "community",
            "name",
            "url",
            "cluster",
            "provider",
            "kind",
            "launched_on",
            "retired_on",
            "latest_30d_users",
            "latest_30d_on",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class FixedIdentityMixin:
    """Fields that identify a row and cannot change once it exists.

    A PUT may repeat them unchanged (they are dropped before the update service, which refuses
    them); a different value is a 400 on that field rather than a silent no-op.
    """

    identity_fields: tuple[str, ...] = ()
    identity_message = "cannot change"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if self.instance is None:
            return attrs
        changed = {
            name: self.identity_message
            for name in self.identity_fields
            if name in attrs and attrs[name] != getattr(self.instance, name)
        }
        if changed:
            raise serializers.ValidationError(changed)
        return {name: value for name, value in attrs.items() if name not in self.identity_fields}


class ActiveUserCountSerializer(FixedIdentityMixin, OpsiteModelSerializer):
    hub = serializers.SlugRelatedField(
        slug_field="slug", queryset=Hub.objects.all(), help_text="The hub's slug."
    )
    community = serializers.SlugRelatedField(
        source="hub.community", slug_field="slug", read_only=True, help_text="The hub's community."
    )

    identity_fields = ("hub", "date", "period")
    identity_message = (
        "A sample's hub, date and period are what it is: record a new sample and delete this one."
    )

    class Meta:
        model = ActiveUserCount
        fields = ("id", "hub", "community", "date", "period", "active_users", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class ActiveUserCountBatchRowSerializer(OpsiteSerializer):
    """One row of an active-user batch (documentation: the service checks the rows itself)."""

    hub = serializers.CharField(help_text="The hub's slug.")
    date = serializers.DateField()
    period = serializers.ChoiceField(choices=ActiveUserCount._meta.get_field("period").choices)
    active_users = StrictIntegerField(min_value=0, max_value=2_147_483_647)


class BatchResultSerializer(OpsiteSerializer):
    """What a batch did: rows inserted, rows whose number changed, rows already as given."""

    created = StrictIntegerField()
    updated = StrictIntegerField()
    unchanged = StrictIntegerField()


class PrometheusSourceSerializer(OpsiteModelSerializer):
    class Meta:
        model = PrometheusSource
        fields = (
            "cluster",
            "url",
            "auth",
            "username",
            "secret_env",
            "hub_label",
            "hub_mapping",
            "enabled",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class ClusterUsageSerializer(OpsiteModelSerializer):
    class Meta:
        model = ClusterUsage
        fields = ("id", "cluster", "date", "unique_users", *TIMESTAMPS)
        read_only_fields = fields


class CostSourceSerializer(OpsiteModelSerializer):
    class Meta:
        model = CostSource
        fields = (
            "cluster",
            "url",
            "auth",
            "username",
            "secret_env",
            "hub_mapping",
            "currency",
            "enabled",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class CloudCostSerializer(OpsiteModelSerializer):
    hub = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Hub.objects.all(),
        allow_null=True,
        required=False,
        help_text="The hub's slug; null for the cluster's costs no hub owns (core nodes, support).",
    )

    class Meta:
        model = CloudCost
        fields = ("id", "date", "cluster", "hub", "component", "amount", "currency", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS
        # The services check uniqueness, an empty hub included, with the model's messages (DRF's
        # own check would make ``hub`` required).
        validators = []
