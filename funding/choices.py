from django.db import models


class FunderKind(models.TextChoices):
    FOUNDATION = "foundation", "Foundation"
    GOVERNMENT = "government", "Government"
    CORPORATE = "corporate", "Corporate"
    INDIVIDUAL = "individual", "Individual"
    UNIVERSITY = "university", "University"
    OTHER = "other", "Other"


class GrantCategory(models.TextChoices):
    DIRECT_GRANT = "direct_grant", "Direct grant"
    COLLABORATION = "collaboration", "Collaboration"
    DONATION = "donation", "Donation"
    OTHER = "other", "Other"


class GrantRole(models.TextChoices):
    SOLE = "sole", "Sole (all ours)"
    PRIME = "prime", "Prime (we pass subawards on)"
    SUBRECIPIENT = "subrecipient", "Subrecipient (a subaward to us)"


class GrantStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    SUBMITTED = "submitted", "Submitted"
    AWARDED = "awarded", "Awarded"
    DECLINED = "declined", "Declined"
    CLOSED = "closed", "Closed"


class ExpenseCategory(models.TextChoices):
    CLOUD = "cloud", "Cloud"
    SOFTWARE = "software", "Software"
    TRAVEL = "travel", "Travel"
    SERVICES = "services", "Services"
    OVERHEAD = "overhead", "Overhead"
    OTHER = "other", "Other"


class BudgetCategory(models.TextChoices):
    PERSONNEL = "personnel", "Personnel"
    CLOUD = "cloud", "Cloud"
    TRAVEL = "travel", "Travel"
    SERVICES = "services", "Services"
    SUBAWARDS = "subawards", "Subawards"
    INDIRECT = "indirect", "Indirect costs"
    OTHER = "other", "Other"


# The budget category an expense is charged to (docs/definitions.md "Restricted money").
EXPENSE_BUDGET_CATEGORY = {
    ExpenseCategory.CLOUD: BudgetCategory.CLOUD,
    ExpenseCategory.TRAVEL: BudgetCategory.TRAVEL,
    ExpenseCategory.SERVICES: BudgetCategory.SERVICES,
}


def budget_category_of_expense(category: str) -> str:
    """``cloud``, ``travel`` and ``services`` keep their name; every other expense is ``other``."""
    return EXPENSE_BUDGET_CATEGORY.get(category, BudgetCategory.OTHER)


class FunderReportKind(models.TextChoices):
    INTERIM = "interim", "Interim"
    FINAL = "final", "Final"
    FINANCIAL = "financial", "Financial"


class Recurrence(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    ONCE = "once", "Once"


class Pipeline(models.TextChoices):
    COMMITTED = "committed", "Committed only"
    WEIGHTED = "weighted", "Pipeline weighted by probability"
    FULL = "full", "Pipeline in full"


class AdjustmentKind(models.TextChoices):
    HIRE = "hire", "Hire"
    INFLOW = "inflow", "Inflow"
    OUTFLOW = "outflow", "Outflow"
    DELAY = "delay", "Delay a grant's disbursements"


class AdjustmentRecurrence(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    ONCE = "once", "Once"
    ANNUAL_SALARY = "annual_salary", "Annual salary (hires)"


# Grant statuses that count as money brought in / committed.
AWARDED_STATUSES = (GrantStatus.AWARDED, GrantStatus.CLOSED)
PIPELINE_GRANT_STATUSES = (GrantStatus.PROSPECT, GrantStatus.SUBMITTED)
