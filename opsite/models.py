"""Abstract bases shared by every opsite model."""

from django.db import models


class TimeStampedModel(models.Model):
    """Adds ``created_at``/``updated_at`` (aware, UTC) to a model."""

    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True
