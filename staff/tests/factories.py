"""factory_boy factories for the roster. Deterministic: sequences, fixed dates, no randomness."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from staff.choices import Employment, Team
from staff.models import Compensation, StaffMember


class StaffMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"person-{n}")
    name = factory.Sequence(lambda n: f"Person {n:03d}")
    github = factory.Sequence(lambda n: f"person-{n}-gh")
    email = factory.LazyAttribute(lambda o: f"{o.slug}@example.org")
    title = "Engineer"
    team = Team.ENGINEERING
    employment = Employment.FULL_TIME
    fte = Decimal("1.00")
    start_on = dt.date(2021, 1, 4)
    end_on = None
    country = "US"
    distinguished_contributor = False


class CompensationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Compensation

    staff = factory.SubFactory(StaffMemberFactory)
    effective_on = factory.LazyAttribute(lambda o: o.staff.start_on)
    annual_salary = Decimal("120000.00")
    benefits_rate = Decimal("0.2500")
    currency = "USD"
