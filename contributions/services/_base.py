"""What the contributions services share: batch sizes, the bot rule, and validation with the rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)

BOT_SUFFIX = "[bot]"

# Rows per INSERT/UPDATE statement in the bulk paths; each backend lowers it if it must.
BATCH_SIZE = 1000
# Values per ``IN (...)`` list: SQLite refuses statements with too many parameters.
IN_CHUNK = 500


def chunks(items: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def is_bot_login(login: str) -> bool:
    """GitHub apps sign their pull requests as ``name[bot]``."""
    return login.lower().endswith(BOT_SUFFIX)
