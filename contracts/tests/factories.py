"""factory_boy factories for contracts and payments. Deterministic: sequences, fixed dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from communities.tests.factories import CommunityFactory
from contracts.choices import ContractCategory, ContractStatus
from contracts.models import ContractPayment, ServiceContract, UsageFeeSchedule, UsageFeeTier


class ServiceContractFactory(factory.django.DjangoModelFactory):
    """A signed one-year hub-service contract for 12,000.00 USD."""

    class Meta:
        model = ServiceContract
        django_get_or_create = ("reference",)

    reference = factory.Sequence(lambda n: f"contract-{n:03d}")
    community = factory.SubFactory(CommunityFactory)
    category = ContractCategory.HUB_SERVICE
    status = ContractStatus.SIGNED
    probability = 100
    signed_on = dt.date(2023, 12, 15)
    start_on = dt.date(2024, 1, 1)
    end_on = dt.date(2024, 12, 31)
    total_value = Decimal("12000.00")
    currency = "USD"


class ContractPaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContractPayment

    contract = factory.SubFactory(ServiceContractFactory)
    due_on = factory.LazyAttribute(lambda o: o.contract.start_on)
    amount = Decimal("1000.00")
    paid_on = None


class UsageFeeScheduleFactory(factory.django.DjangoModelFactory):
    """A schedule in USD with no tiers (add them with UsageFeeTierFactory)."""

    class Meta:
        model = UsageFeeSchedule
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"schedule-{n:03d}")
    name = factory.Sequence(lambda n: f"Schedule {n:03d}")
    currency = "USD"


class UsageFeeTierFactory(factory.django.DjangoModelFactory):
    """The open tier of a new schedule: 1.00 a user."""

    class Meta:
        model = UsageFeeTier

    schedule = factory.SubFactory(UsageFeeScheduleFactory)
    up_to = None
    unit_price = Decimal("1.00")
