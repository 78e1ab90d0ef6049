"""Deletions of the incremental rollups' inputs, stamped where a recompute can see them cheaply.

The rollups keep figures between runs and read again only what was written since the previous run
(``updated_at`` at or after its watermark, an indexed range). A deleted row leaves nothing to
read: each deletion of a row of :data:`TRACKED` stamps its model's :class:`InputDeletion` row,
and a recompute asks :func:`deleted_since` its watermark (one read by key) instead of counting the
whole table to notice a row gone. The stamp is written in the deleting transaction: a deletion
rolled back leaves none.

Django sends ``post_delete`` for every row a ``delete()`` removes, cascades included, whenever a
receiver listens; a raw SQL ``DELETE`` sends nothing and must not be used on these tables.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.apps import apps
from django.db.models.signals import post_delete
from django.utils import timezone

from .models import InputDeletion

# The inputs whose figures the rollups keep between runs, by model label.
TRACKED = ("communities.ActiveUserCount", "communities.CloudCost", "contributions.PullRequest")


_batch = threading.local()


def record_deletion(label: str, *, using: str | None = None) -> None:
    """Stamp ``label`` as having lost a row now: one query (an upsert by label)."""
    InputDeletion.objects.using(using).bulk_create(
        [InputDeletion(label=label, deleted_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["label"],
        update_fields=["deleted_at"],
    )


@contextmanager
def stamped_once() -> Iterator[None]:
    """Within the block, this thread's deletions stamp each model once, when the block ends,
    rather than once per row deleted: for a batch deleting many rows in one transaction."""
    if getattr(_batch, "labels", None) is not None:
        yield
        return
    _batch.labels = set()
    try:
        yield
        labels = _batch.labels
    finally:
        _batch.labels = None
    for label, using in sorted(labels, key=str):
        record_deletion(label, using=using)


def deleted_since(label: str, since: datetime) -> bool:
    """Whether a row of ``label`` was deleted at or after ``since``: one read by key."""
    return InputDeletion.objects.filter(label=label, deleted_at__gte=since).exists()


def _receiver(label: str):
    def receiver(sender, using: str | None = None, **kwargs) -> None:
        labels = getattr(_batch, "labels", None)
        if labels is not None:
            labels.add((label, using))
        else:
            record_deletion(label, using=using)

    return receiver


def connect() -> None:
    """Connect the stamps; idempotent (``dispatch_uid``). Called with the recompute signals."""
    for label in TRACKED:
        post_delete.connect(
            _receiver(label),
            sender=apps.get_model(label),
            weak=False,
            dispatch_uid=f"opsite.core.deletions.{label}",
        )
