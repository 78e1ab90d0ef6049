"""Bases for every ModelAdmin and inline: writes through the services, import/export built in.

The admin is one of three doors (with the API and imports) and writes only through the services
of the model's app (:func:`opsite.core.services.writes_for`): ``save_model``, ``save_formset``,
``delete_model`` and ``delete_queryset`` (so the bulk "delete selected" action too) call them. The
forms show the rules across rows on their fields before anything is saved, by running the
service's ``validate`` after the model's own field checks.

Two more promises hold for every admin built on these bases: an import is read within bounds and
confirmed only as it was previewed (``opsite.core.admin_import.GuardedImportExportMixin``), and
no page, filter, search or message leads to records of a model the user may not view
(:class:`VisibilityMixin`).

And two for the people reading them: figures read as figures (``money_column`` and the other
``*_column`` helpers, :class:`FiguresMixin`, through :mod:`opsite.core.formatting`), and every
list filter offers only the values in use, under a title of its own (:class:`FiltersInUseMixin`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.filters import (
    ChoicesFieldListFilter,
    FieldListFilter,
    RelatedOnlyFieldListFilter,
)
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.forms import BaseForm
from django.forms.models import InlineForeignKeyField, construct_instance
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, JSON, XLSX
from simple_history.admin import SimpleHistoryAdmin

from .admin_import import GuardedImportExportMixin
from .formatting import format_count, format_money, format_months, format_percent
from .forms import StrictNumbersMixin
from .services import adopt, full_clean_with, has_writes, writes_for
from .visibility import deleted_objects_seen_by, list_filter_path, path_visible, search_field_path


def form_data(form: BaseForm, *, changed_only: bool) -> dict[str, Any]:
    """The model columns a form holds (all of them, or only those the user changed).

    Many-to-many fields are left to ``save_m2m``, which runs after the row is saved; the
    primary key and fields the model does not have (``DELETE``, extra form fields) are not data.
    """
    opts = form._meta.model._meta
    names = form.changed_data if changed_only else list(form.cleaned_data)
    data = {}
    for name in names:
        if name not in form.cleaned_data:
            continue
        try:
            model_field = opts.get_field(name)
        except FieldDoesNotExist:
            continue
        if model_field.many_to_many or not model_field.concrete or model_field.primary_key:
            continue
        data[name] = form.cleaned_data[name]
    return data


MODEL_RULES = "model"


def service_validated(
    form_class: type[BaseForm], rules: Callable | str | None = MODEL_RULES
) -> type[BaseForm]:
    """``form_class`` whose validation also runs the model's service rules across rows.

    The rules run in :func:`~opsite.core.services.full_clean_with`'s order, as in the services:
    after the field checks and before the database constraints, so a rule that a constraint also
    holds shows the rule's message on its field, not the constraint's.
    """
    model = form_class._meta.model
    if not has_writes(model):
        return form_class
    if rules == MODEL_RULES:
        rules = writes_for(model).validate

    def _post_clean(self) -> None:
        # Django's ModelForm._post_clean, with full_clean_with in place of instance.full_clean.
        exclude = self._get_validation_exclusions()
        for name, form_field in self.fields.items():
            if isinstance(form_field, InlineForeignKeyField):
                exclude.add(name)
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except ValidationError as error:
            self._update_errors(error)
        try:
            full_clean_with(self.instance, rules, exclude=exclude, validate_unique=False)
        except ValidationError as error:
            self._update_errors(error)
        if self._validate_unique:
            self.validate_unique()

    return type(form_class.__name__, (form_class,), {"_post_clean": _post_clean})


class ServiceWritesMixin:
    """Saves and deletes of a ModelAdmin through the services of its model."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A row deleted by someone else while this form was open: the update service refuses to
        # write it back (it would come back without its children). Caught here, outside Django's
        # atomic block, so the whole save is rolled back; the user is told and sent to the list.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ObjectDoesNotExist as gone:
            if not getattr(gone, "deleted_meanwhile", False):
                raise
            self.message_user(request, str(gone), messages.WARNING)
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )

    def get_form(self, request, obj=None, change=False, **kwargs):
        return service_validated(super().get_form(request, obj, change=change, **kwargs))

    def save_model(self, request, obj, form, change):
        writes = writes_for(self.model)
        if change:
            data = form_data(form, changed_only=True)
            # A page saved for its inlines alone leaves the row as it was: no write, no history
            # entry, no recompute.
            if data:
                writes.update_from(obj, data)
        else:
            adopt(obj, writes.create_from(form_data(form, changed_only=False)))

    def delete_model(self, request, obj):
        writes_for(self.model).delete_one(obj)

    def delete_queryset(self, request, queryset):
        writes = writes_for(self.model)
        with transaction.atomic():
            for obj in queryset:
                writes.delete_one(obj)

    def save_formset(self, request, form, formset, change):
        """Each inline row through its own model's services: deletions, then changes, then new rows.

        Fills the formset's ``new_objects``, ``changed_objects`` and ``deleted_objects`` as
        ``BaseModelFormSet.save`` does, for the admin's change message.
        """
        writes = writes_for(formset.model)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        kept = []
        for inline_form in formset.initial_forms:
            obj = inline_form.instance
            if obj.pk is None:
                continue
            if formset.can_delete and formset._should_delete_form(inline_form):
                formset.deleted_objects.append(obj)
                writes.delete_one(obj)
            elif inline_form.has_changed():
                kept.append(inline_form)
        # A formset that checks its rows as a set may need its changes in an order in which each
        # one also passes alone (a share lowered before another is raised).
        order = getattr(formset, "order_changes", None)
        for inline_form in order(kept) if order else kept:
            writes.update_from(inline_form.instance, form_data(inline_form, changed_only=True))
            formset.changed_objects.append((inline_form.instance, inline_form.changed_data))
        for inline_form in formset.extra_forms:
            if not inline_form.has_changed():
                continue
            if formset.can_delete and formset._should_delete_form(inline_form):
                continue
            adopt(inline_form.instance, writes.create_from(form_data(inline_form, changed_only=False)))
            formset.new_objects.append(inline_form.instance)


