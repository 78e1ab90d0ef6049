"""The demo's team: the people of the published history, then hires, departures and raises.

A :class:`Person` holds the whole story (a departure or a raise may lie after the day the demo is
loaded for); :meth:`Person.staff_member` and :meth:`Person.compensations` give the rows as they
stand on a day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils.text import slugify

from staff.models import Compensation, StaffMember

from . import data, later
from .dates import HISTORY_END, first_weekday, month_end

SEED = 2021


@dataclass
class Person:
    slug: str
    name: str
    github: str
    title: str
    team: str
    employment: str
    fte: Decimal
    start_on: date
    end_on: date | None
    country: str
    distinguished_contributor: bool
    pull_requests_a_month: float
    benefits_rate: Decimal
    pay: list[tuple[date, Decimal]] = field(default_factory=list)

    def employed_on(self, day: date) -> bool:
        return self.start_on <= day and (self.end_on is None or self.end_on >= day)

    def staff_member(self, on: date) -> StaffMember:
        """The roster row as it stands on ``on``: a departure shows once it has happened."""
        return StaffMember(
            slug=self.slug,
            name=self.name,
            github=self.github,
            email=f"{self.slug}@example.org",
            title=self.title,
            team=self.team,
            employment=self.employment,
            fte=self.fte,
            start_on=self.start_on,
            end_on=self.end_on if self.end_on and self.end_on <= on else None,
            country=self.country,
            distinguished_contributor=self.distinguished_contributor,
        )

    def pay_on(self, on: date) -> list[tuple[date, Decimal]]:
        """The compensations in effect by ``on``, oldest first."""
        return [(effective, salary) for effective, salary in self.pay if effective <= on]

    def compensations(self, staff: StaffMember, on: date) -> list[Compensation]:
        return [
            Compensation(
                staff=staff, effective_on=effective, annual_salary=salary, benefits_rate=self.benefits_rate
            )
            for effective, salary in self.pay_on(on)
        ]


def history_people() -> list[Person]:
    """The team of the published history (``data.STAFF``), as it stood at its end."""
    people = []
    for row in data.STAFF:
        (
            slug,
            name,
            github,
            title,
            team,
            employment,
            fte,
            start,
            end,
            country,
            distinguished,
            rate,
            benefits,
            raises,
        ) = row
        people.append(
            Person(
                slug=slug,
                name=name,
                github=github,
                title=title,
                team=team,
                employment=employment,
                fte=Decimal(fte),
                start_on=date.fromisoformat(start),
                end_on=date.fromisoformat(end) if end else None,
                country=country,
                distinguished_contributor=distinguished,
                pull_requests_a_month=rate,
                benefits_rate=Decimal(benefits),
                pay=[(date.fromisoformat(effective), Decimal(salary)) for effective, salary in raises],
            )
        )
    return people


def team(until: date) -> list[Person]:
    """Everyone who worked for the organization by ``until``: the history, then each later year.

    Each year draws from its own seeded stream, so a year's people never depend on ``until``.
    """
    people = history_people()
    for year in range(HISTORY_END.year + 1, until.year + 1):
        rng = random.Random(f"{SEED}-team-{year}")
        _raises(rng, people, year)
        _departure(rng, people, year)
        _hires(rng, people, year)
    return [person for person in people if person.start_on <= until]


def _raises(rng: random.Random, people: list[Person], year: int) -> None:
    january = date(year, 1, 1)
    for person in people:
        if person.employed_on(january) and person.start_on <= date(year - 1, 7, 1):
            salary = person.pay[-1][1] * Decimal(str(1 + rng.uniform(*later.RAISE_RANGE)))
            # To the dollar, as a percentage raise gives: a salary never a round figure that a
            # public total (whole thousands of contract value) could match by chance.
            person.pay.append((january, salary.quantize(Decimal("1"))))


def _departure(rng: random.Random, people: list[Person], year: int) -> None:
    """One person moves on each year: not leadership, after two years or more."""
    january = date(year, 1, 1)
    candidates = [
        person
        for person in people
        if person.employed_on(january)
        and person.team != "leadership"
        and person.start_on <= date(year - 2, 1, 1)
    ]
    if candidates:
        leaving = rng.choice(candidates)
        leaving.end_on = month_end(date(year, rng.randint(4, 11), 1))


def _hires(rng: random.Random, people: list[Person], year: int) -> None:
    used = {person.slug for person in people} | {person.github for person in people}
    months = sorted(rng.sample(range(2, 11), later.HIRES_A_YEAR.get(year) or rng.choice((1, 2))))
    for month in months:
        title, team, employment, fte, low, high, benefits, rate = rng.choices(
            later.ROLES, later.ROLE_WEIGHTS
        )[0]
        while True:
            first, last = rng.choice(later.FIRST_NAMES), rng.choice(later.LAST_NAMES)
            slug = slugify(f"{first} {last}")
            github = f"{slugify(first)}{slugify(last)[:4]}"
            if slug not in used and github not in used:
                used |= {slug, github}
                break
        start = first_weekday(year, month)
        people.append(
            Person(
                slug=slug,
                name=f"{first} {last}",
                github=github,
                title=title,
                team=team,
                employment=employment,
                fte=Decimal(fte),
                start_on=start,
                end_on=None,
                country=rng.choice(later.HIRE_COUNTRIES),
                distinguished_contributor=False,
                pull_requests_a_month=rate,
                benefits_rate=Decimal(benefits),
                # An offer in whole hundreds past the thousand (118,300): never a round figure that
                # a public total of whole thousands could match by chance.
                pay=[(start, Decimal(rng.randrange(low, high + 1, 1000) + rng.randrange(100, 1000, 100)))],
            )
        )


def payroll_for(people: list[Person], first: date, last: date) -> Decimal:
    """What the team costs from ``first`` to ``last`` (both included), day by day, with benefits.

    As the runway counts it (docs/definitions.md "Runway"): each day a person is employed costs
    ``annual_salary * (1 + benefits_rate) / 12 / days in the month`` at the pay then in effect.
    """
    total = Decimal(0)
    days_in_month = Decimal(month_end(first).day)
    for person in people:
        day = max(first, person.start_on)
        stop = min(last, person.end_on) if person.end_on else last
        while day <= stop:
            salary = next(salary for effective, salary in reversed(person.pay) if effective <= day)
            total += salary * (1 + person.benefits_rate) / 12 / days_in_month
            day += timedelta(days=1)
    return total
