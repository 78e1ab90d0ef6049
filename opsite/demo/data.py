"""The tables and pure generators behind the demo organization (see :mod:`opsite.demo`).

Nothing here touches the database: every function takes a seeded ``random.Random`` and returns
plain values, so the same seed always gives the same organization. All names are invented.
"""

from __future__ import annotations

import calendar
import itertools
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# --- staff ------------------------------------------------------------------------------------
# slug, name, github, title, team, employment, fte, start_on, end_on, country,
# distinguished_contributor, merged pull requests a month, benefits_rate, [(effective_on, salary)]
STAFF = (
    ("amara-okafor", "Amara Okafor", "amara-okafor", "Executive Director", "leadership", "full_time", "1.00",
     "2020-03-02", None, "US", False, 1.5, "0.25", (("2020-03-02", 150000), ("2023-01-01", 165000))),
    ("daniel-reyes", "Daniel Reyes", "dreyes-dev", "Chief Technology Officer", "leadership", "full_time", "1.00",
     "2020-03-02", None, "US", True, 9, "0.25", (("2020-03-02", 150000), ("2023-01-01", 165000))),
    ("mei-lin-tan", "Mei-Lin Tan", "meilintan", "Open Source Infrastructure Engineer", "engineering",
     "full_time", "1.00", "2021-04-05", None, "CA", True, 14, "0.25",
     (("2021-04-05", 125000), ("2023-01-01", 135000))),
    ("jonas-berg", "Jonas Berg", "jberg-ops", "Site Reliability Engineer", "engineering", "full_time", "1.00",
     "2021-09-01", None, "DE", False, 13, "0.25", (("2021-09-01", 115000), ("2024-01-01", 125000))),
    ("priya-raman", "Priya Raman", "priyaraman", "Partnerships Lead", "partnerships", "full_time", "1.00",
     "2022-02-01", None, "US", False, 0.3, "0.25", (("2022-02-01", 120000),)),
    ("tomas-alvarez", "Tomás Álvarez", "talvarez", "Open Source Infrastructure Engineer", "engineering",
     "full_time", "1.00", "2022-05-02", None, "CL", False, 13, "0.25",
     (("2022-05-02", 110000), ("2024-01-01", 120000))),
    ("grace-mwangi", "Grace Mwangi", "gmwangi", "Research Software Engineer", "engineering", "part_time",
     "0.50", "2022-09-01", None, "KE", False, 6, "0.25", (("2022-09-01", 65000),)),
    ("sofia-rossi", "Sofia Rossi", "sofiarossi", "Product Lead", "product", "full_time", "1.00",
     "2023-01-09", None, "IT", False, 1, "0.25", (("2023-01-09", 130000),)),
    ("liam-oconnor", "Liam O'Connor", "liamoc", "Site Reliability Engineer", "engineering", "full_time",
     "1.00", "2023-03-01", "2023-11-30", "IE", False, 12, "0.25", (("2023-03-01", 125000),)),
    ("hana-sato", "Hana Sato", "hanasato", "Operations Manager", "operations", "full_time", "1.00",
     "2023-06-05", None, "US", False, 0.2, "0.25", (("2023-06-05", 95000),)),
    ("kwame-asante", "Kwame Asante", "kasante", "Cloud Infrastructure Engineer", "engineering", "contractor",
     "1.00", "2023-09-04", None, "GH", False, 11, "0.00", (("2023-09-04", 140000),)),
    ("elena-petrova", "Elena Petrova", "epetrova", "Open Source Infrastructure Engineer", "engineering",
     "full_time", "1.00", "2023-12-01", None, "PL", False, 13, "0.25", (("2023-12-01", 130000),)),
    ("noah-kim", "Noah Kim", "noahkim-dev", "Research Software Engineer", "engineering", "full_time", "1.00",
     "2023-12-04", None, "US", False, 12, "0.25", (("2023-12-04", 125000),)),
)  # fmt: skip
# Staff who contributed upstream before they joined: their earlier pull requests are not counted.
EARLIER_CONTRIBUTORS = {"epetrova": 18, "kasante": 14}

# --- communities ------------------------------------------------------------------------------
NETWORK = ("latam-africa-open-science", "Latin America & Africa Open Science Hubs")