class ServiceInlineMixin:
    """An inline whose forms show the service rules of its model; the parent admin saves it.

    ``row_rules`` are the rules each row's form runs: the model's ``ModelWrites.validate`` by
    default. An inline whose rows obey a rule as a set (payments that never sum past their
    parent's amount, where one save may move money between two rows) checks that rule in its
    formset's ``clean`` and names, here, the service that checks everything else a row must
    obey on its own, or ``None``. The services check each row again when they save it.
    """

    row_rules: Callable | str | None = MODEL_RULES

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        rules = self.row_rules
        formset.form = service_validated(
            formset.form, rules if callable(rules) or rules is None else MODEL_RULES
        )
        return formset


def on_changelist(model_admin, request) -> bool:
    """Whether ``request`` is for ``model_admin``'s changelist (not its form, export or history)."""
    opts = model_admin.model._meta
    return getattr(request.resolver_match, "url_name", "") == f"{opts.app_label}_{opts.model_name}_changelist"


# --- figures: money, months, percentages and counts as people read them ------------------------


def figure(text: str) -> SafeString:
    """A figure in a list or a read-only field: kept on one line, digits in columns (admin.css)."""
    return format_html('<span class="figure">{}</span>', text)


def _attribute(obj: Any, path: str) -> Any:
    """``obj.contract.currency`` for the path ``"contract.currency"``; ``None`` past a ``None``."""
    for name in path.split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def _figure_column(
    field: str, render: Callable[[Any, Any], str], description: str | None, ordering: str | None
) -> Callable[[Any, Any], SafeString]:
    def column(model_admin, obj) -> SafeString:
        return figure(render(obj, _attribute(obj, field)))

    column.__name__ = f"{field}_figure"
    # A model field shown this way on a read-only change form (FiguresMixin).
    column.figure_of = field
    return admin.display(description=description or field.replace("_", " "), ordering=ordering or field)(
        column
    )


