"""Serializers of the staff CRUD API: they parse and render; the services decide.

A staff member is named by their ``slug``. Pay is sensitive (docs/roles.md "What is sensitive"):
it has its own resource and is never nested in a staff member, which Operations may read. Money is
a decimal string; an amount with more decimal places than its column holds is refused, never
rounded.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from opsite.core.api.serializers import OpsiteModelSerializer

from ..models import Compensation, StaffMember

TIMESTAMPS = ("created_at", "updated_at")


class StaffMemberSerializer(OpsiteModelSerializer):
    class Meta:
        model = StaffMember
        fields = (
            "slug",
            "name",
            "github",
            "email",
            "title",
            "team",
            "employment",
            "fte",
            "start_on",
            "end_on",
            "country",
            "distinguished_contributor",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS
        extra_kwargs = {
            "github": {"help_text": "GitHub login; unique whatever its case. A leading @ is dropped."},
        }


class CompensationSerializer(OpsiteModelSerializer):
    staff = serializers.SlugRelatedField(
        slug_field="slug", queryset=StaffMember.objects.all(), help_text="The staff member's slug."
    )

    class Meta:
        model = Compensation
        fields = (
            "id",
            "staff",
            "effective_on",
            "annual_salary",
            "benefits_rate",
            "currency",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A pay record stays with its person (the update service refuses ``staff``): a PUT may
        # repeat it unchanged, a different one is a 400 rather than a silent no-op.
        attrs = super().validate(attrs)
        if self.instance is None:
            return attrs
        staff = attrs.pop("staff", self.instance.staff)
        if staff != self.instance.staff:
            raise serializers.ValidationError(
                {
                    "staff": "A pay record stays with its staff member: record the pay under the "
                    "right person and delete this one."
                }
            )
        return attrs