@dataclass(frozen=True)
class Cohort:
    """Communities alike in kind and place, joining over the years (``per_year``)."""

    per_year: tuple[tuple[int, int], ...]
    kinds: tuple[str, ...]
    countries: tuple[str, ...]
    network: bool = False
    override: bool | None = None
    before_2021: int = 0


def _many(*pairs: tuple[str, int]) -> tuple[str, ...]:
    return tuple(value for value, count in pairs for _ in range(count))


# Active at year end = hubs launched by then, less the two that left: 22 + 24 + 25 - 1 = 70 at the
# end of 2023, and 107 - 2 = 105 at the end of 2024; 37 of the 107 are historically marginalized.
COHORTS = (
    Cohort(  # R1 universities, research collaborations, nonprofits, agencies: not marginalized
        per_year=((2021, 18), (2022, 19), (2023, 15), (2024, 17)),
        kinds=_many(
            ("r1_university", 30), ("research_collaboration", 18), ("nonprofit", 11), ("government", 10)
        ),
        countries=_many(("US", 47), ("CA", 6), ("GB", 6), ("DE", 4), ("FR", 3), ("NL", 3)),
        before_2021=6,
    ),
    Cohort(  # teaching institutions that are not R1: marginalized by kind
        per_year=((2021, 3), (2022, 3), (2023, 3), (2024, 4)),
        kinds=_many(("university", 5), ("community_college", 5), ("school", 3)),
        countries=_many(("US", 9), ("CA", 2), ("GB", 2)),
    ),
    Cohort(per_year=((2021, 1),), kinds=("research_collaboration",), countries=("AU",), override=False),
    Cohort(per_year=((2022, 1),), kinds=("r1_university",), countries=("AU",)),
    Cohort(per_year=((2023, 1),), kinds=("university",), countries=("IN",)),
    Cohort(per_year=((2024, 1),), kinds=("research_collaboration",), countries=("PL",)),
    Cohort(per_year=((2022, 1),), kinds=("nonprofit",), countries=("US",), override=True),
    Cohort(  # the regional network
        per_year=((2023, 6), (2024, 14)),
        kinds=_many(("university", 14), ("research_collaboration", 3), ("government", 3)),
        countries=_many(
            ("BR", 3),
            ("MX", 3),
            ("CO", 2),
            ("CL", 2),
            ("AR", 1),
            ("NG", 2),
            ("KE", 2),
            ("ZA", 2),
            ("GH", 2),
            ("UG", 1),
        ),
        network=True,
    ),
)
# Communities join mostly at the start of a semester.
JOIN_MONTH_WEIGHTS = (3, 1, 1, 1, 1, 1, 2, 3, 3, 1, 1, 0.5)
# The 30d users of a mature hub, before the series is scaled to the year-end targets.
BASE_USERS = {
    "r1_university": (120, 320),
    "university": (40, 160),
    "community_college": (30, 110),
    "school": (15, 45),
    "research_collaboration": (25, 140),
    "government": (10, 60),
    "nonprofit": (15, 80),
    "other": (10, 40),
}
# The academic year: full in term time, dips in summer and around the new year.
SEASON = (0.85, 1.0, 1.05, 1.05, 0.95, 0.7, 0.6, 0.7, 1.0, 1.1, 1.1, 0.9)

_PREFIXES = ("North", "South", "East", "West", "Lake", "River", "Pine", "Cedar", "Maple", "Oak", "Granite",
             "Harbor", "Prairie", "Summit", "Silver", "Red", "Blue", "Stone", "Clear", "Fair", "Elm", "Bay",
             "Aspen", "Willow", "Iron", "Golden", "Mill", "Spring", "Fox", "Hawk")  # fmt: skip
_SUFFIXES = ("field", "wood", "brook", "ridge", "ford", "haven", "dale", "ton", "view", "port", "crest",
             "vale", "mont", "bury", "water")  # fmt: skip
_TOPICS = ("Climate", "Ocean", "Glacier", "Genomics", "Neuroscience", "Seismology", "Hydrology", "Astronomy",
           "Ecology", "Earth Observation", "Atmospheric Chemistry", "Materials", "Biodiversity", "Wildfire",
           "Cryosphere", "Soil Carbon", "Coastal Resilience", "Drought", "Air Quality", "Remote Sensing",
           "Public Health", "Epidemiology", "Plasma Physics", "Sea Ice", "Agronomy")  # fmt: skip
