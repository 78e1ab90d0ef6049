from django.db import models


class CommunityKind(models.TextChoices):
    R1_UNIVERSITY = "r1_university", "R1 university"
    UNIVERSITY = "university", "University"
    COMMUNITY_COLLEGE = "community_college", "Community college"
    SCHOOL = "school", "School"
    RESEARCH_COLLABORATION = "research_collaboration", "Research collaboration"
    GOVERNMENT = "government", "Government"
    NONPROFIT = "nonprofit", "Nonprofit"
    OTHER = "other", "Other"


class Region(models.TextChoices):
    NORTH_AMERICA = "north_america", "North America"
    WESTERN_EUROPE = "western_europe", "Western Europe"
    EASTERN_EUROPE = "eastern_europe", "Eastern Europe"
    LATIN_AMERICA = "latin_america", "Latin America"
    AFRICA = "africa", "Africa"
    MIDDLE_EAST = "middle_east", "Middle East"
    ASIA = "asia", "Asia"
    OCEANIA = "oceania", "Oceania"


class Provider(models.TextChoices):
    GCP = "gcp", "Google Cloud"
    AWS = "aws", "AWS"
    AZURE = "azure", "Azure"
    OTHER = "other", "Other"


class HubKind(models.TextChoices):
    BASEHUB = "basehub", "basehub"
    DASKHUB = "daskhub", "daskhub"
    BINDERHUB = "binderhub", "binderhub"
    OTHER = "other", "Other"


class UsagePeriod(models.TextChoices):
    """The ``period`` label of JupyterHub's ``jupyterhub_active_users`` metric."""

    DAY = "24h", "24 hours"
    WEEK = "7d", "7 days"
    MONTH = "30d", "30 days"


class CostComponent(models.TextChoices):
    """What a cloud cost pays for: the components of the JupyterHub cost-monitoring service.

    The service spells two of them with a space (``home storage``, ``object storage``); the
    importers read both spellings (``communities.cost_services.clean_component``).
    """

    COMPUTE = "compute", "Compute"
    HOME_STORAGE = "home_storage", "Home storage"
    CORE = "core", "Core"
    NETWORKING = "networking", "Networking"
    OBJECT_STORAGE = "object_storage", "Object storage"
    BACKUP = "backup", "Backup"
    OTHER = "other", "Other"


# Educational institutions other than R1 universities count as historically marginalized.
MARGINALIZED_KINDS = frozenset(
    {CommunityKind.UNIVERSITY, CommunityKind.COMMUNITY_COLLEGE, CommunityKind.SCHOOL}
)
# Communities outside these regions count as historically marginalized.
NON_MARGINALIZED_REGIONS = frozenset({Region.NORTH_AMERICA, Region.WESTERN_EUROPE})
