"""The base of every CRUD viewset: writes go through the app's services.

A viewset names its services; the serializer only parses and renders. So the API applies the
same rules, with the same messages, as the admin and the importers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import viewsets

from .permissions import RolePermission


class ServiceModelViewSet(viewsets.ModelViewSet):
    """CRUD over a model whose writes are ``create_service(**data)`` / ``update_service(instance, **data)``."""

    permission_classes = [RolePermission]
    create_service: Callable[..., Any] | None = None
    update_service: Callable[..., Any] | None = None

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        if self.create_service is None:
            serializer.save()
            return
        serializer.instance = type(self).create_service(**data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if self.update_service is None:
            serializer.save()
            return
        serializer.instance = type(self).update_service(serializer.instance, **data)