_LATAM_PLACES = ("Valle Alto", "Río Claro", "San Rafael", "Puerto Nuevo", "Cerro Azul", "Santa Lucía",
                 "Tierra Alta", "Las Palmas", "Monteverde", "Villa Serena", "Loma Bonita", "Sierra Norte")  # fmt: skip
_BRAZIL_PLACES = ("Serra Verde", "Campo Belo", "Vale do Sol", "Rio Manso", "Morro Alto")
_AFRICA_PLACES = ("Lakeside", "Highlands", "Savannah", "Coastal", "Rift Valley", "Northern", "Delta",
                  "Plateau", "Great Lakes", "Sahel")  # fmt: skip


# Communities elsewhere carry their country in their name.
_NAMED_COUNTRIES = {"AU": "Australia", "IN": "India", "PL": "Poland", "ID": "Indonesia", "PH": "Philippines",
                    "EG": "Egypt"}  # fmt: skip


def _place(rng: random.Random) -> str:
    return rng.choice(_PREFIXES) + rng.choice(_SUFFIXES)


def community_name(rng: random.Random, kind: str, country: str, used: set[str]) -> str:
    """An invented, believable name for a community of ``kind`` in ``country``, unique in ``used``.

    Some kinds and countries have few names; once they are taken, a campus tells them apart.
    """
    for attempt in itertools.count():
        if country == "BR":
            name = f"Universidade de {rng.choice(_BRAZIL_PLACES)}"
        elif country in ("MX", "CO", "CL", "AR", "PE"):
            name = {"university": "Universidad de {}", "government": "Instituto Nacional de Datos de {}"}.get(
                kind, "Consorcio de Ciencia Abierta de {}"
            ).format(rng.choice(_LATAM_PLACES))
        elif country in ("NG", "KE", "ZA", "GH", "UG", "TZ", "RW"):
            name = {"university": "{} University", "government": "{} Statistics Institute"}.get(
                kind, "{} Open Science Collective"
            ).format(rng.choice(_AFRICA_PLACES))
        elif kind == "r1_university":
            name = rng.choice(("University of {}", "{} University", "{} Institute of Technology")).format(
                _place(rng)
            )
        elif kind == "university":
            name = rng.choice(("{} Regional University", "{} State College", "{} University")).format(
                _place(rng)
            )
        elif kind == "community_college":
            name = f"{_place(rng)} Community College"
        elif kind == "school":
            name = rng.choice(("{} High School", "{} Academy")).format(_place(rng))
        elif kind == "research_collaboration":
            name = f"{rng.choice(_TOPICS)} {rng.choice(('Collaboration', 'Consortium', 'Project', 'Initiative'))}"
        elif kind == "government":
            name = rng.choice(
                ("{} Geological Survey", "{} Environmental Agency", "{} Water Authority")
            ).format(_place(rng))
        else:
            name = rng.choice(("Open {} Foundation", "{} Data Commons", "{} Science Alliance")).format(
                rng.choice(_TOPICS)
            )
        if country in _NAMED_COUNTRIES:
            name = f"{name} ({_NAMED_COUNTRIES[country]})"
        if attempt >= 30:
            name = f"{name}, {_place(rng)} Campus"
        if name not in used:
            used.add(name)
            return name
    raise AssertionError("unreachable")


