from django.db import models


class ContractCategory(models.TextChoices):
    HUB_SERVICE = "hub_service", "Hub service"
    DEVELOPMENT = "development", "Development"
    PARTNERSHIP = "partnership", "Partnership"
    SUPPORT = "support", "Support"
    # Cloud costs passed through at cost: exempt from the fiscal sponsor's fee.
    CLOUD = "cloud", "Cloud pass-through"
    OTHER = "other", "Other"


class ContractStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    SIGNED = "signed", "Signed"
    DECLINED = "declined", "Declined"
    TERMINATED = "terminated", "Terminated"


class BillingPlan(models.TextChoices):
    UPFRONT = "upfront", "Upfront"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    ANNUAL = "annual", "Annual"
