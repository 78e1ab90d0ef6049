"""Helpers every app's services share, and the registry of each model's write services.

Every write with a business rule goes through the services of the model's app, whichever door it
comes in by: the API, the admin or an import (docs/architecture.md "One write path"). An app
declares, next to its services, one :class:`ModelWrites` per model; the shared bases of the admin
(``opsite.core.admin``), of import/export (``opsite.core.resources``) and of the API
(``opsite.core.api.viewsets``) look it up with :func:`writes_for` and call nothing else to save or
delete a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

M = TypeVar("M", bound=models.Model)


def by_natural_key(model: type[M], value: M | str, *, key: str, field: str, noun: str | None = None) -> M:
    """``value`` itself when it is already a ``model``, else the row whose ``key`` equals it.

    An unknown key is a ValidationError on ``field`` naming the value, so a service's caller
    (admin, import, API) reports it on the right field; ``noun`` overrides the model's name.
    """
    if isinstance(value, model):
        return value
    found = model._default_manager.filter(**{key: value}).first()
    if found is None:
        noun = noun or model._meta.verbose_name
        raise ValidationError({field: f"No {noun} with {key} {value!r}."})
    return found


def assign(instance: models.Model, data: Mapping[str, Any], allowed: Iterable[str]) -> list[str]:
    """Set ``data`` on ``instance``; return the names whose value changed.

    An unknown field is a programming error, not bad input: every door passes only the fields
    its form, serializer or resource declares.
    """
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise TypeError(f"{type(instance).__name__} cannot be updated with {', '.join(unknown)}")
    changed = []
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def full_clean_with(
    instance: M,
    validate: Callable[[M], None] | None = None,
    *,
    exclude: Iterable[str] = (),
    derived: Iterable[str] = (),
    validate_unique: bool = True,
) -> None:
    """``instance.full_clean()``, with the rules across rows (``validate``) in their place.

    The rules run once the model's own checks (``clean_fields`` and ``clean``) pass, and before
    the uniqueness and constraint checks, which then skip the fields a rule refused: a rule's
    message, which names the row in the way (a GitHub login used by someone else in another
    letter case), wins over the generic one of the database constraint behind it. All the
    errors are raised together, as ``full_clean()`` does. Services, admin forms and imports all
    validate through this, so a rule reads the same whichever door a row comes in by.

    ``derived`` names fields the service has just set from the database (a pull request's
    ``author``): their field check would only read back, one query per row, the row just read.
    """
    skipped = set(exclude)
    errors: dict = {}
    try:
        instance.clean_fields(exclude=skipped | set(derived))
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    try:
        instance.clean()
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if validate is not None and not errors:
        try:
            validate(instance)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    refused = skipped | set(errors)
    if validate_unique:
        try:
            instance.validate_unique(exclude=refused)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    try:
        instance.validate_constraints(exclude=refused)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def model_delete(instance: models.Model) -> None:
    """Delete a row whose deletion has no rule beyond the database's (``PROTECT`` and friends)."""
    instance.delete()


_REGISTRY: dict[type[models.Model], ModelWrites] = {}

# The default ``rules`` of the batch services: the model's own ``validate``.
SAME_RULES: Any = object()