# --- contributions ----------------------------------------------------------------------------
UPSTREAM = (
    ("jupyter", "Jupyter", ("jupyter", "jupyterlab", "jupyter-server"), True),
    ("jupyterhub", "JupyterHub", ("jupyterhub", "binder-examples"), True),
    ("jupyter-book", "Jupyter Book", ("executablebooks", "jupyter-book"), True),
    ("dask", "Dask", ("dask",), True),
    ("pydata", "PyData", ("pydata",), True),
    ("pangeo", "Pangeo", ("pangeo-data",), True),
    ("rocker", "Rocker", ("rocker-org",), True),
    ("cryptnono", "cryptnono", ("cryptnono",), True),
    ("conda-forge", "conda-forge", ("conda-forge",), False),
)
# org: (how many repositories, name patterns, the busiest repositories)
_REPOSITORIES = {
    "jupyter": (45, ("{}", "jupyter-{}", "nb{}"), ("notebook", "nbconvert", "jupyter_client")),
    "jupyterlab": (110, ("jupyterlab-{}", "{}-extension", "jupyterlab-{}-{}"), ("jupyterlab", "jupyterlab-git")),
    "jupyter-server": (25, ("jupyter-server-{}", "{}-server"), ("jupyter_server", "jupyverse")),
    "jupyterhub": (110, ("{}spawner", "{}authenticator", "jupyterhub-{}", "{}-proxy"),
                   ("jupyterhub", "zero-to-jupyterhub-k8s", "binderhub", "repo2docker", "kubespawner")),
    "binder-examples": (60, ("{}-example", "{}-{}"), ("requirements", "conda")),
    "executablebooks": (65, ("sphinx-{}", "mdit-py-{}", "myst-{}"), ("myst-parser", "sphinx-book-theme")),
    "jupyter-book": (15, ("jupyter-book-{}", "{}-book"), ("jupyter-book", "mystmd")),
    "dask": (60, ("dask-{}", "dask-{}-{}"), ("dask", "distributed", "dask-kubernetes", "dask-gateway")),
    "pydata": (25, ("{}", "pydata-{}"), ("xarray", "pydata-sphinx-theme")),
    "pangeo-data": (80, ("pangeo-{}", "{}-cookbook", "pangeo-{}-{}"), ("pangeo-docker-images", "pangeo-cloud-federation")),
    "rocker-org": (25, ("rocker-{}", "{}-images"), ("rocker-versioned2",)),
    "cryptnono": (6, ("cryptnono-{}",), ("cryptnono",)),
    "conda-forge": (40, ("{}-feedstock",), ()),
    "example-lab": (4, ("{}-notebooks",), ()),
}  # fmt: skip
BUSIEST = frozenset(
    f"{org}/{name}" for org, (_count, _patterns, busiest) in _REPOSITORIES.items() for name in busiest
)
_WORDS = ("git", "lsp", "widgets", "templates", "docs", "theme", "kernel", "gateway", "terminal", "console",
          "launcher", "toc", "book", "tutorial", "gallery", "helm", "chart", "image", "docker", "cluster",
          "kubernetes", "operator", "ml", "cuda", "geo", "zarr", "cloud", "storage", "metrics", "dashboard",
          "api", "cli", "tools", "utils", "config", "tests", "benchmarks", "workshop", "training", "recipes",
          "oauth", "ldap", "idle", "culler", "quota", "home", "nfs", "s3", "gcs", "azure", "batch", "slurm",
          "pbs", "spark", "ray", "mpi", "gpu", "viz", "maps", "forms", "search", "i18n", "a11y", "latex",
          "pdf", "mermaid", "proof", "exercise", "quiz", "grader", "collab", "chat", "share", "sync")  # fmt: skip


def repository_names(rng: random.Random) -> list[str]:
    """``org/name`` for every demo repository: the busiest ones first in each org, then invented ones."""
    names: list[str] = []
    for org, (count, patterns, busiest) in _REPOSITORIES.items():
        found = list(busiest)
        while len(found) < count:
            pattern = rng.choice(patterns)
            name = pattern.format(*(rng.choice(_WORDS) for _ in range(pattern.count("{}"))))
            if name not in found:
                found.append(name)
        names.extend(f"{org}/{name}" for name in found)
    return names


@dataclass(frozen=True)
class PullRequestSpec:
    repo: str
    number: int
    title: str
    login: str
    created_at: datetime
    merged_at: datetime | None


_VERBS = ("Fix", "Add", "Update", "Document", "Refactor", "Test", "Support", "Remove", "Improve")
_THINGS = ("idle culler timeout", "helm chart values", "OAuth callback", "user quota check", "CI matrix",
           "image build", "dask gateway options", "README", "storage class", "profile list", "theme toggle",
           "type hints", "release notes", "accessibility labels", "translation strings", "cache headers",
           "cluster autoscaler", "node selector", "singleuser image", "startup timeout")  # fmt: skip
_OUTSIDE_LOGINS = tuple(
    f"{first}-{last}"
    for first in ("river", "ana", "kofi", "lena", "arjun", "yuki", "marta", "ibrahim", "chloe", "diego")
    for last in ("chen", "souza", "mensah", "fischer", "patel", "ito")
)


