"""FilterSets of the communities CRUD API: one per model.

Relations filter by natural key (``?community=<slug>``, ``?hub=<slug>``, ``?network=<slug>``);
dates by range (``?<field>_after=`` / ``?<field>_before=``, both inclusive); choices and flags by
value. A malformed value (a bad date, an unknown choice) is a 400 naming the parameter.
"""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from opsite.core.api.filters import DayFilter, on_date

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
from ..selectors import live_hub_q


class NetworkFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Network
        fields = ()


class CommunityFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    network = filters.CharFilter(field_name="networks__slug", help_text="A network's slug.")
    joined_on = on_date("joined_on")
    left_on = on_date("left_on")
    current = filters.BooleanFilter(
        field_name="left_on", lookup_expr="isnull", help_text="Has not left (true) or has."
    )

    class Meta:
        model = Community
        fields = ("kind", "country", "region", "historically_marginalized", "marginalized_override")


class HubFilter(filters.FilterSet):
    community = filters.CharFilter(field_name="community__slug", help_text="The community's slug.")
    launched_on = on_date("launched_on")
    retired_on = on_date("retired_on")
    live_on = DayFilter(method="filter_live_on", help_text="Live on this day: launched, and not yet retired.")

    class Meta:
        model = Hub
        fields = ("provider", "kind", "cluster")

    def filter_live_on(self, queryset: QuerySet[Hub], name: str, value: date) -> QuerySet[Hub]:
        return queryset.filter(live_hub_q(value))


class ActiveUserCountFilter(filters.FilterSet):
    hub = filters.CharFilter(field_name="hub__slug", help_text="The hub's slug.")
    community = filters.CharFilter(field_name="hub__community__slug", help_text="The community's slug.")
    cluster = filters.CharFilter(field_name="hub__cluster", help_text="The hub's cluster.")
    date = on_date("date")

    class Meta:
        model = ActiveUserCount
        fields = ("period",)


class PrometheusSourceFilter(filters.FilterSet):
    class Meta:
        model = PrometheusSource
        fields = ("auth", "enabled")


class ClusterUsageFilter(filters.FilterSet):
    date = on_date("date")

    class Meta:
        model = ClusterUsage
        fields = ("cluster",)


class CostSourceFilter(filters.FilterSet):
    class Meta:
        model = CostSource
        fields = ("auth", "enabled", "currency")


class CloudCostFilter(filters.FilterSet):
    hub = filters.CharFilter(field_name="hub__slug", help_text="The hub's slug.")
    community = filters.CharFilter(field_name="hub__community__slug", help_text="The hub's community.")
    no_hub = filters.BooleanFilter(
        field_name="hub", lookup_expr="isnull", help_text="The cluster's costs no hub owns (true) or a hub's."
    )
    date = on_date("date")

    class Meta:
        model = CloudCost
        fields = ("cluster", "component", "currency")