@dataclass(frozen=True)
class ModelWrites(Generic[M]):
    """The services that own every write of one model.

    * ``create(**fields)`` returns the new row;
    * ``update(*, <name>=instance, data=fields)`` returns the row; ``name`` defaults to the
      model's name in snake case (``staff_member`` for ``StaffMember``), as the services are named;
    * ``delete(*, <name>=instance)``, the kernel's :func:`model_delete` when the model has no rule;
    * ``validate(instance)``, the rules across rows, for a form that shows them on its fields
      before anything is saved (the create and update services run them again, always);
    * ``fields``, when set, the fields the services take: other columns of a form or a file
      (derived fields, read-only ones) are not passed to them.
    """

    model: type[M]
    create: Callable[..., M]
    update: Callable[..., M]
    delete: Callable[..., None] | None = None
    validate: Callable[[M], None] | None = None
    fields: frozenset[str] | None = None
    name: str = field(default="")

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", _snake(self.model.__name__))
        _REGISTRY[self.model] = self

    def _only_taken(self, data: Mapping[str, Any]) -> dict[str, Any]:
        if self.fields is None:
            return dict(data)
        return {name: value for name, value in data.items() if name in self.fields}

    def create_from(self, data: Mapping[str, Any]) -> M:
        return self.create(**self._only_taken(data))

    def update_from(self, instance: M, data: Mapping[str, Any]) -> M:
        """Update ``instance`` through the update service, unless its row was deleted meanwhile.

        A door reads the row, then writes it: a delete committed in between would make the
        service's ``save()`` find no row to UPDATE and INSERT it again, without what the delete
        took with it (a contract without its payments). So the row is locked, and found still
        there, in the same transaction as the update: then a delete waits for the update's
        commit, or has committed and the update is refused with the model's ``DoesNotExist``
        (the API answers 404).
        """
        with transaction.atomic():
            lock_existing(instance)
            return self.update(**{self.name: instance, "data": self._only_taken(data)})

    def delete_one(self, instance: M) -> None:
        if self.delete is None:
            model_delete(instance)
        else:
            self.delete(**{self.name: instance})

    def check(self, instance: M) -> None:
        if self.validate is not None:
            self.validate(instance)

    # --- many rows at once (an import file) -------------------------------------------------------
    #
    # For a model whose ``create`` and ``update`` are the model's own checks, ``validate`` and a
    # save (no derived field, no side effect): they check every row exactly as those do, with a
    # few queries per batch instead of several per row, and write the batch with one statement
    # per few hundred rows. ``rules`` replaces ``validate`` for a caller that checks a rule for
    # the whole set itself (payments summing within their contract, checked once per file); the
    # default is the model's own.

    def check_many(
        self,
        instances: Sequence[M],
        *,
        exclude: Sequence[Iterable[str]] | None = None,
        rules: Any = SAME_RULES,
    ) -> dict[int, ValidationError]:
        """The errors of each row of ``instances`` by position, as ``create``/``update`` would raise them."""
        from .batch_checks import full_clean_many

        return full_clean_many(instances, self.validate if rules is SAME_RULES else rules, exclude=exclude)

    def create_many(self, instances: Sequence[M], *, rules: Any = SAME_RULES, user: Any = None) -> list[M]:
        """Check and insert new rows, all or none: :class:`RowsRefused` names each refused row.

        ``user`` is the audit history's author, for a model with one (a request's user is found
        by the history middleware; a background job passes its own).
        """
        instances = list(instances)
        if not instances:
            return instances
        with transaction.atomic():
            errors = self.check_many(instances, rules=rules)
            if errors:
                raise RowsRefused(errors)
            history = _history_of(self.model)
            if history is None:
                self.model._default_manager.bulk_create(instances, batch_size=BULK_BATCH_SIZE)
            else:
                history.bulk_create_with_history(
                    instances, self.model, batch_size=BULK_BATCH_SIZE, default_user=user
                )
            for instance in instances:
                instance._state.adding = False
            _bulk_written(self.model)
        return instances

    def update_many(
        self, instances: Sequence[M], names: Iterable[str], *, rules: Any = SAME_RULES, user: Any = None
    ) -> list[M]:
        """Check and write the columns ``names`` of stored rows, all or none (:class:`RowsRefused`).

        The rows are locked and found still there first, as :meth:`update_from` does for one: a
        row deleted meanwhile is refused, never inserted again.
        """
        instances = list(instances)
        if not instances:
            return instances
        columns = [name for name in dict.fromkeys(names) if self.fields is None or name in self.fields]
        stamped = [f.name for f in self.model._meta.concrete_fields if getattr(f, "auto_now", False)]
        with transaction.atomic():
            gone = _lock_many(self.model, instances)
            errors = self.check_many(instances, rules=rules)
            for position in gone:
                errors[position] = ValidationError(
                    f"This {self.model._meta.verbose_name} was deleted while it was being changed; "
                    "nothing was saved.",
                    code="deleted",
                )
            if errors:
                raise RowsRefused(errors)
            now = timezone.now()
            for instance in instances:
                for name in stamped:
                    setattr(instance, name, now)
            fields = [*columns, *(name for name in stamped if name not in columns)]
            # Unordered: a default ordering through a relation would make Django read the ids
            # before each UPDATE.
            self.model._default_manager.order_by().bulk_update(instances, fields, batch_size=BULK_BATCH_SIZE)
            history = _history_of(self.model)
            if history is not None:
                history.get_history_manager_for_model(self.model).bulk_history_create(
                    instances, batch_size=BULK_BATCH_SIZE, update=True, default_user=user
                )
            _bulk_written(self.model)
        return instances