def _moment(rng: random.Random, first: date, last: date) -> datetime:
    """A UTC working-hours instant on a day between ``first`` and ``last`` (both included)."""
    day = first + timedelta(days=rng.randint(0, (last - first).days))
    return datetime(day.year, day.month, day.day, rng.randint(12, 22), rng.randint(0, 59), tzinfo=UTC)


# 2021-2023, the founding grant's years, at half as many pull requests again as later.
FOUNDING_YEARS_END = 2023
FOUNDING_PACE = 1.5


def pull_request_specs(
    rng: random.Random, key_repos: list[str], other_repos: list[str]
) -> tuple[list[PullRequestSpec], list[float]]:
    """Pull requests of 2021-2024: by staff (counted, merged before joining, non-key, still open), by
    people outside the team, and by bots. Every key repository gets at least one counted one.

    Returns them with the weight of each key repository (how busy it is), which later years keep.
    """
    counted: list[tuple[str, datetime]] = []
    elsewhere: list[tuple[str, datetime | None]] = []
    for row in STAFF:
        login, start, end, rate = row[2], date.fromisoformat(row[7]), row[8], row[11]
        end = date.fromisoformat(end) if end else date(2024, 12, 31)
        month = max(start, date(2021, 1, 1)).replace(day=1)
        tenure = 0
        while month <= end:
            last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
            # New people take a few months to find their footing upstream; in the founding grant's
            # years upstream work was what the grant paid for.
            pace = FOUNDING_PACE if month.year <= FOUNDING_YEARS_END else 1.0
            expected = rate * pace * min(1.0, 0.4 + 0.15 * tenure) * rng.uniform(0.6, 1.4)
            for _ in range(int(expected + rng.random())):
                merged = _moment(rng, max(month, start), min(last, end))
                # A few go to repositories outside the key communities.
                (elsewhere if rng.random() < 0.05 else counted).append((login, merged))
            month, tenure = last + timedelta(days=1), tenure + 1
        for _ in range(4):  # work in progress at the end of 2024
            elsewhere.append((login, None))
    specs: list[tuple[str, str, datetime | None]] = []
    rng.shuffle(counted)
    # Each key repository's guaranteed pull request is one of the founding years': by the end of
    # 2023 the team had worked in all of them (the founding grant's final report).
    counted.sort(key=lambda pair: pair[1].year > FOUNDING_YEARS_END)
    weights = [30 if repo in BUSIEST else rng.uniform(0.2, 3) for repo in key_repos]
    for i, (login, merged) in enumerate(counted):
        repo = key_repos[i] if i < len(key_repos) else rng.choices(key_repos, weights)[0]
        specs.append((repo, login, merged))
    for login, merged in elsewhere:
        repo = rng.choice(other_repos) if merged else rng.choices(key_repos, weights)[0]
        specs.append((repo, login, merged))
    for login, count in EARLIER_CONTRIBUTORS.items():
        for _ in range(count):
            specs.append(
                (rng.choices(key_repos, weights)[0], login, _moment(rng, date(2021, 3, 1), date(2023, 8, 31)))
            )
    for _ in range(400):
        specs.append((rng.choices(key_repos, weights)[0], rng.choice(_OUTSIDE_LOGINS),
                      _moment(rng, date(2021, 1, 1), date(2024, 12, 31))))  # fmt: skip
    for login, count in (("dependabot[bot]", 150), ("pre-commit-ci[bot]", 120)):
        for _ in range(count):
            specs.append((rng.choice(key_repos), login, _moment(rng, date(2021, 1, 1), date(2024, 12, 31))))
    return _numbered(rng, specs), weights


def _numbered(rng: random.Random, specs: list[tuple[str, str, datetime | None]]) -> list[PullRequestSpec]:
    """Give each pull request a creation time, a title and its number, in order within its repository."""
    by_repo: dict[str, list[tuple[datetime, str, datetime | None]]] = defaultdict(list)
    for repo, login, merged in specs:
        if merged is None:
            created = _moment(rng, date(2024, 10, 1), date(2024, 12, 20))
        else:
            created = merged - timedelta(hours=rng.randint(2, 24 * 20))
        by_repo[repo].append((created, login, merged))
    found = []
    for repo, items in by_repo.items():
        number = rng.randint(1, 900)
        for created, login, merged in sorted(items, key=lambda item: (item[0], item[1])):
            number += rng.randint(1, 12)
            if login == "dependabot[bot]":
                title = f"Bump actions/checkout from {rng.randint(2, 3)} to 4"
            elif login == "pre-commit-ci[bot]":
                title = "[pre-commit.ci] pre-commit autoupdate"
            else:
                title = f"{rng.choice(_VERBS)} {rng.choice(_THINGS)}"
            found.append(PullRequestSpec(repo, number, title, login, created, merged))
    return found


