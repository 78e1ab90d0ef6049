"""Import/export of networks, communities, hubs and usage (CSV, XLSX, JSON), by natural key.

An exported file re-imports as an update: networks, communities and hubs are matched by
``slug``, usage samples by (hub slug, ``date``, ``period``). Relations are written as slugs;
a community's networks as slugs separated by commas.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.encoding import force_str
from import_export import fields, widgets

from opsite.resources import OpsiteResource

from .models import ActiveUserCount, Community, Hub, Network


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


class NaturalKeysWidget(widgets.ManyToManyWidget):
    """Many relations as natural keys joined by the separator; unknown keys are refused by name
    (the library's widget would silently drop them)."""

    def clean(self, value, row=None, **kwargs):
        keys = [k.strip() for k in force_str(value or "").split(self.separator)]
        keys = list(dict.fromkeys(k for k in keys if k))
        if not keys:
            return []
        found = {
            force_str(getattr(o, self.field)): o
            for o in self.model.objects.filter(**{f"{self.field}__in": keys})
        }
        missing = [k for k in keys if k not in found]
        if missing:
            names = ", ".join(repr(k) for k in missing)
            raise ValueError(f"no {self.model._meta.verbose_name} with {self.field} {names}.")
        return [found[k] for k in keys]

    def render(self, value, obj=None, **kwargs):
        # Sorted, so an export is stable whatever order the rows were linked in; .all() keeps a
        # prefetch in use.
        if value is None:
            return ""
        return self.separator.join(sorted(force_str(getattr(o, self.field)) for o in value.all()))


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
        raise ValueError(f"{value!r} is not yes or no; use 1 or 0 (or leave it empty).")


class StrictIntegerWidget(widgets.IntegerWidget):
    """A whole number that names the bad value instead of failing with ``InvalidOperation``."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        if isinstance(value, float) and value.is_integer():  # XLSX numbers arrive as floats
            return int(value)
        text = force_str(value).strip()
        if not text.lstrip("-").isdigit():
            raise ValueError(f"{value!r} is not a whole number.")
        return int(text)


class _NaturalKeyResource(OpsiteResource):
    """Rows whose natural key names an unknown relation are new rows, so that the bad value is
    reported as a field error of that row (by ``import_instance``), not as a crash."""

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None


class NetworkResource(_NaturalKeyResource):
    class Meta(OpsiteResource.Meta):
        model = Network
        fields = ("slug", "name")
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return Network.objects.order_by("name", "slug")


class CommunityResource(_NaturalKeyResource):
    """A community per row, matched by ``slug``. ``historically_marginalized`` is exported for
    reading and ignored on import: it is derived (set ``marginalized_override`` instead)."""

    networks = fields.Field(
        attribute="networks", column_name="networks", widget=NaturalKeysWidget(Network, field="slug")
    )
    marginalized_override = fields.Field(
        attribute="marginalized_override", column_name="marginalized_override", widget=StrictBooleanWidget()
    )
    historically_marginalized = fields.Field(
        attribute="historically_marginalized",
        column_name="historically_marginalized",
        widget=widgets.BooleanWidget(),
        readonly=True,
    )

    class Meta(OpsiteResource.Meta):
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
        )
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return Community.objects.prefetch_related("networks").order_by("name", "slug")

    def import_instance(self, instance, row, **kwargs):
        # The library links many-to-many rows only after saving, where a bad slug is an
        # exception without a field. Check the slugs now, so the row is reported as invalid
        # with the field named, like every other bad cell.
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        field = self.fields["networks"]
        if field.column_name in row:
            try:
                field.clean(row)
            except ValueError as exc:
                errors["networks"] = [ValidationError(force_str(exc), code="invalid")]
        if errors:
            raise ValidationError(errors)


class HubResource(_NaturalKeyResource):
    """A hub per row, matched by ``slug``; ``community`` is the community's slug."""

    community = fields.Field(
        attribute="community", column_name="community", widget=NaturalKeyWidget(Community, field="slug")
    )

    class Meta(OpsiteResource.Meta):
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
        )
        export_order = fields
        import_id_fields = ("slug",)

    def get_queryset(self):
        return Hub.objects.select_related("community").order_by("slug")


class ActiveUserCountResource(_NaturalKeyResource):
    """A usage sample per row, matched by (``hub`` slug, ``date``, ``period``)."""

    hub = fields.Field(attribute="hub", column_name="hub", widget=NaturalKeyWidget(Hub, field="slug"))
    active_users = fields.Field(
        attribute="active_users", column_name="active_users", widget=StrictIntegerWidget()
    )

    class Meta(OpsiteResource.Meta):
        model = ActiveUserCount
        fields = ("hub", "date", "period", "active_users")
        export_order = fields
        import_id_fields = ("hub", "date", "period")

    def get_queryset(self):
        return ActiveUserCount.objects.select_related("hub").order_by("hub__slug", "date", "period")
