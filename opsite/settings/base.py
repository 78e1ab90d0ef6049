"""Settings shared by every environment. Configuration comes from the environment only."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_HASHES, UNSAFE_INLINE
from import_export.formats import base_formats

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "import_export",
    "simple_history",
    "axes",
    "csp",
    # ours, ground floor first
    "opsite",
    "staff",
    "communities",
    "contributions",
    "contracts",
    "funding",
    # consumers with tables of their own: the public website kit's impact stories
    "opsite.kpis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # The Content-Security-Policy header on every answer (the policy is below).
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a login the guard refused into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "opsite.urls"
WSGI_APPLICATION = "opsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dashboard read while a Celery job writes rollups.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL;")
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # Plotly.js's basic bundle from its npm package, as vendor/plotly-basic.min.js (no CDN, no copy).
    "opsite.staticfinders.VendorFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "home"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Bounded, so a web request never hangs when Redis is down.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -------------------------------------------------------------------------------
# "memory://localhost/", not "memory://": kombu reads a URL without a host as "no hostname was
# supplied" and warns each time it opens a connection, which eager mode does for every task.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
# The embedded default has no broker: tasks run inline, after the transaction that asked for them.
# Task modules outside an installed app's own ``tasks`` (which autodiscovery finds by itself).
CELERY_IMPORTS = ("opsite.kpis.tasks",)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Every task's hard time limit (the default below, or its own) stays well below the broker's
# visibility timeout, so a task that runs long is killed before Redis hands it to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_POOL_ACQUIRE_TIMEOUT = 5
# Publishing from a web request: one quick retry, then give up (the recompute is recorded as
# pending) rather than keep the request waiting on a broker that is down.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
# The result backend is the same Redis: bounded the same way.
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 1, "interval_start": 0}}
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 900
CELERY_RESULT_EXPIRES = 86400
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With late acknowledgement a task cut off by a lost broker connection is redelivered anyway;
# cancelling it avoids running the same job twice at once.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_TRACK_STARTED = True
# A worker keeps the project's LOGGING (one handler, on the root logger) instead of replacing the
# root logger's handlers with its own: each line once, in the same format as the web processes.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Every periodic job, in one place (run exactly one beat). Times are UTC. The importers run first
# so the nightly rollups see last night's usage and pull requests; the alert reads the runway
# recomputed before it. `expires` drops a run that no worker picked up before the next one.
CELERY_BEAT_SCHEDULE = {
    "sync-github": {
        "task": "contributions.tasks.sync_github",
        "schedule": crontab(minute=0, hour=1),
        "options": {"expires": 6 * 3600},
    },
    "import-usage": {
        "task": "communities.tasks.import_usage",
        "schedule": crontab(minute=30, hour=1),
        "options": {"expires": 6 * 3600},
    },
    # After the usage: the cloud provider has settled most of yesterday's costs by then.
    "import-cloud-costs": {
        "task": "communities.tasks.import_cloud_costs",
        "schedule": crontab(minute=45, hour=1),
        "options": {"expires": 6 * 3600},
    },
    "recompute-rollups-nightly": {
        "task": "opsite.kpis.tasks.recompute_rollups",
        "schedule": crontab(minute=0, hour=3),
        "options": {"expires": 6 * 3600},
    },
    "recompute-runway-daily": {
        "task": "funding.tasks.recompute_runway",
        "schedule": crontab(minute=30, hour=3),
        "options": {"expires": 6 * 3600},
    },
    # After the recompute, so the snapshots it stored are the latest (never pruned); the alert reads
    # only the latest, and no alerted snapshot is ever pruned.
    "prune-runway-snapshots-daily": {
        "task": "funding.tasks.prune_runway_snapshots",
        "schedule": crontab(minute=15, hour=4),
        "options": {"expires": 6 * 3600},
    },
    "runway-alert-daily": {
        "task": "funding.tasks.runway_alert",
        "schedule": crontab(minute=0, hour=6),
        "options": {"expires": 6 * 3600},
    },
    # After the importers and the runway jobs; reads only the funder reports, e-mails their owners.
    "funder-report-reminders-daily": {
        "task": "funding.tasks.funder_report_reminders",
        "schedule": crontab(minute=30, hour=6),
        "options": {"expires": 6 * 3600},
    },
    # Recomputes still owed with none queued or running for them (the broker was down, a worker
    # was killed): enqueue them again, so a lost one runs within a few minutes.
    "retry-pending-recomputes": {
        "task": "opsite.kpis.tasks.retry_pending_recomputes",
        "schedule": crontab(minute="*"),
        "options": {"expires": 60},
    },
}

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token check, with failed tokens throttled per client address (a 429 past the rate).
        "opsite.core.api.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "opsite.core.api.pagination.OpsitePagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "opsite.core.api.exceptions.exception_handler",
    # JSON read strictly and within bounds (opsite.core.api.parsers); forms for the browsable API.
    "DEFAULT_PARSER_CLASSES": [
        "opsite.core.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
    # Per client address (opsite.core.api.throttling): requests to the public KPI views, and
    # failed token authentications anywhere in the API (past the rate, a 429 without checking).
    "DEFAULT_THROTTLE_RATES": {
        "public": env("OPSITE_PUBLIC_THROTTLE", default="120/min"),
        "token_failures": env("OPSITE_TOKEN_FAILURE_THROTTLE", default="20/min"),
    },
    # How many proxies in front of the site append to X-Forwarded-For: the client address is the
    # entry the outermost one added. 0 (no proxy) uses REMOTE_ADDR, so a client cannot pick its
    # own address, and so its own throttle bucket, with a forged header.
    "NUM_PROXIES": env.int("OPSITE_NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "opsite API",
    "DESCRIPTION": "Records, runway and public KPIs of the organization.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and the docs are public, like the public API: no authentication at all, so a
    # stale token never turns them into a 401.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI and Redoc from this site's static files, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The public API first: it is what a web developer comes for (its own schema and docs are at
    # /api/public/schema/ and /api/public/docs/). What this site does not publish (funding metrics,
    # data files, per their settings) is not documented (opsite.kpis.api.schema).
    "TAGS": [
        {
            "name": "public",
            "description": "Anonymous, read-only figures, stories and data files for websites: no key needed.",
        }
    ],
    # Impact stories' category beside the other apps' categories: named, not numbered.
    "ENUM_NAME_OVERRIDES": {"ImpactStoryCategoryEnum": "opsite.kpis.choices.StoryCategory"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "opsite.kpis.api.schema.only_what_this_site_publishes",
    ],
}

# --- Login guard (django-axes) -------------------------------------------------------------
# Failed admin logins (the site's only password form: the dashboard signs in through it) are
# counted per username *and* client address together. A small team signs in from one office
# address (a NAT): locking by address alone would lock everyone out for one person's typos, and by
# username alone would let anyone anywhere lock a colleague out. A guesser at one address still
# gets only OPSITE_LOGIN_FAILURE_LIMIT tries per username per cool-off.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("OPSITE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("OPSITE_LOGIN_COOLOFF_MINUTES", default=15))
# A successful login clears that username and address's count; a try during the cool-off restarts it.
AXES_RESET_ON_SUCCESS = True
# Attempts live in the database (the default handler): they survive a restart, they are the same
# for every worker, and `manage.py axes_reset_username <name>` (or axes_reset_ip, axes_reset)
# clears them. Not in the admin: its three read-only lists would mostly be empty tables.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_ENABLE_ADMIN = False
# Failures are what the guard needs; a row for every successful login is a log nobody asked for.
AXES_DISABLE_ACCESS_LOG = True
# No start-up banner on every command, and no user agent in its log lines.
AXES_VERBOSE = False
# The client address as the API throttles see it (OPSITE_NUM_PROXIES), IPv6 by its /64 network.
AXES_CLIENT_IP_CALLABLE = "opsite.core.api.throttling.client_address"
# The username as typed, cut to the length django-axes stores.
AXES_USERNAME_CALLABLE = "opsite.core.api.throttling.login_username"
# The site's own lockout page: a 429 with Retry-After, styled like the site, no username echoed.
AXES_LOCKOUT_CALLABLE = "opsite.core.api.throttling.login_lockout_response"

# --- Content-Security-Policy (django-csp) ---------------------------------------------------
# Every page, the admin, the dashboard and the API docs included, runs only scripts served by the
# site itself: no inline script, no eval, no other origin, one event-handler attribute (below). Styles may
# be inline ('unsafe-inline'): Plotly inserts <style> elements for every chart, under ids it makes
# up per chart (so no hash or nonce can name them), and Swagger UI and the import-export pages
# write style attributes. Inline CSS cannot carry data off the site: images, fonts and
# connections are limited to the site (img-src, default-src). Checked in Chromium, page by page,
# by opsite/tests/test_csp_e2e.py.
# One inline event handler is allowed, by its hash: django-import-export's export page writes its
# "select all" box as onchange="onSelectToggleChange(event)" (the function is in its static
# script). 'unsafe-hashes' in script-src-attr lets that exact text run as an attribute and nothing
# else: no other handler, no inline <script>. test_security_headers checks the text is still theirs.
OPSITE_CSP_EVENT_HANDLERS = ["onSelectToggleChange(event)"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "script-src-attr": [
            UNSAFE_HASHES,
            *(
                f"'sha256-{base64.b64encode(hashlib.sha256(handler.encode()).digest()).decode()}'"
                for handler in OPSITE_CSP_EVENT_HANDLERS
            ),
        ],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- opsite -------------------------------------------------------------------------------
# The largest JSON body the API reads, and how deep it may nest (a 413 or a 400 past them); the
# batch endpoints take up to 10,000 rows, hence their larger ceiling.
OPSITE_JSON_MAX_BYTES = env.int("OPSITE_JSON_MAX_BYTES", default=2_621_440)
OPSITE_BATCH_JSON_MAX_BYTES = env.int("OPSITE_BATCH_JSON_MAX_BYTES", default=16 * 1024 * 1024)
OPSITE_JSON_MAX_DEPTH = env.int("OPSITE_JSON_MAX_DEPTH", default=32)
# The admin import's bounds, checked before a file is parsed (opsite.core.imports). Rows are
# checked and written through the services a batch at a time (opsite.core.batch_import); a file of
# more than OPSITE_IMPORT_BACKGROUND_ROWS rows is previewed and imported by a Celery task, with a
# progress bar (opsite.core.import_jobs), so no web worker waits on it.
OPSITE_IMPORT_MAX_BYTES = env.int("OPSITE_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
OPSITE_IMPORT_MAX_ROWS = env.int("OPSITE_IMPORT_MAX_ROWS", default=20_000)
OPSITE_IMPORT_MAX_XLSX_UNCOMPRESSED = env.int("OPSITE_IMPORT_MAX_XLSX_UNCOMPRESSED", default=50 * 1024 * 1024)
OPSITE_IMPORT_MAX_XLSX_RATIO = env.int("OPSITE_IMPORT_MAX_XLSX_RATIO", default=100)
OPSITE_IMPORT_CONFIRM_MAX_AGE = env.int("OPSITE_IMPORT_CONFIRM_MAX_AGE", default=3600)
OPSITE_IMPORT_BACKGROUND_ROWS = env.int("OPSITE_IMPORT_BACKGROUND_ROWS", default=2000)
# A recompute queued or started this long ago with no outcome is taken as lost and enqueued again
# by the beat (opsite.core.recompute).
OPSITE_RECOMPUTE_LOST_AFTER_SECONDS = env.int("OPSITE_RECOMPUTE_LOST_AFTER_SECONDS", default=240)
# Business dates and instants outside this range are refused at every door (opsite.core.dates).
OPSITE_PLAUSIBLE_DATES = (
    env("OPSITE_PLAUSIBLE_DATES_FROM", default="2000-01-01"),
    env("OPSITE_PLAUSIBLE_DATES_TO", default="2100-12-31"),
)
OPSITE_CURRENCY = env("OPSITE_CURRENCY", default="USD")
OPSITE_PUBLIC_FUNDING = env.bool("OPSITE_PUBLIC_FUNDING", default=False)
OPSITE_PUBLIC_CORS_ORIGINS = env.list("OPSITE_PUBLIC_CORS_ORIGINS", default=[])
# The public data files of hub usage (/api/v1/public/data/*.csv): per-hub and per-cluster counts,
# published only when the organization chooses to (docs/api.md "Public data files").
OPSITE_PUBLIC_HUB_DATA = env.bool("OPSITE_PUBLIC_HUB_DATA", default=False)
OPSITE_CONTRIBUTIONS_SINCE = env("OPSITE_CONTRIBUTIONS_SINCE", default="2021-01-01")
OPSITE_RUNWAY_COMFORT_MONTHS = env.int("OPSITE_RUNWAY_COMFORT_MONTHS", default=12)
OPSITE_CASH_POSITION_STALE_DAYS = env.int("OPSITE_CASH_POSITION_STALE_DAYS", default=45)
# Indicator thresholds: where yellow, green and over start (a value on a cut takes the better
# status); customer_concentration is lower-is-better: green up to "green", yellow up to "yellow".
OPSITE_RUNWAY_THRESHOLDS = {
    "committed_runway": {"yellow": "6", "green": "12", "over": "24"},
    "cost_coverage": {"yellow": "0.85", "green": "1.00", "over": "1.30"},
    "pipeline_coverage": {"yellow": "1.00", "green": "1.50", "over": "2.50"},
    "cash_reserve": {"yellow": "3", "green": "6", "over": "12"},
    "invoice_collection": {"yellow": "0.80", "green": "0.95"},
    "customer_concentration": {"green": "0.35", "yellow": "0.50"},
}


def runway_keep_days(name: str, default: int, *, at_least: int) -> int:
    """A retention period of runway snapshots, in whole days, from the environment (``name``), else
    ``default``: from ``at_least`` to 36,500. A bad value stops the start, naming the setting."""
    value = env.str(name, default=str(default))
    days = int(value) if value.strip().isascii() and value.strip().isdigit() else None
    if days is None or not at_least <= days <= 36_500:
        raise environ.ImproperlyConfigured(
            f"{name} must be a whole number of days from {at_least} to 36500; got {value!r}."
        )
    return days


# Runway snapshot retention (funding/runway/retention.py, docs/definitions.md "Runway snapshots"):
# every snapshot is kept OPSITE_RUNWAY_KEEP_ALL_DAYS days, then the last of each scenario's day
# until OPSITE_RUNWAY_KEEP_DAILY_DAYS, then the last of each ISO week. The beat prunes daily.
OPSITE_RUNWAY_KEEP_ALL_DAYS = runway_keep_days("OPSITE_RUNWAY_KEEP_ALL_DAYS", 90, at_least=1)
OPSITE_RUNWAY_KEEP_DAILY_DAYS = runway_keep_days(
    "OPSITE_RUNWAY_KEEP_DAILY_DAYS", 365, at_least=OPSITE_RUNWAY_KEEP_ALL_DAYS
)


def fiscal_sponsor_fee(default: str) -> str:
    """``OPSITE_FISCAL_SPONSOR_FEE`` from the environment, else ``default``: a fraction from 0 up to
    (not including) 1. A bad value stops the start, not a forecast. A settings module with another
    default (the embedded one) calls this again with it, so its default is checked the same way."""
    value = env.str("OPSITE_FISCAL_SPONSOR_FEE", default=default)
    try:
        valid = 0 <= Decimal(value) < 1
    except InvalidOperation:
        valid = False
    if not valid:
        raise environ.ImproperlyConfigured(
            "OPSITE_FISCAL_SPONSOR_FEE must be a fraction from 0 up to (not including) 1, such as 0.15 "
            f"for 15%; got {value!r}."
        )
    return value


# The fiscal sponsor's fee: its share of the revenue it receives (cloud pass-through contracts are
# exempt). 0 by default: an organization without a fiscal sponsor pays none.
OPSITE_FISCAL_SPONSOR_FEE = fiscal_sponsor_fee("0")
OPSITE_LEADERSHIP_ALERT_EMAILS = env.list("OPSITE_LEADERSHIP_ALERT_EMAILS", default=[])
# Where people reach the site, such as https://opsite.example.org: links in e-mails start with it
# (empty: the links are paths only).
OPSITE_SITE_URL = env("OPSITE_SITE_URL", default="")
# The Monte Carlo pipeline (docs/definitions.md): how many draws, from a generator with this seed,
# so the same inputs give the same figures. A bad value stops the start.
OPSITE_MONTE_CARLO_DRAWS = env.int("OPSITE_MONTE_CARLO_DRAWS", default=1000)
OPSITE_MONTE_CARLO_SEED = env.int("OPSITE_MONTE_CARLO_SEED", default=42)
if not 1 <= OPSITE_MONTE_CARLO_DRAWS <= 100_000:
    raise environ.ImproperlyConfigured(
        f"OPSITE_MONTE_CARLO_DRAWS must be from 1 to 100000; got {OPSITE_MONTE_CARLO_DRAWS}."
    )
if OPSITE_MONTE_CARLO_SEED < 0:
    raise environ.ImproperlyConfigured(
        f"OPSITE_MONTE_CARLO_SEED must be 0 or more; got {OPSITE_MONTE_CARLO_SEED}."
    )

# Browsers may call the public KPI API and the widgets, and only them, from pages on these origins.
CORS_URLS_REGEX = r"^/(api/v1/public|widgets)/.*$"
CORS_ALLOWED_ORIGINS = OPSITE_PUBLIC_CORS_ORIGINS
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_HEADERS = ["accept", "if-none-match"]
# The data files say how fresh they are in headers of their own (opsite.kpis.hub_data).
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "Opsite-Data-Newest", "Opsite-Data-Stale"]
CORS_ALLOW_CREDENTIALS = False
CORS_PREFLIGHT_MAX_AGE = 86400

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="opsite <opsite@localhost>")

IMPORT_EXPORT_SKIP_ADMIN_ACTION_EXPORT_UI = False
IMPORT_EXPORT_FORMATS = [base_formats.CSV, base_formats.XLSX, base_formats.JSON]
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_USE_TRANSACTIONS = True


def _refusal_in_one_line(record) -> bool:
    """Drop the traceback Django attaches to a request it refused (a 4xx, such as a 403 for a
    ``PermissionDenied``): the refusal is the client's doing, the line says all there is."""
    if 400 <= getattr(record, "status_code", 0) < 500:
        record.exc_info = None
        record.exc_text = None
    return True


