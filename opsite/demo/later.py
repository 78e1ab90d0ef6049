"""The tables behind the demo after its published history (from 2025 on): how each series goes on.

Plain values only, like :mod:`opsite.demo.data`: who may be hired, which communities join, how
the pipeline of 2024 turned out, how costs grow, which funders the organization applies to.
"""

from __future__ import annotations

from .data import _many

# --- staff ------------------------------------------------------------------------------------
FIRST_NAMES = ("Aisha", "Lucas", "Ana", "Wei", "Fatima", "Mateo", "Ingrid", "Kofi", "Yara", "Rohan",
               "Camila", "Tariq", "Elif", "Jonah", "Nadia", "Pedro", "Amani", "Lena", "Arjun", "Zanele")  # fmt: skip
LAST_NAMES = ("Bello", "Martin", "Lima", "Zhang", "Haddad", "Fernández", "Lund", "Mensah", "Costa", "Iyer",
              "Duarte", "Rahman", "Yilmaz", "Weiss", "Kariuki", "Santos", "Njoroge", "Vogel", "Menon", "Dlamini")  # fmt: skip
HIRE_COUNTRIES = ("US", "US", "US", "CA", "DE", "NL", "ES", "BR", "MX", "KE", "NG", "IN", "ZA", "PT")
# title, team, employment, fte, lowest and highest salary, benefits_rate, merged pull requests a month
ROLES = (
    ("Open Source Infrastructure Engineer", "engineering", "full_time", "1.00", 118000, 136000, "0.25", 13),
    ("Site Reliability Engineer", "engineering", "full_time", "1.00", 120000, 138000, "0.25", 12),
    ("Research Software Engineer", "engineering", "full_time", "1.00", 112000, 130000, "0.25", 11),
    ("Cloud Infrastructure Engineer", "engineering", "contractor", "1.00", 132000, 150000, "0.00", 11),
    ("Community Partnerships Manager", "partnerships", "full_time", "1.00", 100000, 118000, "0.25", 0.3),
    ("Technical Writer", "product", "part_time", "0.50", 45000, 58000, "0.25", 2),
    ("Operations Associate", "operations", "full_time", "1.00", 72000, 86000, "0.25", 0.1),
)
ROLE_WEIGHTS = (5, 4, 4, 1, 2, 1, 1)
# One or two people join each year (two in 2025 and 2026) and one leaves, so the team grows
# slowly; everyone who has been paid for half a year gets a raise each January.
HIRES_A_YEAR = {2025: 2, 2026: 2}
RAISE_RANGE = (0.025, 0.05)

# --- communities ------------------------------------------------------------------------------
# (communities a year, kinds, countries, in the regional network)
LATER_COHORTS = (
    (
        11,
        _many(("r1_university", 4), ("research_collaboration", 3), ("nonprofit", 2), ("government", 2)),
        _many(("US", 14), ("CA", 2), ("GB", 2), ("DE", 1), ("FR", 1), ("NL", 1), ("ES", 1)),
        False,
    ),
    (
        4,
        _many(("university", 2), ("community_college", 2), ("school", 1)),
        _many(("US", 5), ("CA", 1), ("GB", 1)),
        False,
    ),
    (
        3,
        _many(("university", 3), ("research_collaboration", 1), ("government", 1)),
        _many(("BR", 1), ("MX", 1), ("CO", 1), ("PE", 1), ("KE", 1), ("NG", 1), ("TZ", 1), ("RW", 1)),
        True,
    ),
    (2, _many(("university", 2), ("research_collaboration", 1)), ("IN", "ID", "PH", "EG"), False),
)
# Communities that stop using their hub each year (among those without a contract).
LEAVING_A_YEAR = 2