# --- funding ----------------------------------------------------------------------------------
# Units of USD per EUR, effective on the first of each month.
EUR_RATES = {
    2021: ("1.2200", "1.2100", "1.1900", "1.2000", "1.2200", "1.2000", "1.1800", "1.1800", "1.1700", "1.1600", "1.1400", "1.1300"),
    2022: ("1.1300", "1.1300", "1.1000", "1.0800", "1.0600", "1.0500", "1.0200", "1.0100", "0.9900", "0.9800", "1.0200", "1.0600"),
    2023: ("1.0800", "1.0700", "1.0700", "1.1000", "1.0900", "1.0800", "1.1000", "1.0900", "1.0700", "1.0600", "1.0800", "1.0900"),
    2024: ("1.0900", "1.0800", "1.0800", "1.0700", "1.0800", "1.0800", "1.0800", "1.1000", "1.1100", "1.0900", "1.0600", "1.0500"),
}  # fmt: skip
FUNDERS = (
    ("open-science-foundation", "Open Science Foundation", "foundation"),
    ("national-research-agency", "National Research Agency", "government"),
    ("compute-commons-fund", "Compute Commons Fund", "foundation"),
    ("cloud-credits-program", "Cloud Credits Program", "corporate"),
    ("european-open-research-trust", "European Open Research Trust", "foundation"),
    ("northfield-university", "Northfield University", "university"),
    ("individual-donors", "Individual donors", "individual"),
)
# (expected_on, amount, received_on)
GRANTS = (
    {"reference": "osf-core-2021", "funder": "open-science-foundation", "category": "direct_grant",
     "title": "Core support for community hub operations", "status": "closed", "amount": "1000000",
     "awarded_on": "2021-02-15", "start_on": "2021-03-01", "end_on": "2023-02-28", "restricted": True,
     "disbursements": (("2021-03-15", "500000", "2021-03-19"), ("2022-03-15", "500000", "2022-03-22"))},
    {"reference": "ccp-donation-2021", "funder": "cloud-credits-program", "category": "donation",
     "title": "Cloud hosting donation", "status": "closed", "amount": "100000", "awarded_on": "2021-06-01",
     "start_on": "2021-06-01", "end_on": "2021-12-31", "disbursements": (("2021-06-15", "100000", "2021-06-15"),)},
    {"reference": "nra-regional-2022", "funder": "national-research-agency", "category": "collaboration",
     "role": "prime", "title": "Regional open science hubs for Latin America and Africa", "status": "awarded",
     "amount": "1200000", "awarded_on": "2022-08-10", "start_on": "2022-09-01", "end_on": "2025-08-31",
     "restricted": True,
     "disbursements": tuple((day, "200000", received) for day, received in (
         ("2022-09-15", "2022-09-28"), ("2023-03-15", "2023-03-24"), ("2023-09-15", "2023-09-20"),
         ("2024-03-15", "2024-03-27"), ("2024-09-15", "2024-09-25"), ("2025-03-15", None))),
     "subawards": (
         {"reference": "nra-regional-2022-latam", "recipient": "Red Latinoamericana de Ciencia Abierta",
          "amount": "250000", "start_on": "2022-12-01", "end_on": "2025-06-30", "payments": ("2022-12-15", 10, 3)},
         {"reference": "nra-regional-2022-africa", "recipient": "African Open Science Collective",
          "amount": "150000", "start_on": "2022-12-01", "end_on": "2025-08-31", "payments": ("2022-12-15", 6, 6)})},
    {"reference": "northfield-teaching-2022", "funder": "northfield-university", "category": "collaboration",
     "role": "subrecipient", "title": "Scalable teaching hubs (subaward)", "status": "closed", "amount": "300000",
     "awarded_on": "2022-04-01", "start_on": "2022-05-01", "end_on": "2024-04-30",
     "disbursements": (("2022-05-15", "100000", "2022-05-30"), ("2023-05-15", "100000", "2023-05-25"),
                       ("2024-04-15", "100000", "2024-04-29"))},
    {"reference": "eort-notebooks-2023", "funder": "european-open-research-trust", "category": "direct_grant",
     "title": "Reproducible notebooks for European research", "status": "awarded", "amount": "500000",
     "currency": "EUR", "awarded_on": "2023-05-20", "start_on": "2023-06-01", "end_on": "2025-05-31",
     "restricted": True,
     "disbursements": (("2023-06-15", "200000", "2023-06-30"), ("2024-06-15", "200000", "2024-06-28"),
                       ("2025-06-15", "100000", None))},
    {"reference": "ccf-compute-2023", "funder": "compute-commons-fund", "category": "direct_grant",
     "title": "Shared compute for research communities", "status": "awarded", "amount": "750000",
     "awarded_on": "2023-09-20", "start_on": "2023-10-01", "end_on": "2025-09-30",
     "disbursements": (("2023-10-15", "375000", "2023-10-27"), ("2024-10-15", "250000", "2024-10-30"),
                       ("2025-07-15", "125000", None))},
    {"reference": "ccp-education-2023", "funder": "cloud-credits-program", "category": "direct_grant",
     "title": "Cloud credits for education", "status": "declined", "probability": 0, "amount": "250000",
     "start_on": "2023-09-01", "end_on": "2024-08-31"},
    {"reference": "osf-education-2024", "funder": "open-science-foundation", "category": "direct_grant",
     "title": "Hubs for teaching at community colleges", "status": "awarded", "amount": "600000",
     "awarded_on": "2024-06-12", "start_on": "2024-07-01", "end_on": "2026-06-30",
     "disbursements": (("2024-07-15", "300000", "2024-07-26"), ("2025-07-15", "300000", None))},
    {"reference": "donors-2024", "funder": "individual-donors", "category": "donation",
     "title": "Year-end giving 2024", "status": "closed", "amount": "45000", "awarded_on": "2024-12-15",
     "start_on": "2024-12-01", "end_on": "2024-12-31", "disbursements": (("2024-12-15", "45000", "2024-12-20"),)},
    {"reference": "osf-core-2025", "funder": "open-science-foundation", "category": "direct_grant",
     "title": "Core support renewal", "status": "submitted", "probability": 50, "amount": "900000",
     "start_on": "2025-05-01", "end_on": "2027-04-30",
     "disbursements": (("2025-05-15", "450000", None), ("2026-05-15", "450000", None))},
    {"reference": "nra-infrastructure-2025", "funder": "national-research-agency", "category": "direct_grant",
     "title": "Sustaining open infrastructure for research computing", "status": "submitted",
     "probability": 30, "amount": "1500000", "start_on": "2025-09-01", "end_on": "2028-08-31",
     "disbursements": tuple((f"{2025 + (i + 1) // 2}-{'09' if i % 2 == 0 else '03'}-15", "250000", None)
                            for i in range(6))},
    {"reference": "ccf-teaching-ai-2025", "funder": "compute-commons-fund", "category": "direct_grant",
     "title": "Teaching AI with open notebooks", "status": "prospect", "probability": 20, "amount": "400000",
     "start_on": "2025-06-01", "end_on": "2026-05-31",
     "disbursements": (("2025-06-15", "200000", None), ("2025-12-15", "200000", None))},
)  # fmt: skip
CASH_POSITIONS = (
    ("2023-03-31", "1420000.00"), ("2023-06-30", "1510000.00"), ("2023-09-30", "1465000.00"),
    ("2023-12-31", "1780000.00"), ("2024-03-31", "1690000.00"), ("2024-06-30", "1720000.00"),
    ("2024-09-30", "1905000.00"), ("2024-12-31", "1850000.00"),
)  # fmt: skip
# name, category, amount, recurrence, start_on, end_on
EXPENSES = (
    ("Google Cloud hosting", "cloud", "9000", "monthly", "2021-01-01", "2022-12-31"),
    ("Google Cloud hosting", "cloud", "16000", "monthly", "2023-01-01", None),
    ("AWS hosting", "cloud", "6000", "monthly", "2021-07-01", "2023-06-30"),
    ("AWS hosting", "cloud", "9000", "monthly", "2023-07-01", None),
    ("Azure hosting", "cloud", "4000", "monthly", "2022-03-01", None),
    ("Monitoring and logging", "software", "1200", "monthly", "2021-01-01", None),
    ("Collaboration tools", "software", "900", "monthly", "2021-01-01", None),
    ("Password manager and security", "software", "400", "monthly", "2022-01-01", None),
    ("Fiscal sponsorship fee", "overhead", "6500", "monthly", "2021-01-01", None),
    ("Accounting and payroll services", "overhead", "3000", "monthly", "2021-01-01", None),
    ("Insurance", "overhead", "1200", "monthly", "2022-01-01", None),
    ("Team gathering 2023", "travel", "38000", "once", "2023-10-16", None),
    ("Laptops for new staff", "other", "12000", "once", "2024-02-01", None),
    ("Team gathering 2024", "travel", "45000", "once", "2024-10-14", None),
    ("Annual audit FY2024", "services", "18000", "once", "2025-03-31", None),
    ("Team gathering 2025", "travel", "50000", "once", "2025-10-13", None),
)
SCENARIOS = (
    ("base", "Base (weighted pipeline)", "weighted"),
    ("committed", "Committed only", "committed"),
    ("full", "Full pipeline", "full"),
    ("grow-2025", "Grow the SRE team in 2025", "weighted"),
)
# scenario, kind, label, amount, benefits_rate, recurrence, start_on, grant, months
ADJUSTMENTS = (
    ("grow-2025", "hire", "Senior site reliability engineer", "150000", "0.25", "annual_salary", "2025-04-01",
     None, None),
    ("grow-2025", "delay", "Core support renewal arrives a quarter late", "0", "0", "once", "2025-05-15",
     "osf-core-2025", 3),
)  # fmt: skip

