"""The base of every CRUD viewset: writes go through the app's services.

A viewset names its services; the serializer only parses and renders. So the API applies the
same rules, with the same messages, as the admin and the importers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from ..services import writes_for
from .filters import StableOrderingFilter
from .permissions import RolePermission
from .serializers import check_batch_rows

# URL lookups match only what the column can hold (Django's slug characters, a primary key, an
# ISO date): anything else, a NUL byte included (PostgreSQL refuses those outright), is the
# router's 404 rather than a database error, and the schema states the pattern. ASCII classes,
# not ``\d``: that would match other scripts' digits too.
SLUG = r"[-a-zA-Z0-9_]+"
ID = r"[0-9]+"
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

# The most rows one batch request may carry: a year of a busy team's pull requests, or of daily
# usage samples of every period for about nine hubs; small enough that the request stays well
# within a web worker's time limit.
BATCH_MAX_ROWS = 10_000


def updater(service: Callable[..., Any], name: str) -> staticmethod:
    """Adapt ``<entity>_update(*, <entity>, data)`` to the base's ``update_service(instance, **data)``."""
    return staticmethod(lambda instance, **data: service(**{name: instance, "data": data}))


def batch_rows(data: Any, *, row_serializer: type | None = None, max_rows: int = BATCH_MAX_ROWS) -> list:
    """The rows of a batch request body: a JSON list of at most ``max_rows`` objects.

    With ``row_serializer`` (the endpoint's documented row), a row with a field it does not
    declare, a NUL character or a number read loosely is refused here, before the service
    (:func:`~opsite.core.api.serializers.check_batch_rows`).
    """
    if not isinstance(data, list):
        raise ValidationError({"rows": "Send a JSON list of rows."})
    if len(data) > max_rows:
        raise ValidationError({"rows": f"A batch holds at most {max_rows} rows, not {len(data)}; split it."})
    if row_serializer is not None:
        check_batch_rows(data, row_serializer)
    return data


class ServiceModelViewSet(viewsets.ModelViewSet):
    """CRUD over a model whose writes go through its services.

    ``create_service(**data)`` and ``update_service(instance, **data)`` when a viewset names them
    (a service with a signature of its own), else the model's ``ModelWrites``; deletes always go
    through ``ModelWrites.delete_one``, so a delete has the same rules and side effects whichever
    door it comes in by.
    """

    permission_classes = [RolePermission]
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    lookup_value_regex = ID
    create_service: Callable[..., Any] | None = None
    update_service: Callable[..., Any] | None = None

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        if self.create_service is None:
            serializer.instance = writes_for(self.get_queryset().model).create_from(data)
            return
        serializer.instance = type(self).create_service(**data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if self.update_service is None:
            writes = writes_for(self.get_queryset().model)
            serializer.instance = writes.update_from(serializer.instance, data)
            return
        serializer.instance = type(self).update_service(serializer.instance, **data)

    def perform_destroy(self, instance):
        writes_for(type(instance)).delete_one(instance)


class ReadBackServiceModelViewSet(ServiceModelViewSet):
    # A service returns the bare model instance; the answer is rendered from the row read again
    # through the viewset's queryset (the app's selector), so a create or an update answers with
    # the same computed columns (totals, counts, latest usage) as a retrieve. (A comment, not a
    # docstring: the OpenAPI schema would show a docstring as the description of every endpoint
    # that has none of its own.)

    def perform_create(self, serializer) -> None:
        super().perform_create(serializer)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_update(self, serializer) -> None:
        super().perform_update(serializer)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)
