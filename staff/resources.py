"""Import/export of the roster and of compensation (CSV, XLSX, JSON), by natural key.

An exported file re-imports as an update: staff members are matched by ``slug``, pay records by
(staff slug, ``effective_on``). Compensation is sensitive: its admin (and so its import and
export) is open only to roles that may view it.
"""

from __future__ import annotations

from django.utils.encoding import force_str
from import_export import fields, widgets

from opsite.resources import OpsiteResource

from .models import Compensation, StaffMember


class NaturalKeyWidget(widgets.ForeignKeyWidget):
    """A relation written as its natural key; an unknown key is a row error naming the value."""

    def clean(self, value, row=None, **kwargs):
        key = force_str(value).strip() if value is not None else ""
        if not key:
            return None
        try:
            return self.get_queryset(value, row, **kwargs).get(**{self.field: key})
        except self.model.DoesNotExist:
            raise ValueError(f"no {self.model._meta.verbose_name} with {self.field} {key!r}.") from None


class StrictBooleanWidget(widgets.BooleanWidget):
    """Yes/no that refuses what it does not understand, instead of reading it as "no"."""

    TRUE_TEXT = frozenset({"1", "true", "yes", "y"})
    FALSE_TEXT = frozenset({"0", "false", "no", "n"})

    def clean(self, value, row=None, **kwargs):
        if value is None or isinstance(value, bool):
            return value
        text = force_str(value).strip().lower()
        if text in ("", "null", "none"):
            return None
        if text in self.TRUE_TEXT:
            return True
        if text in self.FALSE_TEXT:
            return False
        raise ValueError(f"{value!r} is not yes or no; use 1 or 0.")


class _NaturalKeyResource(OpsiteResource):
    """Rows whose natural key names an unknown relation are new rows, so that the bad value is
    reported as a field error of that row (by ``import_instance``), not as a crash."""

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None


class StaffMemberResource(_NaturalKeyResource):
    """A staff member per row, matched by ``slug``. No pay: that is :class:`CompensationResource`."""

    distinguished_contributor = fields.Field(
        attribute="distinguished_contributor",
        column_name="distinguished_contributor",
        widget=StrictBooleanWidget(),
        default=False,
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


class CompensationResource(_NaturalKeyResource):
    """A pay record per row, matched by (``staff`` slug, ``effective_on``). **Sensitive.**"""

    staff = fields.Field(
        attribute="staff", column_name="staff", widget=NaturalKeyWidget(StaffMember, field="slug")
    )

    class Meta(OpsiteResource.Meta):
        model = Compensation
        fields = ("staff", "effective_on", "annual_salary", "benefits_rate", "currency")
        export_order = fields
        import_id_fields = ("staff", "effective_on")

    def get_queryset(self):
        return Compensation.objects.select_related("staff").order_by("staff__slug", "effective_on")