# --- contracts --------------------------------------------------------------------------------
# The share of contract renewals that go ahead; the others end the community's service.
RENEWED = 0.93
# A new community of a paying kind takes a hub-service contract this often.
NEW_PAYERS = 0.5
# A renewal is on the books, proposed, this many months before it starts.
PROPOSED_AHEAD_MONTHS = 6
# (reference stem, category, plan, lowest and highest value, months); two a year, one of them
# development work, from 2025.
LATER_CONTRACTS = (
    ("dev-{year}-gpu-scheduling", "development", "milestones", 120000, 190000, 10),
    ("dev-{year}-data-pipelines", "development", "milestones", 80000, 150000, 8),
    ("partnership-{year}-training", "partnership", "quarterly", 50000, 80000, 12),
    ("dev-{year}-accessibility", "development", "milestones", 60000, 110000, 6),
    ("dev-{year}-storage-tiers", "development", "milestones", 90000, 160000, 9),
)
# How the proposals of the end of 2024 turned out: reference -> (signed_on, or None if declined).
HISTORY_PROPOSALS = {"dev-2025-gpu-scheduling": "2025-02-20"}

# --- grants -----------------------------------------------------------------------------------
# How the pipeline of the end of 2024 turned out, and when the awarded grants closed: reference ->
# changes after 2024, as (date, status, probability); ``received`` dates the open disbursements.
HISTORY_GRANT_CHANGES = {
    "nra-regional-2022": {"changes": (("2025-10-31", "closed", None),), "received": ("2025-03-26",)},
    "eort-notebooks-2023": {"changes": (("2025-07-31", "closed", None),), "received": ("2025-06-27",)},
    "ccf-compute-2023": {"changes": (("2025-11-30", "closed", None),), "received": ("2025-07-29",)},
    "osf-education-2024": {"changes": (("2026-08-31", "closed", None),), "received": ("2025-07-25",)},
    "osf-core-2025": {
        "changes": (("2025-04-10", "awarded", None), ("2027-06-30", "closed", None)),
        "received": ("2025-05-23", "2026-05-26"),
    },
    "nra-infrastructure-2025": {"changes": (("2025-07-17", "declined", 0),)},
    "ccf-teaching-ai-2025": {"changes": (("2025-02-03", "submitted", 35), ("2025-05-20", "declined", 0))},
}
# Year-end giving grows by about 8% a year.
DONATIONS_GROWTH = 0.08
# What the organization applies for when its runway runs short: funder, category, role, title,
# currency, restricted. Taken in turn.
APPLICATIONS = (
    ("open-science-foundation", "direct_grant", "sole", "Core support for open research infrastructure", "USD", False),
    ("compute-commons-fund", "direct_grant", "sole", "Shared compute for {topic} research", "USD", False),
    ("national-research-agency", "collaboration", "prime", "Regional hubs for open science in {region}", "USD", True),
    ("european-open-research-trust", "direct_grant", "sole", "Open notebooks for European {topic}", "EUR", True),
    ("northfield-university", "collaboration", "subrecipient", "Teaching hubs for {topic} courses", "USD", False),
    ("cloud-credits-program", "donation", "sole", "Cloud credits for teaching hubs", "USD", False),
)  # fmt: skip
TOPICS = ("climate", "ocean", "genomics", "earth observation", "public health", "hydrology", "astronomy",
          "ecology", "materials", "seismology")  # fmt: skip
REGIONS = ("Latin America", "Africa", "Latin America and Africa")
SUBRECIPIENTS = ("Red Latinoamericana de Ciencia Abierta", "African Open Science Collective")
# When the base runway falls under RUNWAY_LOW months and no application is waiting for its
# answer (or the runway is under RUNWAY_URGENT), a new application is opened, sized to bring the
# runway back to about RUNWAY_AIM if awarded (two to five months of costs).
RUNWAY_LOW = 17
RUNWAY_URGENT = 15
RUNWAY_AIM = 20
APPLICATION_MONTHS_OF_COSTS = (2, 5)
# Each year the organization also tries for the federal programme it missed in 2025: on the books
# in January, submitted in March, decided in August, won one year in four. funder, title, chance,
# lowest and highest amount.
LONG_SHOT = ("national-research-agency", "Sustaining open infrastructure for research computing", 25,
             600000, 1000000)  # fmt: skip

