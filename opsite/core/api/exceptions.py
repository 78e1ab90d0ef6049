"""Errors as the API answers them: a rule broken is a 400 naming the field, never a 500.

A row gone between the read and the write of an update (a concurrent delete won the race:
:func:`opsite.core.services.lock_existing`) is a 404, as the same request a moment later would
be; any other ``ObjectDoesNotExist`` a service lets escape is a plain 404 too, whose message
names no model (it may be one the user may not see).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from opsite.core.visibility import still_referenced_message

logger = logging.getLogger(__name__)


def _as_detail(error: DjangoValidationError):
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": [str(m) for m in error.messages]}


def exception_handler(exc, context):
    """DRF's handler, plus Django's ValidationError, rows gone, protected deletes and integrity errors."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_as_detail(exc))
    elif isinstance(exc, ObjectDoesNotExist):
        deleted_meanwhile = getattr(exc, "deleted_meanwhile", False)
        if not deleted_meanwhile:
            # Not the race a 404 is meant for: worth a line for whoever looks into it.
            logger.info("%s escaped %s", type(exc).__qualname__, context["view"].__class__.__name__)
        detail = str(exc) if deleted_meanwhile else None
        exc = exceptions.NotFound(detail)
    elif isinstance(exc, ProtectedError | RestrictedError):
        related = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", None) or ()
        set_rollback()
        # Names only the kinds of record the user may see (docs/roles.md "What is sensitive").
        message = still_referenced_message(context["request"].user, related)
        return Response({"detail": message}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, IntegrityError):
        # The database refused the write: say so without echoing SQL or values.
        logger.info("integrity error on %s", context["view"].__class__.__name__)
        set_rollback()
        return Response(
            {"detail": "The change conflicts with an existing record or a rule of the database."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
