"""Service contracts with communities and their payment schedules."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from opsite.core.dates import PlausibleDateValidator
from opsite.core.models import TimeStampedModel
from opsite.core.money import CurrencyField, MoneyField

from .choices import ContractCategory, ContractStatus


class UsageFeeSchedule(TimeStampedModel):
    """A graduated price per monthly active user, like income-tax brackets (docs/definitions.md
    "Usage fees"): each tier prices the users from the tier below's bound up to its own."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    currency = CurrencyField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class UsageFeeTier(TimeStampedModel):
    """The unit price of the users above the next lower tier's bound, up to ``up_to``."""

    schedule = models.ForeignKey(UsageFeeSchedule, on_delete=models.CASCADE, related_name="tiers")
    up_to = models.PositiveIntegerField(
        null=True, blank=True, help_text="The last user this tier prices; empty: no upper bound."
    )
    unit_price = MoneyField(help_text="The price of each user in this tier, per month.")
    history = HistoricalRecords()

    class Meta:
        # PostgreSQL and SQLite both sort NULL (the open tier) after every bound when ascending
        # on this expression; the open tier is last in every listing.
        ordering = ["schedule__slug", F("up_to").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "up_to"], name="contracts_tier_unique_bound"),
            models.UniqueConstraint(
                fields=["schedule"], condition=Q(up_to__isnull=True), name="contracts_tier_one_open"
            ),
            models.CheckConstraint(
                condition=Q(up_to__gt=0) | Q(up_to__isnull=True), name="contracts_tier_up_to_gt_0"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="contracts_tier_price_gte_0"),
        ]

    def __str__(self) -> str:
        bound = f"up to {self.up_to:,}" if self.up_to is not None else "above"
        return f"{self.schedule.slug}: {bound} at {self.unit_price}"


class ServiceContract(TimeStampedModel):
    """A contract to serve a community; pipeline while ``proposed`` (weighted by ``probability``)."""

    reference = models.SlugField(max_length=80, unique=True)
    community = models.ForeignKey("communities.Community", on_delete=models.PROTECT, related_name="contracts")
    category = models.CharField(max_length=20, choices=ContractCategory.choices)
    status = models.CharField(max_length=20, choices=ContractStatus.choices, default=ContractStatus.PROPOSED)
    probability = models.PositiveSmallIntegerField(
        default=100, help_text="0 to 100; meaningful while proposed."
    )
    signed_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    start_on = models.DateField(validators=[PlausibleDateValidator()])
    end_on = models.DateField(validators=[PlausibleDateValidator()])
    total_value = MoneyField()
    currency = CurrencyField()
    usage_fee_schedule = models.ForeignKey(
        UsageFeeSchedule,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
        help_text="Priced also by its community's monthly active users on this schedule.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_on", "reference"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="contracts_contract_probability_0_100"
            ),
            models.CheckConstraint(
                condition=Q(end_on__gte=F("start_on")), name="contracts_contract_end_after_start"
            ),
            models.CheckConstraint(condition=Q(total_value__gte=0), name="contracts_contract_value_gte_0"),
            models.CheckConstraint(
                condition=~Q(status="signed") | Q(signed_on__isnull=False),
                name="contracts_contract_signed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def clean(self):
        """The rules on the contract's own fields; those reading its payments are in services."""
        errors: dict[str, str] = {}
        if self.status == ContractStatus.SIGNED and self.signed_on is None:
            errors["signed_on"] = "A signed contract needs the date it was signed."
        if self.start_on and self.end_on and self.end_on < self.start_on:
            errors["end_on"] = f"The contract ends on {self.end_on} before it starts on {self.start_on}."
        if self.probability is not None and not 0 <= self.probability <= 100:
            errors["probability"] = f"The probability is a percentage from 0 to 100, not {self.probability}."
        if errors:
            raise ValidationError(errors)


class ContractPayment(TimeStampedModel):
    """One payment due under a contract; paid when ``paid_on`` is set."""

    contract = models.ForeignKey(ServiceContract, on_delete=models.CASCADE, related_name="payments")
    due_on = models.DateField(validators=[PlausibleDateValidator()])
    amount = MoneyField()
    paid_on = models.DateField(null=True, blank=True, validators=[PlausibleDateValidator()])
    history = HistoricalRecords()

    class Meta:
        ordering = ["contract__reference", "due_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="contracts_payment_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.contract.reference} due {self.due_on:%Y-%m-%d}"

    def clean(self):
        """The rule on the payment's own amount; the contract's total is checked in services."""
        if self.amount is not None and self.amount <= 0:
            raise ValidationError({"amount": f"A payment must be more than 0.00, not {self.amount}."})