# --- expenses ---------------------------------------------------------------------------------
# Monthly costs rise each January by these rates (cloud with usage, services with prices).
MONTHLY_GROWTH = {
    "Google Cloud hosting": 0.10,
    "AWS hosting": 0.06,
    "Azure hosting": 0.08,
    "Monitoring and logging": 0.05,
    "Collaboration tools": 0.05,
    "Password manager and security": 0.05,
    "Accounting and payroll services": 0.04,
    "Insurance": 0.05,
}
# One-off costs are budgeted a year ahead: name, category, amount in the first year, yearly
# growth, first year, (month, day).
YEARLY_ONCE = (
    ("Annual audit FY{year}", "services", 18900, 0.05, 2025, None),
    ("Team gathering {year}", "travel", 52500, 0.05, 2026, (10, 12)),
    ("Equipment for new staff {year}", "other", 9000, 0.04, 2025, (2, 3)),
)
BUDGETED_AHEAD_MONTHS = 12

# --- the fiscal sponsor -----------------------------------------------------------------------
# Through 2024 the fiscal sponsor charged a flat monthly fee (FLAT_FEE in data.EXPENSES). The
# agreement signed on FISCAL_SPONSOR_AGREED ended it on FLAT_FEE_ENDS; from the day after, the
# sponsor keeps FISCAL_SPONSOR_FEE of the revenue it receives for the organization, as
# docs/definitions.md "Fiscal-sponsor fee" counts it (every contract payment but a cloud
# contract's, every usage fee, every grant disbursement). The demo's books and its own runways
# count this fee whatever OPSITE_FISCAL_SPONSOR_FEE says: the setting is the site's, not the
# demo organization's (the embedded default sets it to the same 0.15).
FLAT_FEE = "Fiscal sponsorship fee"
FLAT_FEE_ENDS = "2024-12-31"
FISCAL_SPONSOR_AGREED = "2024-10-17"
FISCAL_SPONSOR_FEE = "0.15"

# --- the growth scenario ----------------------------------------------------------------------
GROWTH_HIRE_SALARY = 150000

# --- revenue realism --------------------------------------------------------------------------
# The default usage fee schedule, as the contracts migration writes it (users up to, unit price):
# the demo prices its usage-priced contracts on this copy before it writes a row, and a test
# holds the copy to the table.
USAGE_SCHEDULE = "mau-2024"
USAGE_TIERS = ((10, "10.00"), (100, "5.00"), (1000, "2.50"), (10000, "1.25"), (None, "0.00"))
# From USAGE_PRICED_FROM, a few large universities renew on usage pricing: a platform fee of
# PLATFORM_SHARE of what their fixed fee would have been, plus their monthly active users.
USAGE_PRICED = 3
USAGE_PRICED_FROM = 2026
USAGE_PRICED_KINDS = ("r1_university",)
PLATFORM_SHARE = "0.5"
# A few communities on a cluster of their own reimburse its cloud bill at cost, a year at a time
# from each February: the monthly bill of the first year (lowest, highest), growing with usage.
CLOUD_PASS_THROUGH = 2
CLOUD_BILL = (1800, 4200)
CLOUD_GROWTH = 0.08

# --- money to chase ---------------------------------------------------------------------------
# The helpdesk's community pays every invoice due after the history this many days late.
LATE_PAYER_DAYS = (75, 110)
# Each year's first new paying community waits this many days after its first term starts for
# its purchase order; the invoices due by then are paid together when it comes.
PURCHASE_ORDER_DAYS = (305, 335)
# Each year one renewal starting in one of these months is signed this many days into its term.
LATE_SIGNATURE_MONTHS = (10, 11)
LATE_SIGNATURE_DAYS = (65, 100)
# Funders the organization works with after the history: slug, name, kind.
LATER_FUNDERS = (("lakeshore-community-foundation", "Lakeshore Community Foundation", "foundation"),)
# The community foundation's yearly grant for a school year (September to August): applied for in
# spring, decided only in January, half paid on the award and half after the final report, which
# the foundation pays this many days late. Lowest and highest amount.
FOUNDATION_GRANT = (60000, 90000)
FOUNDATION_FINAL_DAYS = (120, 210)
# Northfield University's yearly subaward for a teaching-lab pilot (February to January): three
# tranches of 30%, all waiting on the subaward agreement, signed this many days into the term;
# the last 10% is held back until the final report is accepted. Lowest and highest amount.
SUBAWARD_PILOT = (80000, 120000)
SUBAWARD_AGREEMENT_DAYS = (305, 335)
