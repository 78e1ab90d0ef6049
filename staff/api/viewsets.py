"""Viewsets of the staff CRUD API, mounted at ``/api/v1/staff/``.

Thin: the rows come from ``staff.selectors``, writes go through the models' ``ModelWrites`` in
``staff.services`` (the same rules, messages and side effects as the admin and the importers;
deleting a person who has pay records is a 409), and ``RolePermission`` applies docs/roles.md:
Operations and Finance keep the roster; compensation is Finance's to keep and Leadership's to
read, and Operations cannot reach it at all (403 on every method, OPTIONS included).
"""

from __future__ import annotations

from opsite.core.api.viewsets import SLUG, ServiceModelViewSet

from .. import selectors
from . import filters, serializers


class StaffMemberViewSet(ServiceModelViewSet):
    queryset = selectors.staff_member_list()
    serializer_class = serializers.StaffMemberSerializer
    filterset_class = filters.StaffMemberFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG
    # Nothing about pay: ordering by it would reveal it to readers of the roster.
    ordering_fields = [
        "slug",
        "name",
        "team",
        "employment",
        "fte",
        "start_on",
        "end_on",
        "country",
        "created_at",
        "updated_at",
    ]
    ordering = ["name", "slug"]


class CompensationViewSet(ServiceModelViewSet):
    queryset = selectors.compensation_list()
    serializer_class = serializers.CompensationSerializer
    filterset_class = filters.CompensationFilter
    ordering_fields = [
        "id",
        "staff__name",
        "staff__slug",
        "effective_on",
        "annual_salary",
        "benefits_rate",
        "created_at",
        "updated_at",
    ]
    ordering = ["staff__name", "staff__slug", "-effective_on"]
