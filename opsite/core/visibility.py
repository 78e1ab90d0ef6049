"""What a user may see of the models a page, a filter or a message reaches through relations.

A model a user may not view (docs/roles.md: Operations may not view pay, cash or the runway) must
not be reachable sideways: not by filtering a list through a relation to it
(``?compensations__isnull=False`` counts and places pay records), not by searching through it, not
by the status of one of its pages, and not by name in a refused delete. The functions here answer
those questions from the user's model permissions, generically, for every model and relation, so
a new sensitive relation is covered the day it is added.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist
from django.db import models, router
from django.db.models.constants import LOOKUP_SEP

# What a refused delete says in place of the records the user may not see.
UNSEEN = "Records you may not see"
UNSEEN_KIND = "records you may not see"


def may_view(user, model: type[models.Model]) -> bool:
    """Whether ``user`` may view rows of ``model`` (its ``view`` or ``change`` permission).

    The admin's own test (``has_view_or_change_permission``). A many-to-many link table that
    Django created has no permissions of its own: its rows are visible when both sides are.
    """
    opts = model._meta
    if opts.auto_created:
        targets = [f.related_model for f in opts.fields if f.is_relation and f.related_model is not None]
        return all(may_view(user, target) for target in targets)
    return any(
        user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
        for action in ("view", "change")
    )


def models_on_path(model: type[models.Model], path: str) -> list[type[models.Model]]:
    """The models a lookup path (``compensations__id__gt``) reaches through its relations.

    The first model is not included. The walk stops at the first part that is not a relation
    (a field of the last model, or a lookup or transform such as ``isnull`` or ``gt``).
    """
    reached = []
    for part in path.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            break
        if not field.is_relation or field.related_model is None:
            break
        model = field.related_model
        reached.append(model)
    return reached


def path_visible(user, model: type[models.Model], path: str) -> bool:
    """Whether every model ``path`` reaches from ``model`` is one ``user`` may view."""
    return all(may_view(user, reached) for reached in models_on_path(model, path))


def list_filter_path(item) -> str | None:
    """The field path of a ModelAdmin ``list_filter`` item; ``None`` for a filter class."""
    if isinstance(item, str):
        return item
    if isinstance(item, list | tuple) and item and isinstance(item[0], str):
        return item[0]
    return None


def search_field_path(name: str) -> str:
    """The field path of a ModelAdmin ``search_fields`` entry (``^name``, ``=slug``, ``@bio``)."""
    return name.lstrip("^=@")


def _without_unseen(items: list, marker: object) -> list:
    """``items`` (the admin's nested list of lines) with the ``marker`` lines and their children
    taken out, and one :data:`UNSEEN` line in their place when there were any.

    In Django's nested list, the list of an object's related objects follows its line directly.
    The children of a record the user may not see go with it: listing them would place it.
    """
    kept: list = []
    hidden = skip_children = False
    for item in items:
        if isinstance(item, list):
            if not skip_children:
                nested = _without_unseen(item, marker)
                if nested:
                    kept.append(nested)
            skip_children = False
            continue
        skip_children = item is marker
        if skip_children:
            hidden = True
        else:
            kept.append(item)
    if hidden:
        kept.append(UNSEEN)
    return kept


def deleted_objects_seen_by(objs, request, admin_site):
    """Django's ``get_deleted_objects``, as ``request.user`` may see it.

    The same four answers (the nested list of what a delete would remove, the count per model,
    the kinds the user may not delete, the protected records) and, for the models the user may
    view, the same lines. Every record of a model the user may not view is left out, with its
    count and name, and one "Records you may not see" line stands for them; the kind the user
    may not delete is then "records you may not see". A delete that needs such records stays
    refused, for the same reason as before.
    """
    from django.contrib.admin.utils import NestedObjects, quote
    from django.urls import NoReverseMatch, reverse
    from django.utils.html import format_html
    from django.utils.text import capfirst

    objs = list(objs)
    if not objs:
        return [], {}, set(), []
    collector = NestedObjects(using=router.db_for_write(objs[0]._meta.model), origin=objs)
    collector.collect(objs)
    perms_needed: set = set()
    marker = object()
    seen: dict[type[models.Model], bool] = {}

    def visible(model) -> bool:
        if model not in seen:
            seen[model] = may_view(request.user, model)
        return seen[model]

    def format_callback(obj):
        # django.contrib.admin.utils.get_deleted_objects's callback, with the marker for what
        # the user may not see.
        model, opts = type(obj), obj._meta
        registered = admin_site.is_registered(model)
        if registered and not admin_site.get_model_admin(model).has_delete_permission(request, obj):
            perms_needed.add(opts.verbose_name if visible(model) else UNSEEN_KIND)
        if not visible(model):
            return marker
        no_edit_link = f"{capfirst(opts.verbose_name)}: {obj}"
        if not registered:
            return no_edit_link
        try:
            url = reverse(
                f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change", None, (quote(obj.pk),)
            )
        except NoReverseMatch:
            return no_edit_link
        return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)

    to_delete = _without_unseen(collector.nested(format_callback), marker)
    protected = _without_unseen([format_callback(obj) for obj in collector.protected], marker)
    model_count = {
        model._meta.verbose_name_plural: len(rows)
        for model, rows in collector.model_objs.items()
        if visible(model)
    }
    return to_delete, model_count, perms_needed, protected


def still_referenced_message(user, related: Iterable[models.Model]) -> str:
    """The message of a delete refused because ``related`` rows still point at the record.

    Names the kinds of record ``user`` may view ("by service contracts"); the others are
    "records you may not see", never their model's name (the API's 409 said "referenced by
    compensations" to Operations).
    """
    kinds = {type(obj) for obj in related}
    names = sorted(str(m._meta.verbose_name_plural) for m in kinds if may_view(user, m))
    if any(not may_view(user, m) for m in kinds):
        names.append(UNSEEN_KIND)
    if not names:
        return "This record is still referenced."
    return f"This record is still referenced by {', '.join(names)}."
