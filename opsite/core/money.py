"""Money: ``Decimal`` end to end, two places, in an ISO 4217 currency. Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Enter an ISO 4217 currency code such as USD.")


def reporting_currency() -> str:
    """The currency every report is expressed in (setting ``OPSITE_CURRENCY``)."""
    return settings.OPSITE_CURRENCY


def quantize(amount: Decimal | int | str) -> Decimal:
    """Round a computed amount to the cent, half up (for results of arithmetic, not input)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def MoneyField(*, non_negative: bool = True, **kwargs) -> models.DecimalField:
    """A money column: 14 digits, 2 places; refuses (never rounds) extra places on validation."""
    validators = list(kwargs.pop("validators", []))
    if non_negative:
        validators.append(MinValueValidator(ZERO))
    return models.DecimalField(max_digits=14, decimal_places=2, validators=validators, **kwargs)


def CurrencyField(**kwargs) -> models.CharField:
    """An ISO 4217 code, defaulting to the reporting currency."""
    kwargs.setdefault("default", reporting_currency)
    kwargs.setdefault("max_length", 3)
    kwargs.setdefault("validators", [currency_validator])
    return models.CharField(**kwargs)