def money_column(
    field: str,
    currency: str | None = "currency",
    *,
    description: str | None = None,
    ordering: str | None = None,
):
    """A column (or read-only field) showing ``field`` as money: ``1,500,000.00 USD``.

    ``currency`` is the path of the row's currency (``"grant.currency"``), or ``None`` for the
    reporting currency. Sorted by ``field`` (or ``ordering``): the column stays sortable.
    """
    return _figure_column(
        field,
        lambda obj, value: format_money(value, _attribute(obj, currency) if currency else None),
        description,
        ordering,
    )


def months_column(field: str, *, description: str | None = None, ordering: str | None = None):
    """A column showing a number of months with two decimals: ``18.80``."""
    return _figure_column(field, lambda obj, value: format_months(value), description, ordering)


def percent_column(
    field: str, *, fraction: bool = False, description: str | None = None, ordering: str | None = None
):
    """A column showing a percentage: ``75%`` (stored 0 to 100), or with ``fraction`` 0.275 as ``27.5%``."""
    return _figure_column(
        field, lambda obj, value: format_percent(value, fraction=fraction), description, ordering
    )


def count_column(field: str, *, description: str | None = None, ordering: str | None = None):
    """A column showing a whole number grouped by thousands: ``12,345``."""
    return _figure_column(field, lambda obj, value: format_count(value), description, ordering)


