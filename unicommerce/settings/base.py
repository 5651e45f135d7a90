"""Settings shared by every environment. Machine-specific values come from the
environment through :mod:`unicommerce.env`."""

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from unicommerce.env import (
    env_bool,
    env_float,
    env_int,
    env_json,
    env_list,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "unicommerce.apps.UnicommerceAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "unicommerce.apps.UnicommerceConfig",
    "unicommerce.events",
    "unicommerce.channels",
    "unicommerce.webhooks",
    "unicommerce.messaging",
    "unicommerce.api",
    "catalog",
    "inventory",
    "customers",
    "orders",
    "payments",
    "loyalty",
    "crm",
    "pos",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's language choice for pages; under /api/ Accept-Language only, else English
    # (first, so every refusal below speaks the caller's language).
    "unicommerce.api.locale.LocaleMiddleware",
    # A NUL character anywhere in a request: 400 before anything reads it (PostgreSQL).
    "unicommerce.api.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Who may call what: the one permission table (unicommerce/access/table.py).
    "unicommerce.access.middleware.AccessMiddleware",
    # Failed log-ins (admin, POS) locked out (django-axes; last, as it asks).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "unicommerce.urls"
WSGI_APPLICATION = "unicommerce.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: one PostgreSQL, persistent connections with health checks.
DATABASES = {"default": parse_database_url(env_str("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
# Parameters travel separately from the SQL, so psycopg prepares the statements a
# process runs again and again (the catalog page, the reservation) and PostgreSQL plans
# them once.
DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
# Behind a transaction-pooling PgBouncer, set DATABASE_PREPARE_THRESHOLD=0 to turn it off.
_prepare_after = env_int("DATABASE_PREPARE_THRESHOLD", default=5)
DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", _prepare_after or None)
# A statement prepared because it runs all the time is planned once: left to choose,
# PostgreSQL re-plans the catalog page at every call (≈1 ms of its 2). JIT off: with a
# generic plan's rough estimates, a 2 ms page can cross the JIT threshold and pay 50-100
# ms of compilation (seen on a stock PostgreSQL 15; the embedded 16 is built without JIT).
DATABASES["default"]["OPTIONS"].setdefault(
    "options",
    f"-c plan_cache_mode={env_str('DATABASE_PLAN_CACHE_MODE', default='force_generic_plan')}"
    f" -c jit={env_str('DATABASE_JIT', default='off')}",
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker, live-update pub/sub.
REDIS_URL = env_str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "uc",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# --- Celery (Celery's own beat schedule; django-celery-beat does not support Django 6.1).
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Europe/Paris"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
# Celery's Django fixup closes the database connection before and after every task
# unless this is set (a new backend and lost prepared statements, twice a task).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Longer than any task may run, so an unacknowledged task is not handed out twice early.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# Queues: "sync" (outbox events: the stock sync), "webhooks" (outgoing HTTP, where a slow
# receiver may hold a worker), "messaging" (SMS, e-mail) and "default" (imports, scans).
# One worker may consume them all (the dev stack), or each its own (docker-compose).
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "events.*": {"queue": "sync"},
    "webhooks.*": {"queue": "webhooks"},
    "messaging.*": {"queue": "messaging"},
}
CELERY_WORKER_QUEUES = "sync,webhooks,messaging,default"  # for `celery worker -Q`
CELERY_BEAT_SCHEDULE = {
    # The fiscal journal's closings: yesterday's (and last month's, last year's on the
    # first) for every store and the company, even without sales; idempotent.
    "fiscal-closings": {
        "task": "pos.fiscal_closings",
        "schedule": crontab(minute=5, hour=0),
    },
    "outbox-sweep": {
        "task": "events.outbox_sweep",
        "schedule": timedelta(seconds=env_int("OUTBOX_SWEEP_SECONDS", default=10)),
    },
    "outbox-prune": {"task": "events.outbox_prune", "schedule": timedelta(hours=24)},
    "reservations-expire": {
        "task": "inventory.reservations_expire",
        "schedule": timedelta(seconds=env_int("RESERVATION_EXPIRY_SECONDS", default=15)),
    },
    "webhooks-sweep": {
        "task": "webhooks.sweep",
        "schedule": timedelta(seconds=env_int("WEBHOOK_SWEEP_SECONDS", default=5)),
    },
    "webhooks-prune": {"task": "webhooks.prune", "schedule": timedelta(hours=24)},
    "messaging-sweep": {
        "task": "messaging.sweep",
        "schedule": timedelta(seconds=env_int("MESSAGING_SWEEP_SECONDS", default=30)),
    },
    "payments-claims-resume": {
        "task": "payments.claims_resume",
        "schedule": timedelta(minutes=env_int("PAYMENT_CLAIMS_RESUME_MINUTES", default=2)),
    },
    # Instalments are charged in the daytime only: a decline sends the customer an SMS.
    "payments-instalments-collect": {
        "task": "payments.instalments_collect",
        "schedule": crontab(minute=0, hour="8-19"),
    },
    "payments-instalment-reminders": {
        "task": "payments.instalment_reminders",
        "schedule": crontab(minute=30, hour=10),
    },
    "payment-links-expire": {
        "task": "payments.links_expire",
        "schedule": timedelta(seconds=env_int("PAYMENT_LINK_EXPIRY_SECONDS", default=60)),
    },
    "orders-unpaid-expire": {
        "task": "orders.unpaid_expire",
        "schedule": timedelta(seconds=env_int("ORDER_UNPAID_EXPIRY_SECONDS", default=60)),
    },
    "customer-figures-refresh": {
        "task": "orders.customer_figures_refresh",
        "schedule": timedelta(hours=env_int("CUSTOMER_FIGURES_REFRESH_HOURS", default=24)),
    },
    "replenishment-scan": {
        "task": "inventory.replenishment_scan",
        "schedule": timedelta(minutes=env_int("REPLENISHMENT_SCAN_MINUTES", default=60)),
    },
    # Gift cards past their validity lose what is left on them (an ``expire`` row).
    "gift-cards-expire": {
        "task": "loyalty.gift_cards_expire",
        "schedule": crontab(minute=5, hour=2),
    },
}

# --- E-mail (Django 6.1 mailers): alerts to ADMINS. On the console in development.
ADMINS = env_list("DJANGO_ADMINS", default=[])
SERVER_EMAIL = env_str("DJANGO_SERVER_EMAIL", default="unicommerce@localhost")
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# --- Webhooks (docs/webhooks.md)
# A burst of changes to one item inside this window is sent once, with the latest data.
WEBHOOK_COALESCE_SECONDS = env_float("WEBHOOK_COALESCE_SECONDS", default=0.25)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", default=10)  # then dead letter
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", default=2.0)
WEBHOOK_RETRY_MAX_SECONDS = env_float("WEBHOOK_RETRY_MAX_SECONDS", default=1800.0)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", default=25)
# A delivery "being sent" for longer than this is handed back (its sender died).
WEBHOOK_CLAIM_TIMEOUT_SECONDS = env_float("WEBHOOK_CLAIM_TIMEOUT_SECONDS", default=60.0)
WEBHOOK_KEEP_DAYS = env_int("WEBHOOK_KEEP_DAYS", default=7)
# Endpoints on loopback/private addresses (a receiver on this machine) only in dev/test.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env_bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False)
# Outbound limits (issue 11): one delivery's whole HTTP call (resolving, connecting, TLS,
# sending, every byte of the answer) ends after this, whatever the worker's pool; keep it
# well below WEBHOOK_CLAIM_TIMEOUT_SECONDS.
WEBHOOK_DELIVERY_DEADLINE_SECONDS = env_float("WEBHOOK_DELIVERY_DEADLINE_SECONDS", default=15.0)
# At most this much of a receiver's answer is read (the rest is not; not an error).
WEBHOOK_MAX_RESPONSE_BYTES = env_int("WEBHOOK_MAX_RESPONSE_BYTES", default=65536)
WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL = env_int("WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL", default=10)

# --- Orders (orders/conf.py): carts and where shipped lines come from.
CART_TTL_DAYS = env_int("CART_TTL_DAYS", default=30)
ORDER_ORCHESTRATION_STRATEGY = env_str(
    "ORDER_ORCHESTRATION_STRATEGY", default="orders.orchestration.strategy_default"
)

# A demo deployment may run the simulated gateway and the console SMS backend in production
# settings (they mark orders paid without money, and print secrets): `check --deploy`
# refuses them unless this says the deployment is a demo on purpose.
ALLOW_DEMO_SERVICES = env_bool("DJANGO_ALLOW_DEMO_SERVICES", default=False)

# Unpaid orders give their stock back after this many minutes, by how the customer chose
# to pay (orders/services/expiry.py; 0 or absent: never). Pay later (online, after
# checkout): an hour. A payment link: a day, as long as a link lives (a live link keeps
# the order). Pay in store (collected and paid at the counter): a week.
ORDER_UNPAID_EXPIRY_MINUTES = {
    "pay_later": env_int("ORDER_UNPAID_PAY_LATER_MINUTES", default=60),
    "payment_link": env_int("ORDER_UNPAID_PAYMENT_LINK_MINUTES", default=24 * 60),
    "pay_in_store": env_int("ORDER_UNPAID_PAY_IN_STORE_MINUTES", default=7 * 24 * 60),
}

# --- Gift cards (docs/loyalty.md): how long a card is valid from its issue (French
# practice: at least a year). 0 = no expiry.
GIFT_CARD_VALIDITY_DAYS = env_int("GIFT_CARD_VALIDITY_DAYS", default=365)

# --- Payments (payments/conf.py, docs/payments.md): the gateway of remote methods.
PAYMENT_GATEWAY = env_str("PAYMENT_GATEWAY", default="simulated")  # or "stripe"
STRIPE_API_BASE = env_str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", default="")
# Where customers open payment links (the pay page's absolute URL in the SMS). By default
# the address `make run` serves on, whatever its PORT; production has no default.
PUBLIC_BASE_URL = env_str(
    "PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env_int('PORT', default=8000)}"
).rstrip("/")
PAYMENT_LINK_TTL_MINUTES = env_int("PAYMENT_LINK_TTL_MINUTES", default=24 * 60)

# --- Provider webhooks (payments/api/webhooks.py): bodies over this size answer 413
# before they are parsed or stored. The simulated gateway (only when PAYMENT_GATEWAY is
# "simulated") signs its webhooks with this secret: no default here, the development and
# test settings set their own; a production demo must set one (`check --deploy` says so).
PAYMENT_WEBHOOK_MAX_BYTES = env_int("PAYMENT_WEBHOOK_MAX_BYTES", default=64 * 1024)
PAYMENT_SIMULATED_WEBHOOK_SECRET = env_str("PAYMENT_SIMULATED_WEBHOOK_SECRET", default="")

# --- Messages to customers (docs/messaging.md): SMS and e-mail, sent by the workers.
SMS_BACKEND = env_str("SMS_BACKEND", default="unicommerce.messaging.backends.ConsoleBackend")
CUSTOMER_EMAIL_BACKEND = env_str(
    "CUSTOMER_EMAIL_BACKEND", default="unicommerce.messaging.backends.ConsoleBackend"
)
SMS_FILE_PATH = env_str("SMS_FILE_PATH", default=str(BASE_DIR / ".devdata" / "messages"))
CUSTOMER_EMAIL_FROM = env_str("CUSTOMER_EMAIL_FROM", default="Unicommerce <noreply@localhost>")
CUSTOMER_EMAIL_MAILER = env_str("CUSTOMER_EMAIL_MAILER", default="default")  # in MAILERS
MESSAGING_MAX_ATTEMPTS = env_int("MESSAGING_MAX_ATTEMPTS", default=6)  # then failed
MESSAGING_RETRY_BASE = env_float("MESSAGING_RETRY_BASE", default=10.0)  # seconds, doubling
# A message "being sent" for longer than this is handed back (its worker died); more
# than the send task's time limit (60 s), so a slow send is never sent twice.
MESSAGING_CLAIM_TIMEOUT_SECONDS = env_float("MESSAGING_CLAIM_TIMEOUT_SECONDS", default=300.0)
# The Twilio backend (SMS_BACKEND=unicommerce.messaging.providers.twilio.TwilioBackend).
SMS_TWILIO_ACCOUNT_SID = env_str("SMS_TWILIO_ACCOUNT_SID", default="")
SMS_TWILIO_AUTH_TOKEN = env_str("SMS_TWILIO_AUTH_TOKEN", default="")
SMS_TWILIO_FROM = env_str("SMS_TWILIO_FROM", default="")
SMS_TWILIO_MESSAGING_SERVICE_SID = env_str("SMS_TWILIO_MESSAGING_SERVICE_SID", default="")
SMS_TWILIO_API_BASE = env_str("SMS_TWILIO_API_BASE", default="https://api.twilio.com")
# A queued message due for this long has lost its task: the sweep enqueues it again.
MESSAGING_SWEEP_AFTER_SECONDS = env_float("MESSAGING_SWEEP_AFTER_SECONDS", default=30.0)

# --- Abuse limits (unicommerce/ratelimit.py, docs/permissions.md): "<n>/<period>" or
# "<n> per <k> <period>s"; each can be changed with RATE_LIMIT_<NAME>, "" turns it off.
_RATE_LIMIT_DEFAULTS = {
    # SMS cost money and reach a stranger's phone: per destination, per sending channel.
    "sms_per_number": "8/day",
    "sms_per_channel": "300/hour",
    # Customer sign-in codes: asking for one, and trying one (6 digits can be guessed).
    "login_code_request_per_contact": "5/hour",
    "login_code_request_per_ip": "20/hour",
    "login_code_request_global": "2000/hour",
    "login_code_attempt_per_contact": "10/hour",
    "login_code_attempt_per_ip": "30/hour",
    "login_code_attempt_global": "5000/hour",
    # A signed-in customer proving a new e-mail or phone.
    "contact_change_per_customer": "5/hour",
    # A manager's password typed on a seller's till (inventory/services/approval.py), per
    # till session's user; failures also count towards the manager's log-in lock-out.
    "manager_approval_per_caller": "30/hour",
    # Payment links: each (re)send is an SMS to a number the caller chooses.
    "payment_link_send_per_caller": "60/hour",
    "payment_link_send_per_link": "5/day",
    # Free for the caller, costly for us: carts and identify, per client IP and per key.
    "cart_create_per_ip": "60/minute",
    "cart_create_per_key": "12000/minute",
    "cart_identify_per_ip": "30/minute",
    "cart_identify_per_key": "6000/minute",
    # Voucher codes typed or scanned (loyalty.services.vouchers.voucher_find): only the
    # failed attempts count, per caller, so a till scanning all day is never stopped and a
    # guesser soon is.
    "voucher_attempt_per_caller": "20/hour",
    # Gift card codes are bearer secrets: every lookup counts per caller (an IP, a till,
    # an API key), and failed ones against a much smaller limit that stops guessing.
    "gift_card_lookup_per_caller": "600/hour",
    "gift_card_lookup_failed_per_caller": "20/hour",
    # A click & collect pickup code typed at the counter (6 digits): wrong tries per
    # shipment, whoever types them (orders.services.collect.shipment_collect).
    "pickup_code_attempt_per_shipment": "10/hour",
}
RATE_LIMITS = {
    name: env_str(f"RATE_LIMIT_{name.upper()}", default=rate)
    for name, rate in _RATE_LIMIT_DEFAULTS.items()
}
# Reservations through the API: how long a channel's key may hold stock (seconds), and how
# many units a publishable (storefront) key may hold at once. Staff may hold until released.
RESERVATION_MAX_SECONDS = {
    "storefront": env_int("RESERVATION_STOREFRONT_MAX_SECONDS", default=30 * 60),
    "integration": env_int("RESERVATION_INTEGRATION_MAX_SECONDS", default=14 * 24 * 3600),
}
RESERVATION_STOREFRONT_MAX_QUANTITY = env_int("RESERVATION_STOREFRONT_MAX_QUANTITY", default=10)
# Where SMS may go (ISO 3166 regions of the number): France and its overseas regions
# and collectivities by default.
SMS_ALLOWED_REGIONS = env_list(
    "SMS_ALLOWED_REGIONS",
    default=["FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "WF", "PF", "NC"],
)
# How long a web process trusts the Django permissions it read for a member of staff
# (unicommerce/access/perms.py; 0: every request reads them).
ACCESS_PERMISSION_CACHE_SECONDS = env_float("ACCESS_PERMISSION_CACHE_SECONDS", default=5.0)
# How long a web process remembers the automatic promotions of a channel for cart reads
# (orders/pricing/offers.py; 0: every read reads them). Checkout always reads them fresh.
PRICING_OFFERS_CACHE_SECONDS = env_float("PRICING_OFFERS_CACHE_SECONDS", default=2.0)
# Manual discounts at the till: the most each role (its group, unicommerce/access/roles.py)
# gives alone, in percent of what the discount applies to
# (orders/services/cart_discounts.py); above it a manager approves.
MANUAL_DISCOUNT_CAPS = {
    "Sellers": env_float("MANUAL_DISCOUNT_CAP_SELLER", default=10.0),
    "Store managers": env_float("MANUAL_DISCOUNT_CAP_STORE_MANAGER", default=50.0),
    "Head office": env_float("MANUAL_DISCOUNT_CAP_HEAD_OFFICE", default=100.0),
}
# How many proxies in front of the web processes append to X-Forwarded-For (0: none, the
# client is the peer address). Per-IP limits count by the address this yields.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", default=0)

# --- Auth
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "pos:login"
# django-axes: a username and address that fail AXES_FAILURE_LIMIT log-ins in a row wait
# AXES_COOLOFF_MINUTES (admin and POS alike); counted in the Redis cache, so no table of
# addresses and usernames to prune. The address is the client's (TRUSTED_PROXY_COUNT).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "unicommerce.access.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "unicommerce.access.lockout.lockout_client_ip"
AXES_VERBOSE = False
LOGIN_REDIRECT_URL = "pos:home"
LOGOUT_REDIRECT_URL = "pos:login"

# --- I18N: French and English, amounts formatted for the active locale.
LANGUAGE_CODE = env_str("DJANGO_LANGUAGE_CODE", default="fr")
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"
FORMAT_MODULE_PATH = ["unicommerce.formats"]
DEFAULT_CURRENCY = "EUR"
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "FR")

# --- Static files, served by WhiteNoise (the Swagger UI assets included: no CDN).
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "unicommerce" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Media: uploaded files (product images) through Django's storage API (docs/media.md).
# A folder by default. S3-compatible storage by naming a backend and its options, e.g.
# STORAGE_BACKEND=storages.backends.s3.S3Storage (django-storages, installed by that
# deployment) and STORAGE_OPTIONS='{"bucket_name": "…", "custom_domain": "…"}'. Web and
# workers must share it (workers write the thumbnails).
MEDIA_ROOT = env_str("MEDIA_ROOT", default=str(BASE_DIR / ".devdata" / "media"))
MEDIA_URL = env_str("MEDIA_URL", default="/media/")
STORAGES["default"] = {
    "BACKEND": env_str("STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
    "OPTIONS": env_json("STORAGE_OPTIONS", default={}),
}
# Django itself answers MEDIA_URL (development, tests, a one-machine demo); in production
# the storage's own server or CDN does.
SERVE_MEDIA = env_bool("SERVE_MEDIA", default=False)
# Uploads refused above these (a decompression bomb is small on disk, huge in memory).
PRODUCT_IMAGE_MAX_BYTES = env_int("PRODUCT_IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
PRODUCT_IMAGE_MAX_PIXELS = env_int("PRODUCT_IMAGE_MAX_PIXELS", default=40_000_000)
# Widths of the thumbnails made of each picture (WebP), for srcset.
PRODUCT_IMAGE_THUMBNAIL_WIDTHS = (160, 480, 1024)

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "unicommerce.api.negotiation.JsonFallbackNegotiation",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "unicommerce.api.authentication.ApiKeyAuthentication",
        "customers.api.authentication.CustomerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every view asks the one permission table, and counts its rate limits.
    "DEFAULT_PERMISSION_CLASSES": ["unicommerce.access.drf.TablePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["unicommerce.access.drf.TableThrottle"],
    "DEFAULT_PAGINATION_CLASS": "unicommerce.api.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "unicommerce.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}
# A web process remembers an API key it found live for this long (0: never), so a
# revoked key still works in the other processes for up to this many seconds.
API_KEY_CACHE_SECONDS = env_float("API_KEY_CACHE_SECONDS", default=5.0)
SPECTACULAR_SETTINGS = {
    "TITLE": "Unicommerce API",
    "DESCRIPTION": (
        "One API for every sales channel: catalog, stock, carts, orders, payments. "
        "Channels authenticate with `Authorization: Bearer <channel API key>`. "
        'Every error has the shape `{"error": {"code", "message", "details"}}`; the '
        "message is in French when `Accept-Language` asks for `fr`, in English otherwise, "
        "and the code is the same in every language."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its UI are public, but through the one permission table too.
    "SERVE_PERMISSIONS": ["unicommerce.access.drf.TablePermission"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set used by several serializers.
    "ENUM_NAME_OVERRIDES": {
        "FulfilmentEnum": "orders.models.Fulfilment",
        "ReturnReasonEnum": "orders.models.ReturnLine.Reason",
        "OrderStatusEnum": "orders.models.Order.Status",
        "PaymentStatusEnum": "orders.models.Order.PaymentStatus",
        "ConsentKindEnum": "customers.models.Consent.Kind",
    },
}

# --- Robust input (unicommerce/api/middleware.py, unicommerce/converters.py): ids in API
# addresses are <id:…> (1 to 2^63-1), documented as such; a CSRF refusal under /api/ is
# the API's JSON error; every operation documents the 400 and the 404 the layers in
# front of its view can answer (unicommerce/api/schema.py).
SPECTACULAR_SETTINGS["PATH_CONVERTER_OVERRIDES"] = {
    "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
}
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "unicommerce.api.schema.document_common_errors",
]
CSRF_FAILURE_VIEW = "unicommerce.api.errors.csrf_failure"

# --- Outbox relay
OUTBOX_SWEEP_AFTER_SECONDS = env_int("OUTBOX_SWEEP_AFTER_SECONDS", default=5)
OUTBOX_KEEP_DAYS = env_int("OUTBOX_KEEP_DAYS", default=7)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Tokens in URLs (/pay/<token>/, /api/v1/carts/<token>/) never reach a log line.
    "filters": {"secrets": {"()": "unicommerce.logsafe.SecretMaskingFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},  # one line per webhook call otherwise
        "axes": {"level": "WARNING"},  # a line per log-in otherwise
    },
}

SESSION_COOKIE_AGE = 60 * 60 * 12  # one selling day
# Sessions read from Redis (written through to PostgreSQL, which keeps them over a Redis
# restart): every request of a till reads its session, its live panels every second.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# The till's sessions and cash (pos.sessions). Amounts are strings read as Decimal.
# A cash move (float, bank drop, expense, correction) of more than this, in or out,
# needs a manager's approval on the till.
POS_CASH_MOVE_APPROVAL_ABOVE = env_str("POS_CASH_MOVE_APPROVAL_ABOVE", default="100.00")
# A closing whose counted total differs from the expected by more than this, in any
# tender, needs a manager's approval with a comment; per register code, overriding it:
# POS_CLOSING_TOLERANCE_PER_REGISTER='{"paris-1": "2.00"}'.
POS_CLOSING_TOLERANCE = env_str("POS_CLOSING_TOLERANCE", default="5.00")
POS_CLOSING_TOLERANCE_PER_REGISTER = env_json("POS_CLOSING_TOLERANCE_PER_REGISTER", default={})
# A session open longer than this is too old (it must be closed before selling on).
POS_SESSION_MAX_HOURS = env_int("POS_SESSION_MAX_HOURS", default=24)
# Blind count at closing: the seller counts without seeing the expected figures; for every
# register, or per register code: POS_BLIND_COUNT_PER_REGISTER='{"paris-1": true}'.
POS_BLIND_COUNT = env_bool("POS_BLIND_COUNT", default=False)
POS_BLIND_COUNT_PER_REGISTER = env_json("POS_BLIND_COUNT_PER_REGISTER", default={})
# The running software version in the technical events log after each migrate (docs/fiscal.md).
POS_JOURNAL_SOFTWARE_VERSION = env_bool("POS_JOURNAL_SOFTWARE_VERSION", default=True)

# --- Privacy: how long data is kept (docs/privacy.md; the beat jobs *_prune). The
# defaults follow the CNIL's guidance for a French retailer: keep what serves a purpose
# for that purpose only (RGPD art. 5-1-e), with the accounting kept elsewhere for its 10
# years (orders, payments and their ledgers are never pruned here).
# Messages sent or failed: 90 days answers a customer's "did you text me?" and an SMS
# provider's billing query; what a message was about stays in the order's timeline.
MESSAGE_KEEP_DAYS = env_int("MESSAGE_KEEP_DAYS", default=90)
# Carts never checked out (expired, merged or abandoned): 30 days after their last
# change, the CNIL's usual span for a prospect's basket with no purchase.
CART_KEEP_DAYS = env_int("CART_KEEP_DAYS", default=30)
# Sign-in codes used or expired, and access tokens expired or revoked: a week for a
# security investigation of a suspicious sign-in, then nothing is gained by keeping them.
LOGIN_CODE_KEEP_DAYS = env_int("LOGIN_CODE_KEEP_DAYS", default=7)
# Idempotency-Key records: clients retry within minutes; a day past a weekend's outage.
IDEMPOTENCY_KEEP_DAYS = env_int("IDEMPOTENCY_KEEP_DAYS", default=7)
# Provider webhooks: the providers retry for up to 3 days and a dispute is opened within
# 120 days of the payment (card schemes); the payment ledger keeps amounts beyond that.
PROVIDER_EVENT_KEEP_DAYS = env_int("PROVIDER_EVENT_KEEP_DAYS", default=120)
CELERY_BEAT_SCHEDULE.update(
    {
        "messages-prune": {"task": "messaging.prune", "schedule": crontab(minute=10, hour=3)},
        "carts-prune": {"task": "orders.carts_prune", "schedule": crontab(minute=20, hour=3)},
        "login-codes-prune": {
            "task": "customers.login_codes_prune",
            "schedule": crontab(minute=30, hour=3),
        },
        "idempotency-records-prune": {
            "task": "api.idempotency_records_prune",
            "schedule": crontab(minute=40, hour=3),
        },
        "provider-events-prune": {
            "task": "payments.provider_events_prune",
            "schedule": crontab(minute=50, hour=3),
        },
        # Loyalty points past their validity (loyalty.tasks), after the night's prunes.
        "points-expire": {"task": "loyalty.points_expire", "schedule": crontab(minute=5, hour=4)},
    }
)
