"""Settings shared by every environment.

Everything is read from the environment (django-environ). The defaults give a working local system
with nothing installed: an SQLite file, django-q2 on the ORM broker and a local-memory cache.
"""

import datetime as dt
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env file beside manage.py is optional; real deployments set variables in the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # django.contrib.admin, its default site answering bad parameters in any admin address without a 500.
    "backoffice.apps.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # The OpenAPI schema of every endpoint (/api/schema/) and its Swagger UI (/api/docs/), whose assets
    # the sidecar app serves from our own static files: the docs page loads nothing from another host.
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    # Optional TOTP two-factor for staff, required of the groups in ADMIN_2FA_REQUIRED_GROUPS (accounts/twofactor/).
    "django_otp",
    "accounts.twofactor.apps.TOTPConfig",  # django_otp.plugins.otp_totp, named for the admin's index
    # The content security policy of every page (CONTENT_SECURITY_POLICY below).
    "csp",
    "tariffs",
    "stations",
    "chargers",
    "orders",
    "integrations",
    # The counterparties: one line enables one (integrations/README.md).
    "integrations.tomda.apps.TomdaConfig",
    "integrations.wanzhuang.apps.WanzhuangConfig",
    "integrations.fourpyun.apps.FourpyunConfig",
    "integrations.partner.apps.PartnerConfig",
    # Failed admin logins counted and locked out, and every login, logout and failed login recorded (django-axes,
    # shown and unlocked in the admin by accounts/logins/). Before `accounts`, whose receivers read axes' record.
    "axes",
    # Staff accounts: the second factor (accounts/twofactor/), lockouts and login records (accounts/logins/).
    "accounts",
    # Field-level history of what people edit (django-simple-history); `audit` holds the users' and groups'
    # history and re-registers their admin with it, so it comes after every app that registers an admin for them.
    "simple_history",
    "audit",
]

MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",
    "integrations.inbox.middleware.PushReceiverMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Permissions-Policy everywhere, and no-store on admin pages (backoffice/security.py).
    "backoffice.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The user of the request is the author of every history record it writes (backoffice/history.py).
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Every admin page asks for the second factor first when the user has one or must have one.
    "accounts.twofactor.middleware.AdminTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes wants: it turns a login refused for a lockout into the lockout page (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

# axes' backend first: it refuses a locked-out user name and address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task cluster write to the same file; wait for the lock instead of failing.
    # IMMEDIATE takes the write lock when a transaction begins, so a reader never fails on upgrading to a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-q2: the ORM broker needs nothing installed; REDIS_URL moves the queue to Redis so any number
