"""Helpers every app's services share."""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models

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