class RowsRefused(Exception):
    """Rows of a batch that their checks refused, by position in the batch; none was written."""

    def __init__(self, errors: Mapping[int, ValidationError]):
        self.errors = dict(errors)
        super().__init__(f"{len(self.errors)} rows refused")


# Rows per INSERT or UPDATE statement of the batch writes: under every backend's parameter limit.
BULK_BATCH_SIZE = 500


def _history_of(model: type[models.Model]):
    """``simple_history.utils`` for a model with an audit history, else ``None``."""
    from simple_history import utils
    from simple_history.exceptions import NotHistoricalModelError

    try:
        utils.get_history_manager_for_model(model)
    except NotHistoricalModelError:
        return None
    return utils


def _lock_many(model: type[models.Model], instances: Sequence[models.Model]) -> list[int]:
    """Lock the stored rows of ``instances`` (one query); the positions of those gone meanwhile."""
    pks = [instance.pk for instance in instances]
    rows = model._base_manager.order_by()
    if transaction.get_connection(rows.db).features.has_select_for_update:
        rows = rows.select_for_update()
    found = set()
    for start in range(0, len(pks), BULK_BATCH_SIZE):
        found.update(rows.filter(pk__in=pks[start : start + BULK_BATCH_SIZE]).values_list("pk", flat=True))
    return [position for position, pk in enumerate(pks) if pk not in found]


def _bulk_written(model: type[models.Model]) -> None:
    """A bulk write sends no signal: ask for the recomputes the model's rows feed, once."""
    from .signals import request_recompute_for

    request_recompute_for(model)


def lock_existing(instance: models.Model) -> None:
    """Lock ``instance``'s row until the transaction ends; ``DoesNotExist`` when it is gone.

    ``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has no row locks, and its transaction's write
    lock (``transaction_mode`` IMMEDIATE, see the settings) already keeps a delete out. The
    error carries ``deleted_meanwhile``, so a door may tell it from a lookup that found nothing.
    """
    model = type(instance)
    if instance.pk is None:
        return
    rows = model._base_manager.filter(pk=instance.pk)
    if transaction.get_connection(rows.db).features.has_select_for_update:
        rows = rows.select_for_update()
    if not list(rows.values_list("pk", flat=True)):
        error = model.DoesNotExist(
            f"This {model._meta.verbose_name} was deleted while it was being changed; nothing was saved."
        )
        error.deleted_meanwhile = True
        raise error


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def writes_for(model: type[models.Model]) -> ModelWrites:
    """The :class:`ModelWrites` of ``model``; a model without one has no door to write through."""
    try:
        return _REGISTRY[model]
    except KeyError:
        raise LookupError(
            f"{model._meta.label} has no ModelWrites: declare one in its app's services "
            "(docs/adding-a-model.md)."
        ) from None


def has_writes(model: type[models.Model]) -> bool:
    return model in _REGISTRY


def adopt(target: models.Model, source: models.Model) -> None:
    """Make ``target`` the row ``source`` is: its primary key, columns and saved state.

    A door that built an unsaved instance (an admin form, an import row) hands its values to a
    create service, which saves its own instance; the door's one must then be that row, for what
    it does next (the admin's log entry and many-to-many save, the import's report).
    """
    if target is source:
        return
    for model_field in source._meta.concrete_fields:
        setattr(target, model_field.attname, getattr(source, model_field.attname))
    target._state.adding = False
    target._state.db = source._state.db
