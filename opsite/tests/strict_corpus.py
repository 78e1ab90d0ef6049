"""The shared corpus of malformed input, and what the strict-parsing tests of every door share.

:data:`CORPUS` is fed to every door (``test_strict_parsing.py``: the API's CRUD and batch
endpoints; ``test_strict_imports.py``: every import resource), each field or column the part that
fits its type: whole numbers, decimals, dates, instants, and NUL in any text. The expected
messages are those of :mod:`opsite.core.parsing`, the one reading of numbers every door shares.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.apps import apps

from opsite.core.parsing import MAX_NUMBER_LENGTH, NUL_MESSAGE, parse_decimal, parse_integer

APPS = ("staff", "communities", "contributions", "contracts", "funding")

# Refused as a whole number by every door: points, separators, exponents, other scripts' digits,
# words, absurd lengths (checked before any conversion).
BAD_WHOLE = [
    "1.9",
    "2.0",
    "1.",
    ".5",
    "1,5",
    "1,000",
    "1 000",
    "1_000",
    "1'000",
    "1\u00a0000",
    "1e3",
    "1E3",
    "1e999999999",
    "1" * 100_000,
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "-0x10",
    "0x1F",
    "0b101",
    "0o17",
    "12abc",
    "abc",
    "+-1",
    "--1",
    "1-",
    "\u0663",  # ٣, ARABIC-INDIC DIGIT THREE: int() reads it as 3
    "\u0661\u0662\u0663",
    "\u00b2",  # ², a digit to str.isdigit() that int() refuses
    "\u00bd",  # ½
    "\uff11\uff12",  # １２, fullwidth
    "\U0001d7d9",  # 𝟙, mathematical double-struck one
    "\u22125",  # −5, the minus sign
    "1/2",
    "$5",
    "5%",
    "true",
    "[1]",
]

# Refused as a decimal by every door: thousands separators (never silently dropped: "1,5" is
# not 15), exponents, NaN and infinities, other scripts' digits, absurd lengths.
BAD_DECIMAL = [
    "1,5",
    "1,234.50",
    "1.234,50",
    "1 234.50",
    "1_000.00",
    "1'000.00",
    "1e3",
    "1E-2",
    "2.5e1",
    "1e999999999",
    "9" * 100_000,
    "0." + "1" * MAX_NUMBER_LENGTH,
    "NaN",
    "-nan",
    "sNaN",
    "inf",
    "-Infinity",
    "\u0663",
    "\u00b2",
    "\u00bd",
    "\uff11\uff12.\uff15",
    "\u22125",
    "0x10",
    "12abc",
    "abc",
    "1.2.3",
    "1..2",
    ".",
    "-",
    "--1",
    "+-1",
    "$5",
    "5%",
    "5 USD",
    "USD 5",
]

# Dates that are none (a 30th of February, a 13th month) or outside the plausible range
# (opsite.core.dates): calendar arithmetic on year 9999 overflows, on year 1 crawls.
BAD_DATES = [
    "2024-02-30",
    "2023-02-29",
    "2024-13-01",
    "2024-00-10",
    "9999-12-31",
    "0001-01-31",
    "0300-01-31",
    "2024-01-01T00:00:00Z",
    "yesterday",
    "20240101x",
]

BAD_INSTANTS = [
    "2024-02-30T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-01-01T25:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "NaN",
    "1e20",
]

NUL_TEXTS = ["a\x00b", "\x00"]

# Spreadsheet and JSON cells that are not text: refused where a number is expected.
BAD_NATIVE_WHOLE = [1.9, True, float("nan"), float("inf"), 1e300, [1], {"a": 1}]

BAD_NATIVE_DECIMAL = [True, float("nan"), float("-inf"), 1e300, [1], {"a": 1}]

# A JSON client's whole number has no point: 2.0 is refused by the API (a spreadsheet's 2.0 is a
# whole number: XLSX stores every number as a float).
BAD_JSON_WHOLE = [1.9, 2.0, True, [1], {"a": 1}]

BAD_JSON_DECIMAL = [True, [1], {"a": 1}]

CORPUS = BAD_WHOLE + BAD_DECIMAL + BAD_DATES + BAD_INSTANTS + NUL_TEXTS


def expected_whole_message(value: Any, *, floats: bool) -> str:
    with pytest.raises(ValueError) as refused:
        parse_integer(value, floats=floats)
    return str(refused.value)


def expected_decimal_message(value: Any) -> str:
    with pytest.raises(ValueError) as refused:
        parse_decimal(value, floats=True)
    return str(refused.value)


def expected_message(kind: str, name: str, value: Any) -> str | None:
    """The exact message a field answers for ``value``, where the corpus promises one."""
    if kind == "whole":
        return expected_whole_message(value, floats=False)
    if kind == "decimal":
        return expected_decimal_message(value)
    if kind == "nul":
        return f"{name} {NUL_MESSAGE}"
    return None  # dates, ranges: the field is named, in the words of its validator


def factories() -> dict[type, Any]:
    """The factory of each model, from the apps' ``tests/factories.py``."""
    found = {}
    for app in APPS:
        module = importlib.import_module(f"{app}.tests.factories")
        for value in vars(module).values():
            model = getattr(getattr(value, "_meta", None), "model", None)
            if isinstance(value, type) and model is not None and value.__module__ == module.__name__:
                found.setdefault(model, value)
    return found


def make_instance(model):
    factory = factories().get(model)
    if factory is not None:
        return factory()
    # The importers' settings, output and logs have no factory.
    if model._meta.label == "communities.PrometheusSource":
        return model.objects.create(cluster="fuzz-cluster", url="https://prometheus.example.org")
    if model._meta.label == "communities.ClusterUsage":
        return model.objects.create(cluster="fuzz-cluster", date=dt.date(2024, 5, 1), unique_users=3)
    if model._meta.label == "contributions.SyncRun":  # the GitHub importer's log
        return model.objects.create(started_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    raise AssertionError(f"no factory for {model._meta.label}: add one to its app's tests/factories.py")


def snapshot(instance) -> dict:
    return type(instance)._base_manager.filter(pk=instance.pk).values().get()


def counts() -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.count()
        for app in APPS
        for model in apps.get_app_config(app).get_models()
    }