# of worker machines can share it. Delivery guarantees live in the outbox, not in the broker.
Q_CLUSTER = {
    "name": "charging",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=120),
    "retry": env.int("Q_RETRY", default=180),
    "max_attempts": 1,
    "catch_up": False,
    "label": _("Tasks"),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [
    ("zh-hans", "简体中文"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# Files the back office writes (finance's exports). Never served as static files: the admin hands each
# export out only to a user with the permission.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))

# History of what people edit (backoffice/history.py). Read on each object's history page, never restored from it:
# restoring would write an old version back past the rules of the services and forms. A change reason is text of
# any length (a tariff's publication note is kept as the reason of the template's record).
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Messages live in the server-side session, never in a cookie: one of them shows a partner's new secret, once.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The back office's own stylesheets (static/), beside the apps' static files.
STATICFILES_DIRS = [BASE_DIR / "static"]

# Two-factor for staff (accounts/twofactor/): any staff user may add a TOTP authenticator; the members of these
# groups (and superusers, when ADMIN_2FA_REQUIRED_FOR_SUPERUSERS is on) must, before any admin page opens.
ADMIN_2FA_REQUIRED_GROUPS = env.list("ADMIN_2FA_REQUIRED_GROUPS", default=[])
ADMIN_2FA_REQUIRED_FOR_SUPERUSERS = env.bool("ADMIN_2FA_REQUIRED_FOR_SUPERUSERS", default=False)
# A sign-in, with its second factor, lasts a working day; then the password (and the code) again.
SESSION_COOKIE_AGE = env.int("SESSION_HOURS", default=12) * 3600
# The account's name in the authenticator app: "<issuer>:<username>".
OTP_TOTP_ISSUER = env("ADMIN_2FA_ISSUER", default="充电后台")
# After each wrong code the next is refused for 1, 2, 4, 8, ... seconds (this factor times 2^(failures-1)),
# the right one too: guessing six digits takes years.
OTP_TOTP_THROTTLE_FACTOR = env.int("ADMIN_2FA_THROTTLE_FACTOR", default=1)
# django-otp's own device admin is replaced by ours, which never shows a secret.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Content security policy (django-csp) of every page: nothing from another host, no inline script or style, no
# eval. The admin and the API docs (drf-spectacular-sidecar) load their scripts and stylesheets from our static
# files; charts and the enrolment QR code are inline SVG elements, styled by classes. `data:` images are Django's
# and Swagger UI's stylesheet icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# What SecurityMiddleware and XFrameOptionsMiddleware send, said here rather than left to Django's defaults.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    # Our rules' and the vendors' refusals answered in the operator's words (backoffice/api.py).
    "EXCEPTION_HANDLER": "backoffice.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI document at /api/schema/ and its Swagger UI at /api/docs/, both public: they describe
# what partners and vendors already have in their documents, and hold no secret.
SPECTACULAR_SETTINGS = {
    "TITLE": "Charging back office API",
    "DESCRIPTION": (
        "The HTTP interfaces the charging back office serves: the partner platform's interface "
        "(`/api/partner/v1/<name>`) and the endpoints vendor clouds push to (`/integrations/...`). "
        "Each speaks its counterparty's protocol and envelope, described with each operation."
    ),
    "VERSION": "1.0.0",
    # The schema's own endpoints are not part of the API they describe.
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise show a badge fetched from validator.swagger.io, posting our schema's URL there.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "TAGS": [
        {"name": "partner", "description": "The 2017 pile-operator interface we serve to partner platforms."},
        {"name": "vendor push", "description": "What vendor clouds push to us: stored first, then answered "
                                              "in the vendor's own envelope."},
        {"name": "operations", "description": "What the infrastructure calls."},
    ],
    # The partner interface's choice sets under names of their own (the stub's and the gun's status share one
    # set, which drf-spectacular would otherwise name twice, with a warning).
    "ENUM_NAME_OVERRIDES": {
        f"Partner{name}Enum": f"integrations.partner.schema.{choices}_CHOICES"
        for name, choices in [("StubStatus", "STUB_STATUS"), ("OrderStatus", "ORDER_STATUS"),
                              ("StubGroupType", "STUB_GROUP_TYPE"), ("StubType", "STUB_TYPE"),
                              ("ChargeType", "CHARGE_TYPE"), ("ParkingStatus", "PARKING_STATUS"),
                              ("ExistsGun", "EXISTS_GUN")]
    },
    # The vendor receivers are plain Django views (their bodies are the inbox's to store as they came):
    # integrations.openapi adds them to the schema after the enums are named.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integrations.openapi.vendor_push_paths",
        # The load balancers' /health/, answered by a middleware before any URL (config/health.py).
        "config.health.health_path",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# The receiver stores each push with a prepared statement on PostgreSQL; turn it off behind a connection
# pooler that cannot keep prepared statements (PgBouncer before 1.21, or without max_prepared_statements).
INBOX_PREPARED_INSERT = env.bool("INBOX_PREPARED_INSERT", default=True)

# The window around our clock a counterparty's times must fall in: a time further ahead or back is a
# garbled clock, refused at the edge with the field named (a charger that was offline for weeks may send
# its sessions late, so the window reaches back further than ahead).
INBOX_TIME_AHEAD_HOURS = env.int("INBOX_TIME_AHEAD_HOURS", default=24)
INBOX_TIME_BEHIND_DAYS = env.int("INBOX_TIME_BEHIND_DAYS", default=93)

# The tables that grow by tens of millions of rows a day (backoffice/partitions.py): on PostgreSQL one partition
# per business day, created PARTITION_DAYS_AHEAD days ahead; a day past its retention is dropped, or detached
# into the partition_archive schema ("detach") for an operator to dump. On SQLite, expired rows are deleted.
INBOX_RETENTION_DAYS = env.int("INBOX_RETENTION_DAYS", default=30)
SAMPLES_RETENTION_DAYS = env.int("SAMPLES_RETENTION_DAYS", default=400)
PARTITION_DAYS_AHEAD = env.int("PARTITION_DAYS_AHEAD", default=7)
PARTITION_EXPIRED_ACTION = env.str("PARTITION_EXPIRED_ACTION", default="drop")
# No session is priced that lasts longer than this: the pricing engine refuses it (and the admin's price
# preview with it) instead of spreading its energy over years of periods.
PRICING_MAX_SESSION_HOURS = env.int("PRICING_MAX_SESSION_HOURS", default=168)

# Load balancers (addresses or CIDR ranges) whose X-Forwarded-For names the real sender of a push;
# from any other peer the header is ignored, since anyone can write it.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Admin logins (django-axes; the pages are accounts/logins/). After AXES_FAILURE_LIMIT failed logins of one user name
# from one address, that user name is refused from that address, the right password too, for AXES_COOLOFF_MINUTES
# after the latest attempt (0: until a superuser unlocks it); a successful login clears the count. Per user name and
# address together: a guesser behind the load balancer locks out neither everybody at its address nor the user
# elsewhere, and trying many user names from one address gets each its own count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30)) or None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Each attempt while locked starts the period again, so guessing on does not wait the lock out.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
# The client's address as the push receivers see it: X-Forwarded-For only from TRUSTED_PROXIES, otherwise the peer.
AXES_CLIENT_IP_CALLABLE = "integrations.inbox.senders.sender_address"
# The locked-out user gets the admin's own page saying why, for how long and whom to ask (HTTP 429).
AXES_LOCKOUT_CALLABLE = "accounts.logins.views.lockout_response"
# Every failed login kept (the latest 1000 per user name), beside axes' record of each login and logout.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# axes' own admin pages are replaced by read-only ones for superusers (accounts/logins/admin.py).
AXES_ENABLE_ADMIN = False
# No banner at every start of every process; its log lines of a failed login still name the user and address.
AXES_VERBOSE = False
# A wrong second-factor code is a failed login too (accounts/twofactor/views.py); it is kept masked, as a password.
AXES_SENSITIVE_PARAMETERS = ["code"]

# The daily close. The previous business day's statements are built every night at this local time
# (HH:MM, Asia/Shanghai): late enough for the night's sessions to have ended and been settled.
STATEMENTS_BUILD_AT = env("STATEMENTS_BUILD_AT", default="04:30")
# An export of more orders than this runs as a task with its progress in the admin; a smaller one is
# streamed to the browser at once.
EXPORT_INLINE_MAX_ROWS = env.int("EXPORT_INLINE_MAX_ROWS", default=20_000)

# Tomda cloud (汤姆达). Off until TOMDA_BASE_URL, TOMDA_API_ID and TOMDA_API_KEY are set.
TOMDA_BASE_URL = env("TOMDA_BASE_URL", default="")  # e.g. https://sp.tom-da.com/Manage
TOMDA_API_ID = env("TOMDA_API_ID", default="")
TOMDA_API_KEY = env("TOMDA_API_KEY", default="")
TOMDA_CONNECT_TIMEOUT = env.float("TOMDA_CONNECT_TIMEOUT", default=5.0)
TOMDA_READ_TIMEOUT = env.float("TOMDA_READ_TIMEOUT", default=15.0)
# Refresh the access token this many seconds before Tomda's stated expiry.
TOMDA_TOKEN_REFRESH_MARGIN = env.int("TOMDA_TOKEN_REFRESH_MARGIN", default=300)
# Push verification (spec §5.1; its algorithm, appendix 6.1, is not published): see the README.
TOMDA_PUSH_VERIFIER = env("TOMDA_PUSH_VERIFIER", default="none")
TOMDA_PUSH_TOKEN = env("TOMDA_PUSH_TOKEN", default="")
TOMDA_PUSH_KEY = env("TOMDA_PUSH_KEY", default="")
# Addresses and CIDR ranges that may push (e.g. "203.0.113.7,198.51.100.0/24"); empty lets anyone push.
TOMDA_PUSH_ALLOWED_IPS = env.list("TOMDA_PUSH_ALLOWED_IPS", default=[])
# Ask Tomda for a session's progress when it has sent nothing for this long; close an ended session
# from Tomda's progress answer when its settlement push has not come this long after its last data.
TOMDA_POLL_AFTER_MINUTES = env.int("TOMDA_POLL_AFTER_MINUTES", default=5)
TOMDA_STUCK_AFTER_MINUTES = env.int("TOMDA_STUCK_AFTER_MINUTES", default=60)
# Our answer to QUERY_ORDER_BALANCE_INFO for a session started with no authorised amount (no limit):
# Tomda has no way to say "unlimited", and a charger ends a session whose balance it sees at 0.
# 99,999.99 yuan is more than any session costs and fits the int the document gives the field.
TOMDA_UNLIMITED_BALANCE_FEN = env.int("TOMDA_UNLIMITED_BALANCE_FEN", default=9_999_999)

# Wanzhuang open platform (万桩 wz-open). Off until WANZHUANG_BASE_URL, WANZHUANG_APP_ID and
# WANZHUANG_APP_SECRET are set. See the README for what its public pages leave open.
WANZHUANG_BASE_URL = env("WANZHUANG_BASE_URL", default="")  # e.g. https://dev-api-open.wanzhuangkj.com
WANZHUANG_APP_ID = env("WANZHUANG_APP_ID", default="")
WANZHUANG_APP_SECRET = env("WANZHUANG_APP_SECRET", default="")
WANZHUANG_CONNECT_TIMEOUT = env.float("WANZHUANG_CONNECT_TIMEOUT", default=5.0)
WANZHUANG_READ_TIMEOUT = env.float("WANZHUANG_READ_TIMEOUT", default=15.0)
# How the merchant key digests the sorted parameter string: "hmac-sha256" (HMAC with the key, the default)
# or "sha256" (the digest of the string followed by the key). Wanzhuang's pages do not say which.
WANZHUANG_SIGN_METHOD = env("WANZHUANG_SIGN_METHOD", default="hmac-sha256")
# Paths of the calls whose path the public pages do not show, by operation (JSON, e.g.
# '{"reboot": "/open/device/reboot"}'); the defaults are in integrations/wanzhuang/constants.py.
WANZHUANG_PATHS = env.json("WANZHUANG_PATHS", default={})
# Callbacks: addresses and CIDR ranges that may call back (empty: anyone), and whether a callback must be
# signed (a signature that is present is always checked). A callback settles sessions and spends card
# balances: turn the signature off only with an allow-list, should Wanzhuang turn out not to sign them.
WANZHUANG_CALLBACK_ALLOWED_IPS = env.list("WANZHUANG_CALLBACK_ALLOWED_IPS", default=[])
WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = env.bool("WANZHUANG_CALLBACK_SIGNATURE_REQUIRED", default=True)
# start_power `state` values that mean "charging began"; any other is the code of a failed start.
WANZHUANG_START_OK_STATES = env.list("WANZHUANG_START_OK_STATES", cast=int, default=[1])
# Wh in one unit of a finish_order's or a port's `eq_used` (1: it is Wh; 10: it is 0.01 kWh).
WANZHUANG_ENERGY_UNIT_WH = env.int("WANZHUANG_ENERGY_UNIT_WH", default=1)
# A start needs a prepaid `total_fee`: what a session with no authorised amount is started with, in fen,
# when its tariff has no maximum payment.
WANZHUANG_DEFAULT_TOTAL_FEE_FEN = env.int("WANZHUANG_DEFAULT_TOTAL_FEE_FEN", default=3000)
# Ask the port status of a live session quiet for this long; ask the callback log of a session whose
# finish callback has not come this long after its last news.
WANZHUANG_POLL_AFTER_MINUTES = env.int("WANZHUANG_POLL_AFTER_MINUTES", default=5)
WANZHUANG_FINISH_OVERDUE_MINUTES = env.int("WANZHUANG_FINISH_OVERDUE_MINUTES", default=30)

# 4pyun (P云), the parking platform that grants parking-fee reductions from our charging records. Off until
# FOURPYUN_BASE_URL, FOURPYUN_APP_ID and FOURPYUN_APP_SECRET are set; a station is synced once its 4pyun
# station UUID is set in the admin.
FOURPYUN_BASE_URL = env("FOURPYUN_BASE_URL", default="")  # https://api.4pyun.com (test: https://dev-api.4pyun.com)
FOURPYUN_APP_ID = env("FOURPYUN_APP_ID", default="")
FOURPYUN_APP_SECRET = env("FOURPYUN_APP_SECRET", default="")
FOURPYUN_CONNECT_TIMEOUT = env.float("FOURPYUN_CONNECT_TIMEOUT", default=5.0)
FOURPYUN_READ_TIMEOUT = env.float("FOURPYUN_READ_TIMEOUT", default=10.0)
# A charging session's progress record is sent at most this often (the first at once).
FOURPYUN_RECORD_PROGRESS_SECONDS = env.int("FOURPYUN_RECORD_PROGRESS_SECONDS", default=300)
# 4pyun does not document how it signs its pushes to us. Assumed: its open platform's form signature with our app
# secret, in a `sign` field. "if-present" verifies a push that carries `sign` and takes one without; "required"
# refuses one without; "off" checks none (for a sender behind an allow-list that signs otherwise).
FOURPYUN_PUSH_SIGNATURE = env("FOURPYUN_PUSH_SIGNATURE", default="if-present")
FOURPYUN_PUSH_ALLOWED_IPS = env.list("FOURPYUN_PUSH_ALLOWED_IPS", default=[])

# The partner interface we serve (the 2017 pile-operator interface at /api/partner/v1/). Partners, their secrets,
# callback URLs and stations are set in the admin; these are the rules every partner gets.
PARTNER_TOKEN_SECONDS = env.int("PARTNER_TOKEN_SECONDS", default=7200)
# After a secret is rotated, the one it replaced still gets tokens this long (unless the operator chose another
# time), so that the partner deploys the new one to its servers without an outage.
PARTNER_SECRET_OVERLAP_HOURS = env.int("PARTNER_SECRET_OVERLAP_HOURS", default=72)
# chargeStart's `time` (the partner's clock) may be this far from ours, either way.
PARTNER_START_TIME_WINDOW_SECONDS = env.int("PARTNER_START_TIME_WINDOW_SECONDS", default=300)
# The longest window checkChargeOrders answers.
PARTNER_CHECK_MAX_DAYS = env.int("PARTNER_CHECK_MAX_DAYS", default=31)
# A progress callback at most this often per order.
PARTNER_CALLBACK_PROGRESS_SECONDS = env.int("PARTNER_CALLBACK_PROGRESS_SECONDS", default=300)
PARTNER_CALLBACK_CONNECT_TIMEOUT = env.float("PARTNER_CALLBACK_CONNECT_TIMEOUT", default=5.0)
PARTNER_CALLBACK_READ_TIMEOUT = env.float("PARTNER_CALLBACK_READ_TIMEOUT", default=10.0)
# Final callbacks the outbox gave up on are sent again once a day for orders of this many days.
PARTNER_FINAL_CALLBACK_REDRIVE_DAYS = env.int("PARTNER_FINAL_CALLBACK_REDRIVE_DAYS", default=30)
# How long refused attempts to authenticate are kept in the failure log.
PARTNER_AUTH_FAILURE_KEEP_DAYS = env.int("PARTNER_AUTH_FAILURE_KEEP_DAYS", default=90)
# Calls per partner and interface (<count>/<s|m|h|d>), with ample headroom over the spec's rates (a partner with a
# thousand stations polling each every 15 minutes makes 67 syncStubInfo calls a minute); getToken and refused attempts
# to authenticate (authFailures) count per address.
PARTNER_RATES = {
    "getToken": "30/m",
    "authFailures": "30/m",
    "syncStubGroupInfo": "120/h",
    "syncStubInfo": "600/m",
    "getOrderInfo": "1200/m",
    "checkChargeOrders": "48/d",
    "chargeStart": "300/m",
    "chargeStop": "300/m",
    **env.json("PARTNER_RATES", default={}),
}
