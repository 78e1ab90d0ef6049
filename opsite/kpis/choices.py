"""Choices of the public website kit's tables. Values are the names used in the API and exports."""

from django.db import models


class StoryCategory(models.TextChoices):
    SERVICE_ENHANCEMENTS = "service_enhancements", "Service enhancements"
    COMMUNITY_IMPACT = "community_impact", "Community impact"
    UPSTREAM_IMPACT = "upstream_impact", "Upstream impact"
    ORGANIZATION = "organization", "Organization"
