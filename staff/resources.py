"""Import/export of the roster and of compensation (CSV, XLSX, JSON), by natural key.

An exported file re-imports as an update: staff members are matched by ``slug``, pay records by
(staff slug, ``effective_on``). Rows are saved through ``staff.services`` by the kernel's resource
base. Compensation is sensitive: its admin (and so its import and export) is open only to roles
that may view it.
"""

from __future__ import annotations

from import_export import fields

from opsite.core.resources import NaturalKeyResource, NaturalKeyWidget, OpsiteResource, StrictBooleanWidget

from .models import Compensation, StaffMember


class StaffMemberResource(NaturalKeyResource):
    """A staff member per row, matched by ``slug``. No pay: that is :class:`CompensationResource`."""

    distinguished_contributor = fields.Field(
        attribute="distinguished_contributor",
        column_name="distinguished_contributor",
        widget=StrictBooleanWidget(null=False),
    )

    class Meta(OpsiteResource.Meta):
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
        )
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return StaffMember.objects.order_by("name", "slug")


class CompensationResource(NaturalKeyResource):
    """A pay record per row, matched by (``staff`` slug, ``effective_on``). **Sensitive.**"""

    staff = fields.Field(
        attribute="staff", column_name="staff", widget=NaturalKeyWidget(StaffMember, field="slug")
    )

    # The template's example pays its person from the day they started: pay runs only while they
    # are employed.
    template_example = {
        "staff": lambda resource: _first_staff_member("slug"),
        "effective_on": lambda resource: _first_staff_member("start_on"),
    }

    class Meta(OpsiteResource.Meta):
        model = Compensation
        fields = ("staff", "effective_on", "annual_salary", "benefits_rate", "currency")
        export_order = fields
        import_id_fields = ("staff", "effective_on")

    def get_queryset(self):
        return Compensation.objects.select_related("staff").order_by("staff__slug", "effective_on")


def _first_staff_member(column: str) -> str:
    """A column of the first person on the roster (by slug), as text; ``""`` when there is none."""
    value = StaffMember.objects.order_by("slug").values_list(column, flat=True).first()
    return "" if value is None else str(value)