# One handler, on the root logger; every other logger propagates to it, so each event is one
# line. Django gives its "django" logger a console handler of its own when DEBUG is on: emptied
# here, or every line of Django's would be printed twice. Celery workers keep this configuration
# too (CELERY_WORKER_HIJACK_ROOT_LOGGER, with the Celery settings).
LOG_LEVEL = env("DJANGO_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "refusal_in_one_line": {"()": "django.utils.log.CallbackFilter", "callback": _refusal_in_one_line}
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # Where Django logs refused requests, with the exception attached (a filter on a logger
        # applies to what is logged there, so it is on the logger, not on a parent).
        "django.request": {"filters": ["refusal_in_one_line"]},
        # django-axes says four INFO lines per successful login; its warnings (failures, lockouts) stay.
        "axes": {"level": "WARNING"},
    },
}

# --- importers ----------------------------------------------------------------------------
GITHUB_TOKEN = env("GITHUB_TOKEN", default="")
OPSITE_GITHUB_API_URL = env("OPSITE_GITHUB_API_URL", default="https://api.github.com")
OPSITE_GITHUB_SYNC_OVERLAP_DAYS = env.int("OPSITE_GITHUB_SYNC_OVERLAP_DAYS", default=3)
OPSITE_GITHUB_MAX_WAIT_SECONDS = env.int("OPSITE_GITHUB_MAX_WAIT_SECONDS", default=120)
OPSITE_GITHUB_WAIT_BUDGET_SECONDS = env.int("OPSITE_GITHUB_WAIT_BUDGET_SECONDS", default=1200)
OPSITE_USAGE_EXCLUDE_PATTERN = env("OPSITE_USAGE_EXCLUDE_PATTERN", default="staging")
OPSITE_USAGE_INITIAL_DAYS = env.int("OPSITE_USAGE_INITIAL_DAYS", default=365)
OPSITE_USAGE_RETRY_BACKOFF_SECONDS = env.int("OPSITE_USAGE_RETRY_BACKOFF_SECONDS", default=2)
# The cloud cost importer (communities/cost_monitoring.py): the days a cluster's first import reads
# back, the recent days every import reads again (the cloud provider revises them), and its HTTP
# read timeout and pause before a retry.
OPSITE_COST_INITIAL_DAYS = env.int("OPSITE_COST_INITIAL_DAYS", default=90)
OPSITE_COST_REFRESH_DAYS = env.int("OPSITE_COST_REFRESH_DAYS", default=3)
OPSITE_COST_TIMEOUT_SECONDS = env.int("OPSITE_COST_TIMEOUT_SECONDS", default=120)
OPSITE_COST_RETRY_BACKOFF_SECONDS = env.int("OPSITE_COST_RETRY_BACKOFF_SECONDS", default=2)
