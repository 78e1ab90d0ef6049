"""Funders, grants and subawards, cash and expenses, and the runway's scenarios and snapshots.

Each ``clean()`` checks only the row's own fields; the rules that read other rows are the
services' (``funding.services``), which every door (admin, import, API) writes through
(docs/architecture.md "One write path").
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from opsite.core.dates import PlausibleDateValidator
from opsite.core.models import TimeStampedModel
from opsite.core.money import CurrencyField, MoneyField, reporting_currency

from .checks import Errors, add_error, check_dates, raise_errors, related_or_none
from .choices import (
    AWARDED_STATUSES,
    AdjustmentKind,
    AdjustmentRecurrence,
    BudgetCategory,
    ExpenseCategory,
    FunderKind,
    FunderReportKind,
    GrantCategory,
    GrantRole,
    GrantStatus,
    Pipeline,
    Recurrence,
)


class Funder(TimeStampedModel):
    """Who gives us money: a foundation, an agency, a company, a person."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=FunderKind.choices)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Grant(TimeStampedModel):
    """A grant, from prospect to closed; as ``prime`` we pass subawards on to partners."""

    reference = models.SlugField(max_length=80, unique=True)
    funder = models.ForeignKey(Funder, on_delete=models.PROTECT, related_name="grants")
    title = models.CharField(max_length=300)
    category = models.CharField(max_length=20, choices=GrantCategory.choices)
    role = models.CharField(max_length=20, choices=GrantRole.choices, default=GrantRole.SOLE)
    status = models.CharField(max_length=20, choices=GrantStatus.choices, default=GrantStatus.PROSPECT)
    probability = models.PositiveSmallIntegerField(
        default=100, help_text="0 to 100; meaningful in the pipeline."
    )
    amount = MoneyField()
    currency = CurrencyField()
    awarded_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    start_on = models.DateField(validators=[PlausibleDateValidator()])
    end_on = models.DateField(validators=[PlausibleDateValidator()])
    restricted = models.BooleanField(
        default=False,
        help_text="Its money may be spent only on its purpose: kept out of the unrestricted runway.",
    )
    purpose = models.TextField(blank=True, help_text="What the money is for, in the funder's words.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_on", "reference"]
        constraints = [
            models.CheckConstraint(condition=Q(probability__lte=100), name="funding_grant_probability_0_100"),
            models.CheckConstraint(
                condition=Q(end_on__gte=F("start_on")), name="funding_grant_end_after_start"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="funding_grant_amount_gte_0"),
            models.CheckConstraint(
                condition=~Q(status__in=["awarded", "closed"]) | Q(awarded_on__isnull=False),
                name="funding_grant_awarded_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def clean(self):
        # The rules across rows (subawards, disbursements) are funding.services.grant_validate.
        errors: Errors = {}
        check_dates(self, errors)
        if self.probability is not None and not 0 <= self.probability <= 100:
            add_error(
                errors, "probability", f"Probability is a percentage from 0 to 100; got {self.probability}."
            )
        if self.status in AWARDED_STATUSES and self.awarded_on is None:
            add_error(
                errors, "awarded_on", f"A grant with status '{self.status}' needs the date it was awarded."
            )
        raise_errors(errors)


class Subaward(TimeStampedModel):
    """Part of a ``prime`` grant passed on to a partner organization."""

    reference = models.SlugField(max_length=80, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="subawards")
    recipient = models.CharField(max_length=200)
    amount = MoneyField()
    start_on = models.DateField(validators=[PlausibleDateValidator()])
    end_on = models.DateField(validators=[PlausibleDateValidator()])
    history = HistoricalRecords()

    class Meta:
        ordering = ["grant__reference", "reference"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__gte=F("start_on")), name="funding_subaward_end_after_start"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="funding_subaward_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return self.reference

    def clean(self):
        # The rules across rows (the grant's role and amount, the payments) are
        # funding.services.subaward_validate.
        errors: Errors = {}
        check_dates(self, errors)
        raise_errors(errors)


class Disbursement(TimeStampedModel):
    """Money in from a grant: expected on a date, received when ``received_on`` is set."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="disbursements")
    expected_on = models.DateField(validators=[PlausibleDateValidator()])
    amount = MoneyField()
    received_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    history = HistoricalRecords()

    class Meta:
        ordering = ["grant__reference", "expected_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="funding_disbursement_amount_gt_0")
        ]

    def __str__(self) -> str:
        return f"{self.grant.reference} expected {self.expected_on:%Y-%m-%d}"


class SubawardPayment(TimeStampedModel):
    """Money out to a subrecipient: due on a date, paid when ``paid_on`` is set."""

    subaward = models.ForeignKey(Subaward, on_delete=models.CASCADE, related_name="payments")
    due_on = models.DateField(validators=[PlausibleDateValidator()])
    amount = MoneyField()
    paid_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    history = HistoricalRecords()

    class Meta:
        ordering = ["subaward__reference", "due_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="funding_subawardpayment_amount_gt_0")
        ]

    def __str__(self) -> str:
        return f"{self.subaward.reference} due {self.due_on:%Y-%m-%d}"


class CashPosition(TimeStampedModel):
    """The bank balance from the books on a date: where every runway starts. **Sensitive.**"""

    as_of = models.DateField(unique=True, validators=[PlausibleDateValidator()])
    balance = MoneyField(non_negative=False)
    currency = CurrencyField()
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-as_of"]

    def __str__(self) -> str:
        return f"Cash as of {self.as_of:%Y-%m-%d}"

    def clean(self):
        # The runway starts from this balance as is, so it must be in the reporting currency.
        reporting = reporting_currency()
        if self.currency and self.currency != reporting:
            message = f"Cash positions are kept in the reporting currency {reporting}; got {self.currency}."
            raise ValidationError({"currency": message})


class Expense(TimeStampedModel):
    """A non-payroll cost: once on ``start_on``, or monthly while active."""

    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=ExpenseCategory.choices)
    amount = MoneyField()
    currency = CurrencyField()
    recurrence = models.CharField(max_length=10, choices=Recurrence.choices, default=Recurrence.MONTHLY)
    start_on = models.DateField(validators=[PlausibleDateValidator()])
    end_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    grant = models.ForeignKey(
        Grant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="expenses",
        help_text="The grant it is charged to, if any; its category maps to a budget category.",
    )

    class Meta:
        ordering = ["category", "name", "start_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gte=F("start_on")),
                name="funding_expense_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors: Errors = {}
        check_dates(self, errors)
        raise_errors(errors)


class ExchangeRate(TimeStampedModel):
    """Units of the reporting currency per unit of ``currency``, from ``effective_on``."""

    currency = CurrencyField(default=None)
    effective_on = models.DateField(validators=[PlausibleDateValidator()])
    rate = models.DecimalField(max_digits=18, decimal_places=8, validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["currency", "-effective_on"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "effective_on"], name="funding_exchangerate_unique"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="funding_exchangerate_rate_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} from {self.effective_on:%Y-%m-%d}"

    def clean(self):
        # A positive rate, for a currency other than the one it converts into.
        errors: Errors = {}
        reporting = reporting_currency()
        if self.currency == reporting:
            add_error(errors, "currency", f"{reporting} is the reporting currency: its rate is always 1.")
        if self.rate is not None and self.rate <= 0:
            add_error(errors, "rate", f"A rate must be above 0; got {self.rate}.")
        raise_errors(errors)


class Scenario(TimeStampedModel):
    """A way of reading the future: which pipeline counts, the reserve, the horizon, what-ifs."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    pipeline = models.CharField(max_length=10, choices=Pipeline.choices, default=Pipeline.WEIGHTED)
    reserve = MoneyField(default=Decimal("0"))
    horizon_months = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="funding_scenario_one_default"
            ),
            models.CheckConstraint(
                condition=Q(horizon_months__gte=1) & Q(horizon_months__lte=120),
                name="funding_scenario_horizon_1_120",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScenarioAdjustment(TimeStampedModel):
    """A what-if on top of the records: a hire, an inflow, an outflow, a grant's delay."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="adjustments")
    kind = models.CharField(max_length=10, choices=AdjustmentKind.choices)
    label = models.CharField(max_length=200)
    amount = MoneyField(default=Decimal("0"))
    benefits_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    recurrence = models.CharField(
        max_length=15, choices=AdjustmentRecurrence.choices, default=AdjustmentRecurrence.ONCE
    )
    start_on = models.DateField(validators=[PlausibleDateValidator()])
    end_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    grant = models.ForeignKey(
        Grant, null=True, blank=True, on_delete=models.CASCADE, related_name="scenario_delays"
    )
    months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For a delay: calendar months."
    )

    class Meta:
        ordering = ["scenario__slug", "start_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gte=F("start_on")),
                name="funding_adjustment_end_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(kind="delay") | (Q(grant__isnull=False) & Q(months__isnull=False)),
                name="funding_adjustment_delay_has_grant_and_months",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scenario.slug}: {self.label}"

    def clean(self):
        """What each kind of what-if needs to mean something to the runway engine."""
        errors: Errors = {}
        check_dates(self, errors)
        kind, recurrence, amount = self.kind, self.recurrence, self.amount
        if kind == AdjustmentKind.HIRE:
            if amount is None or amount <= 0:
                add_error(
                    errors, "amount", f"A hire needs its annual salary as a positive amount; got {amount}."
                )
            if recurrence != AdjustmentRecurrence.ANNUAL_SALARY:
                add_error(
                    errors,
                    "recurrence",
                    f"A hire recurs as 'annual_salary' (its amount is the annual salary); got '{recurrence}'.",
                )
        elif kind in (AdjustmentKind.INFLOW, AdjustmentKind.OUTFLOW):
            if recurrence not in (AdjustmentRecurrence.ONCE, AdjustmentRecurrence.MONTHLY):
                add_error(errors, "recurrence", f"An {kind} recurs 'once' or 'monthly'; got '{recurrence}'.")
        elif kind == AdjustmentKind.DELAY:
            if self.grant_id is None and related_or_none(self, "grant") is None:
                add_error(errors, "grant", "A delay needs the grant whose disbursements it moves.")
            if self.months is None or self.months < 1:
                add_error(
                    errors, "months", f"A delay moves disbursements by 1 month or more; got {self.months}."
                )
        raise_errors(errors)


class RunwaySnapshot(TimeStampedModel):
    """One computed runway of a scenario, kept so leadership sees how the forecast moved."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="snapshots")
    as_of = models.DateField(
        help_text="The date of the cash position it starts from.", validators=[PlausibleDateValidator()]
    )
    computed_at = models.DateTimeField()
    months = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    cash_out_on = models.DateField(null=True, blank=True)
    result = models.JSONField(default=dict)

    class Meta:
        ordering = ["scenario__slug", "-computed_at"]
        get_latest_by = "computed_at"
        indexes = [models.Index(fields=["scenario", "-computed_at"], name="funding_snapshot_latest")]

    def __str__(self) -> str:
        return f"{self.scenario.slug} as of {self.as_of:%Y-%m-%d}: {self.months} months"


class RunwayAlert(TimeStampedModel):
    """A runway alert e-mailed to Leadership: at most one per snapshot. **Sensitive.**

    The row is the claim: it is inserted before the e-mail goes out, and the unique snapshot makes a
    second sender (a redelivered task, a concurrent worker) fail the insert instead of mailing again.
    ``months`` is copied from the snapshot so "moved by more than a month since the last alert" still
    has its baseline after old snapshots are pruned.
    """

    class Reason(models.TextChoices):
        BELOW_FLOOR = "below_floor", "Fell below the comfort floor"
        MOVED = "moved", "Moved by more than a month"

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="runway_alerts")
    snapshot = models.OneToOneField(
        RunwaySnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="alert"
    )
    months = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, help_text="Empty: beyond the horizon."
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    recipients = models.PositiveIntegerField(default=0, help_text="How many addresses it went to.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Runway alert for {self.scenario.slug} ({self.get_reason_display()})"


class GrantBudgetLine(TimeStampedModel):
    """What a grant's budget sets aside for one category, in the grant's currency."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="budget_lines")
    category = models.CharField(max_length=20, choices=BudgetCategory.choices)
    amount = MoneyField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["grant__reference", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["grant", "category"], name="funding_grantbudgetline_unique_category"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="funding_grantbudgetline_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.grant.reference}: {self.category}"


class StaffAllocation(TimeStampedModel):
    """A share of a person's payroll charged to a grant, every day from ``start_on`` to ``end_on``.

    **Sensitive**: with the grant's spent figures it reveals pay.
    """

    staff = models.ForeignKey("staff.StaffMember", on_delete=models.PROTECT, related_name="allocations")
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="allocations")
    share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal("1"))],
        help_text="The fraction of the person's payroll charged to the grant, above 0 and at most 1.",
    )
    start_on = models.DateField(validators=[PlausibleDateValidator()])
    end_on = models.DateField(validators=[PlausibleDateValidator()])
    history = HistoricalRecords()

    class Meta:
        ordering = ["staff__name", "start_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(share__gt=0) & Q(share__lte=1), name="funding_staffallocation_share_0_1"
            ),
            models.CheckConstraint(
                condition=Q(end_on__gte=F("start_on")), name="funding_staffallocation_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} on {self.grant.reference} from {self.start_on:%Y-%m-%d}"

    def clean(self):
        # The rules across rows (the grant's dates, shares summing past 1) are
        # funding.services.staff_allocation_validate.
        errors: Errors = {}
        check_dates(self, errors)
        raise_errors(errors)


class FunderReport(TimeStampedModel):
    """A report owed to a grant's funder for a period, due on a day, with an owner who is reminded.

    ``reminded_35_at`` and ``reminded_7_at`` are the reminders' claims: the daily job sets one with
    a conditional update before it sends, so each reminder goes out once however many workers run.
    """

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=20, choices=FunderReportKind.choices)
    period_start = models.DateField(validators=[PlausibleDateValidator()])
    period_end = models.DateField(validators=[PlausibleDateValidator()])
    due_on = models.DateField(validators=[PlausibleDateValidator()])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="funder_reports",
        help_text="Who writes it, and is e-mailed 35 and 7 days before it is due.",
    )
    submitted_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    reminded_35_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_7_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "grant__reference", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="funding_funderreport_period_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["submitted_on", "due_on"], name="funding_report_open_due")]

    def __str__(self) -> str:
        return f"{self.grant.reference} {self.kind} report due {self.due_on:%Y-%m-%d}"

    @property
    def owner_name(self) -> str:
        """Who writes it, as the pages name them: their full name, else their username; "" for nobody."""
        return (self.owner.get_full_name() or self.owner.get_username()) if self.owner else ""

    def clean(self):
        errors: Errors = {}
        check_dates(self, errors, start="period_start", end="period_end")
        raise_errors(errors)
