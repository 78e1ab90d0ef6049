"""Fixtures of the contributions tests."""

from __future__ import annotations

import pytest


class RecordingSleep:
    """Stands in for ``time.sleep``: records the seconds asked for, never waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleep() -> RecordingSleep:
    """The sleep given to a GitHub client: ``sleep.calls`` are the waits it asked for."""
    return RecordingSleep()
