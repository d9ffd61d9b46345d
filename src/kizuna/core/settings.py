"""Django settings, all derived from :func:`kizuna.core.config.load_config`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.utils.translation import gettext_lazy as _

from kizuna.core.config import load_config

# Lets admin and other generic Django classes be subscripted in type hints at run time.
django_stubs_ext.monkeypatch()

CONFIG = load_config()
PACKAGE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = list(CONFIG.allowed_hosts)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "kizuna.sources",
    "kizuna.crm",
    "kizuna.billing",
    "kizuna.usage",
    "kizuna.pipeline",
    "kizuna.health",
    "kizuna.prediction",
    "kizuna.playbooks",
    "kizuna.demo",
    "kizuna.ingest",
    "kizuna.api",
    "kizuna.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kizuna.core.urls"
WSGI_APPLICATION = "kizuna.core.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kizuna.web.navigation.navigation",
            ],
        },
    },
]

DATABASES: dict[str, Any] = {
    "default": dj_database_url.parse(CONFIG.database_url, conn_max_age=60),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a recompute or import writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = CONFIG.language
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = CONFIG.time_zone

STATIC_URL = "static/"
STATIC_ROOT = CONFIG.data_dir / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

KIZUNA_CURRENCY = CONFIG.currency
KIZUNA_REVENUE_RULES = CONFIG.revenue_rules
KIZUNA_DATA_DIR = CONFIG.data_dir
KIZUNA_TARGET_GRR = CONFIG.dashboard["KIZUNA_TARGET_GRR"]
KIZUNA_TARGET_NRR = CONFIG.dashboard["KIZUNA_TARGET_NRR"]
KIZUNA_TARGET_NPS = CONFIG.dashboard["KIZUNA_TARGET_NPS"]
KIZUNA_RISK_SCORE = CONFIG.dashboard["KIZUNA_RISK_SCORE"]
KIZUNA_RENEWAL_WINDOW_DAYS = int(CONFIG.dashboard["KIZUNA_RENEWAL_WINDOW_DAYS"])
KIZUNA_RISK_INACTIVE_DAYS = int(CONFIG.dashboard["KIZUNA_RISK_INACTIVE_DAYS"])
KIZUNA_IMPACT_MIN_MRR = CONFIG.dashboard.get("KIZUNA_IMPACT_MIN_MRR")

# Without an SMTP server configured, e-mails are written as files under var/mail so nothing
# leaves the machine until a user sets it up.
if os.environ.get("KIZUNA_SMTP_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["KIZUNA_SMTP_HOST"]
    EMAIL_PORT = int(os.environ.get("KIZUNA_SMTP_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("KIZUNA_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("KIZUNA_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("KIZUNA_SMTP_TLS", "true").lower() in {"1", "true", "yes"}
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = CONFIG.data_dir / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("KIZUNA_FROM_EMAIL", "kizuna@localhost")
