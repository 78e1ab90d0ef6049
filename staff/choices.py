from django.db import models


class Team(models.TextChoices):
    LEADERSHIP = "leadership", "Leadership"
    ENGINEERING = "engineering", "Engineering"
    PRODUCT = "product", "Product"
    PARTNERSHIPS = "partnerships", "Partnerships"
    OPERATIONS = "operations", "Operations"


class Employment(models.TextChoices):
    FULL_TIME = "full_time", "Full time"
    PART_TIME = "part_time", "Part time"
    CONTRACTOR = "contractor", "Contractor"
