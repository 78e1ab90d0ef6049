"""The roster, and its (sensitive) compensation history.

The models hold the database's rules and, in ``clean()``, the checks of a row's own fields. The
rules across rows (a GitHub login taken by someone else, pay outside employment) are in
``staff.services`` (docs/architecture.md "One write path").
"""

import re
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from opsite.core.countries import COUNTRY_CHOICES
from opsite.core.dates import PlausibleDateValidator
from opsite.core.models import TimeStampedModel
from opsite.core.money import CurrencyField, MoneyField

from .choices import Employment, Team

# GitHub logins: letters, digits and hyphens, 39 characters at most, not starting with a hyphen.
# (Some old accounts have doubled or trailing hyphens, so those are allowed.)
GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")


def normalize_github(value: str | None) -> str | None:
    """A login as stored: trimmed, without a leading ``@``; a blank one is ``None``.

    Blank is stored as NULL: several people without a login must not collide on "" in the
    case-insensitive unique index.
    """
    if value is None:
        return None
    value = value.strip().removeprefix("@").strip()
    return value or None


def _day(value: object) -> date | None:
    """``value`` if it is already a date. Fields that failed to parse are reported elsewhere."""
    return value if isinstance(value, date) else None


class StaffMember(TimeStampedModel):
    """A person on the team, employed (or contracted) from ``start_on`` to ``end_on``."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    github = models.CharField(
        max_length=39, null=True, blank=True, help_text="GitHub login; unique, case-insensitive."
    )
    email = models.EmailField(blank=True)
    title = models.CharField(max_length=200, blank=True)
    team = models.CharField(max_length=20, choices=Team.choices)
    employment = models.CharField(max_length=20, choices=Employment.choices, default=Employment.FULL_TIME)
    fte = models.DecimalField(
        "FTE",
        max_digits=3,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    start_on = models.DateField(validators=[PlausibleDateValidator()])
    end_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    country = models.CharField(max_length=2, choices=COUNTRY_CHOICES, blank=True)
    distinguished_contributor = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "slug"]
        constraints = [
            models.UniqueConstraint(Lower("github"), name="staff_staffmember_github_ci_unique"),
            models.CheckConstraint(condition=Q(fte__gte=0) & Q(fte__lte=1), name="staff_staffmember_fte_0_1"),
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gte=F("start_on")),
                name="staff_staffmember_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        """Normalize the GitHub login and check its form; employment ends after it starts."""
        errors: dict[str, str] = {}
        self.github = normalize_github(self.github)
        if self.github is not None and not GITHUB_LOGIN.match(self.github):
            errors["github"] = (
                f"{self.github!r} is not a GitHub login: use letters, digits and hyphens, "
                "at most 39 characters, not starting with a hyphen."
            )
        start_on, end_on = _day(self.start_on), _day(self.end_on)
        if start_on and end_on and end_on < start_on:
            errors["end_on"] = f"End on {end_on.isoformat()} is before start on {start_on.isoformat()}."
        if errors:
            raise ValidationError(errors)


class Compensation(TimeStampedModel):
    """What a person is paid per year at their FTE, from ``effective_on``. **Sensitive.**"""

    # PROTECT: deleting a person must never silently erase a pay history (Operations may
    # delete staff but cannot see compensation; set end_on instead).
    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="compensations")
    effective_on = models.DateField(validators=[PlausibleDateValidator()])
    annual_salary = MoneyField()
    benefits_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Benefits and payroll taxes as a fraction of salary, e.g. 0.25.",
    )
    currency = CurrencyField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["staff__name", "-effective_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "effective_on"], name="staff_compensation_staff_effective_unique"
            ),
            models.CheckConstraint(condition=Q(annual_salary__gte=0), name="staff_compensation_salary_gte_0"),
            models.CheckConstraint(
                condition=Q(benefits_rate__gte=0) & Q(benefits_rate__lte=1),
                name="staff_compensation_benefits_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} from {self.effective_on:%Y-%m-%d}"