# --- contracts --------------------------------------------------------------------------------
PAYING_KINDS = ("r1_university", "research_collaboration", "government", "nonprofit")
# Yearly hub-service fee before scaling; raised 4% at each renewal.
HUB_SERVICE_VALUES = (18000, 24000, 30000, 36000, 42000, 48000, 60000)
# plan: (payments, months between them)
BILLING_PLANS = {"annual": (1, 12), "quarterly": (4, 3), "monthly": (12, 1), "milestones": (3, 4)}
# One-off contracts; ``entered`` cuts the schedule short ("schedule incomplete").
OTHER_CONTRACTS = (
    {"reference": "dev-2021-spawner", "category": "development", "status": "signed", "plan": "milestones",
     "value": "45000", "signed_on": "2021-05-10", "start_on": "2021-06-01", "end_on": "2021-11-30", "probability": 100},
    {"reference": "dev-2022-gpu-profiles", "category": "development", "status": "signed", "plan": "milestones",
     "value": "120000", "signed_on": "2022-03-01", "start_on": "2022-04-01", "end_on": "2023-03-31", "probability": 100},
    {"reference": "partnership-2023-training", "category": "partnership", "status": "signed", "plan": "quarterly",
     "value": "60000", "signed_on": "2023-02-01", "start_on": "2023-02-01", "end_on": "2024-01-31", "probability": 100},
    {"reference": "dev-2023-course-tools", "category": "development", "status": "signed", "plan": "milestones",
     "value": "85000", "signed_on": "2023-08-15", "start_on": "2023-09-01", "end_on": "2024-06-30", "probability": 100,
     "entered": 2},
    {"reference": "dev-2024-data-access", "category": "development", "status": "signed", "plan": "milestones",
     "value": "150000", "signed_on": "2024-04-02", "start_on": "2024-05-01", "end_on": "2025-04-30", "probability": 100},
    {"reference": "support-2024-helpdesk", "category": "support", "status": "signed", "plan": "monthly",
     "value": "24000", "signed_on": "2024-01-10", "start_on": "2024-02-01", "end_on": "2025-01-31", "probability": 100},
    {"reference": "dev-2024-declined", "category": "development", "status": "declined", "plan": "milestones",
     "value": "200000", "signed_on": None, "start_on": "2024-09-01", "end_on": "2025-08-31", "probability": 0},
    {"reference": "dev-2025-gpu-scheduling", "category": "development", "status": "proposed", "plan": "milestones",
     "value": "180000", "signed_on": None, "start_on": "2025-03-01", "end_on": "2025-12-31", "probability": 50},
)  # fmt: skip