class FiguresMixin:
    """A read-only change form (or inline) shows a model field by its figure column, if it has one.

    Someone who may only view a record (Leadership, or Operations on grants) gets every field
    read-only, and Django would print ``1500000.00``: the admin's ``*_column`` helpers above carry
    the field they show (``figure_of``), and such a form shows them in the field's place.
    """

    def _figures(self) -> dict[str, str]:
        figures = getattr(type(self), "_figure_names", None)
        if figures is None or figures[0] is not type(self):
            names = {}
            for name in dir(type(self)):
                field = getattr(getattr(type(self), name, None), "figure_of", None)
                if field is not None:
                    names.setdefault(field, name)
            type(self)._figure_names = figures = (type(self), names)
        return figures[1]

    def _read_only_form(self, request, obj) -> bool:
        return obj is not None and not self.has_change_permission(request, obj)

    def _as_figures(self, fields) -> list:
        figures, shown, result = self._figures(), set(), []
        for field in fields:
            if isinstance(field, list | tuple):
                line = self._as_figures(field)
                if line:
                    result.append(tuple(line))
                continue
            name = figures.get(field, field) if isinstance(field, str) else field
            if name not in shown:
                shown.add(name)
                result.append(name)
        return result

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._figures() or not self._read_only_form(request, obj):
            return fieldsets
        return [
            (title, {**options, "fields": self._as_figures(options["fields"])})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not self._figures() or not self._read_only_form(request, obj):
            return fields
        # Named read-only too, so that no model form is asked for a field the model lacks.
        return (*fields, *(name for name in self._figures().values() if name not in fields))


# --- list filters: only the values in use, each with its own title ------------------------------


def filter_title(model, field_path: str) -> str:
    """``"community kind"`` for ``community__kind``: a filter through a relation names it.

    Django titles a filter by its last field alone, so a hub list filtered by its own kind and by
    its community's would show two "By kind".
    """
    fields = get_fields_from_path(model, field_path)
    last = fields[-1]
    title = str(getattr(last, "verbose_name", None) or last.related_model._meta.verbose_name)
    if len(fields) > 1 and not last.is_relation:
        owner = fields[-2]
        owner_name = getattr(owner, "verbose_name", None) or owner.related_model._meta.verbose_name
        title = f"{owner_name} {title}"
    return title


# Django's "All" entry, first in every filter's choices.
_ALL = object()


class _InUseMixin:
    """The values of the filter's field that some row of the list has, asked once per page.

    Like Django's filter of related records, the filter is left out when it could not narrow
    the list (one value in use or none), unless it is applied.
    """

    def offered(self) -> list:
        """The values the filter would offer, in its order (``None`` for "empty")."""
        raise NotImplementedError

    @cached_property
    def in_use(self) -> set:
        rows = self.model_admin.get_queryset(self.request).order_by()
        return set(rows.values_list(self.field_path, flat=True).distinct())

    def has_output(self) -> bool:
        return bool(self.used_parameters) or len(self.in_use & set(self.offered())) > 1

    def choices(self, changelist):
        for value, choice in zip([_ALL, *self.offered()], super().choices(changelist), strict=True):
            if value is _ALL or value in self.in_use or choice["selected"]:
                yield choice


class InUseChoicesFieldListFilter(_InUseMixin, ChoicesFieldListFilter):
    """A field's choices, only those some row of the list has (not every country of the world)."""

    def offered(self) -> list:
        # Django's order: each choice but the empty one, then the empty one if there is one.
        choices = self.field.flatchoices
        empty = [None] if any(lookup is None for lookup, _title in choices) else []
        return [lookup for lookup, _title in choices if lookup is not None] + empty


class InUseBooleanFieldListFilter(_InUseMixin, admin.BooleanFieldListFilter):
    """Yes, No (and Unknown) only when some row of the list is so."""

    def offered(self) -> list:
        return [True, False, *([None] if self.field.null else [])]


class InUseRelatedFieldListFilter(RelatedOnlyFieldListFilter):
    """The related records some row of the list points to (Django's own), and "empty" only when
    some row points to none."""

    @cached_property
    def include_empty_choice(self) -> bool:
        if not super().include_empty_choice:
            return False
        rows = self.model_admin.get_queryset(self.request).order_by()
        return rows.filter(**{f"{self.field_path}__isnull": True}).exists()


class InUseFieldListFilter(FieldListFilter):
    """The filter Django would pick for the field, limited to the values some row has, titled by
    :func:`filter_title` (or the subclass's ``fixed_title``).

    The kernel's admin bases use it for every plain field name in ``list_filter``. Dates keep
    Django's periods ("Past 7 days"), and fields without choices Django's list of the values in use.
    """

    fixed_title: str | None = None

    def __new__(cls, field, request, params, model, model_admin, field_path):
        arguments = (field, request, params, model, model_admin, field_path)
        if field.is_relation:
            spec = InUseRelatedFieldListFilter(*arguments)
        elif isinstance(field, models.BooleanField):
            spec = InUseBooleanFieldListFilter(*arguments)
        elif field.flatchoices:
            spec = InUseChoicesFieldListFilter(*arguments)
        else:
            spec = FieldListFilter.create(*arguments)
        spec.request, spec.model_admin = request, model_admin
        spec.title = cls.fixed_title or filter_title(model, field_path)
        return spec


def in_use(title: str) -> type[InUseFieldListFilter]:
    """``("repository__upstream_community__is_key", in_use("key upstream community"))``: a title of
    one's own where the automatic one reads poorly."""
    return type("InUseFieldListFilter", (InUseFieldListFilter,), {"fixed_title": title})


class FiltersInUseMixin:
    """Every plain field name in ``list_filter`` filters by the values in use, under its own title."""

    def get_list_filter(self, request):
        return [
            (item, InUseFieldListFilter) if isinstance(item, str) else item
            for item in super().get_list_filter(request)
        ]


# Inlines an app above adds to the page of a model below it, which may not import that app (the
# staff member's page shows the grants their time is charged to): ``{model label: [inline]}``.
_EXTRA_INLINES: dict[str, list[type]] = {}


def add_inline(model_label: str, inline: type) -> None:
    """Show ``inline`` on the admin page of ``model_label`` (read with :func:`extra_inlines`);
    Django still shows an inline only to users who may view its model."""
    inlines = _EXTRA_INLINES.setdefault(model_label.lower(), [])
    if inline not in inlines:
        inlines.append(inline)


def extra_inlines(model: type[models.Model]) -> tuple[type, ...]:
    return tuple(_EXTRA_INLINES.get(model._meta.label_lower, ()))


class OpsiteTabularInline(FiguresMixin, StrictNumbersMixin, ServiceInlineMixin, admin.TabularInline):
    pass


class OpsiteStackedInline(FiguresMixin, StrictNumbersMixin, ServiceInlineMixin, admin.StackedInline):
    pass


class VisibilityMixin:
    """No side channel to the records of a model the user may not view (docs/roles.md).

    * A changelist (and its export) refuses a filter whose path goes through such a model, with
      the answer Django gives any disallowed lookup (400, "Filtering by ... not allowed"): with
      ``?compensations__isnull=False`` Operations would count and place pay records.
    * Search fields and list filters through such a model are left out for that user.
    * The pages of one record (change, history, a history version, delete) answer 403 before
      the record is looked up, for a user who may not view (or delete) any record of the model:
      the same answer whether or not the id exists.
    * A refused delete names no record, count or kind the user may not view.
    """

    def lookup_allowed(self, lookup, value, request=None):
        if request is not None and not path_visible(request.user, self.model, lookup):
            return False
        # PostgreSQL refuses a NUL in text with an error (a 500): refuse it as a bad filter.
        if "\x00" in str(value):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        return [
            name
            for name in super().get_search_fields(request)
            if path_visible(request.user, self.model, search_field_path(name))
        ]

    def get_list_filter(self, request):
        return [
            item
            for item in super().get_list_filter(request)
            if (path := list_filter_path(item)) is None or path_visible(request.user, self.model, path)
        ]

    def get_deleted_objects(self, objs, request):
        return deleted_objects_seen_by(objs, request, self.admin_site)

    def _may_see_some(self, request) -> bool:
        history = getattr(self, "has_view_history_or_change_history_permission", None)
        return self.has_view_or_change_permission(request) or bool(history and history(request))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        if not self._may_see_some(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # Only SimpleHistoryAdmin routes this page (a past version of one record).
        if not self._may_see_some(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        if not self.has_delete_permission(request):
            raise PermissionDenied
        return super().delete_view(request, object_id, extra_context)


class OpsiteAdmin(
    FiguresMixin,
    FiltersInUseMixin,
    VisibilityMixin,
    GuardedImportExportMixin,
    StrictNumbersMixin,
    ServiceWritesMixin,
    ImportExportModelAdmin,
):
    """Import/export (CSV, XLSX, JSON) with a dry-run preview; permissions follow the roles."""

    formats = [CSV, XLSX, JSON]
    list_per_page = 50
    show_full_result_count = False


class OpsiteHistoryAdmin(
    FiguresMixin,
    FiltersInUseMixin,
    VisibilityMixin,
    GuardedImportExportMixin,
    StrictNumbersMixin,
    ServiceWritesMixin,
    ImportExportModelAdmin,
    SimpleHistoryAdmin,
):
    """As :class:`OpsiteAdmin`, with the audit history of every change."""

    formats = [CSV, XLSX, JSON]
    list_per_page = 50
    show_full_result_count = False


class ReadOnlyAdmin(FiguresMixin, FiltersInUseMixin, VisibilityMixin, admin.ModelAdmin):
    """Bookkeeping written by jobs: shown for the record, never typed in.

    Deleting stays possible for who may (clearing old records); a model with services deletes
    through them, like any other door.
    """

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        if has_writes(self.model):
            writes_for(self.model).delete_one(obj)
        else:
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        if not has_writes(self.model):
            super().delete_queryset(request, queryset)
            return
        writes = writes_for(self.model)
        with transaction.atomic():
            for obj in queryset:
                writes.delete_one(obj)
