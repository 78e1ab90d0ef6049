"""Rows built once for a module or a class of tests, rolled back after them.

Each test runs in a savepoint of the transaction these rows were written in. On PostgreSQL the
foreign keys are checked at commit (``DEFERRABLE INITIALLY DEFERRED``), and Django checks them at
the end of every test (``SET CONSTRAINTS ALL IMMEDIATE``) before rolling the test back. The checks
of the shared rows fire inside the test's savepoint, so its rollback puts them back in the queue,
and the next test checks every shared row again: about two seconds a test for the demo's quarter
of a million cost rows. Checking them once, in the outer transaction, right after they are built,
empties the queue for good.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import connection, transaction

T = TypeVar("T")


@contextmanager
def shared_rows(django_db_blocker, build: Callable[[], T]) -> Iterator[T]:
    """``build()`` in a transaction rolled back when the block ends; yield what it returned.

    For a module- or class-scoped fixture: ``with shared_rows(django_db_blocker, build) as rows:
    yield rows``.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        built = build()
        connection.check_constraints()
        yield built
        transaction.set_rollback(True)


def loaded_demo(django_db_blocker):
    """The demo as of the tests' ``DEMO_TODAY``, for the block."""
    from opsite.demo.loader import DEMO_TODAY, demo_load

    return shared_rows(django_db_blocker, lambda: demo_load(today=DEMO_TODAY))
