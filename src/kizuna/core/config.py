"""Settings read from the environment, validated once, with safe defaults.

Every problem is raised as :class:`ConfigError` with one line that says what to fix.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kizuna.core.money import UnknownCurrency, check_currency
from kizuna.core.revenue_rules import RevenueRules, RulesError, read_rules_file

SUPPORTED_LANGUAGES = ("ja", "en")
SUPPORTED_DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")

# Targets and thresholds the dashboards draw and filter by; the defaults are the seeds'
# recommendations (GRR ≥ 90 %, NRR ≥ 110 %, NPS ≥ +30, risk below a health score of 60).
DASHBOARD_DEFAULTS: dict[str, Decimal] = {
    "KIZUNA_TARGET_GRR": Decimal("0.90"),
    "KIZUNA_TARGET_NRR": Decimal("1.10"),
    "KIZUNA_TARGET_NPS": Decimal("30"),
    "KIZUNA_RISK_SCORE": Decimal("60"),
    "KIZUNA_RENEWAL_WINDOW_DAYS": Decimal("90"),
    "KIZUNA_RISK_INACTIVE_DAYS": Decimal("30"),
}


class ConfigError(Exception):
    """A setting is wrong; the message names the variable and what to do."""


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    currency: str
    time_zone: str
    language: str
    secret_key: str
    debug: bool
    allowed_hosts: tuple[str, ...]
    dashboard: dict[str, Decimal] = field(default_factory=dict)
    revenue_rules: RevenueRules = field(default_factory=RevenueRules)


def _data_dir(env: dict[str, str]) -> Path:
    default = Path.cwd() / "var"
    path = Path(env.get("KIZUNA_DATA_DIR", str(default))).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"KIZUNA_DATA_DIR={path} cannot be created: {error.strerror}") from None
    return path


def _secret_key(env: dict[str, str], data_dir: Path) -> str:
    if env.get("KIZUNA_SECRET_KEY"):
        return env["KIZUNA_SECRET_KEY"]
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _database_url(env: dict[str, str], data_dir: Path) -> str:
    url = env.get("KIZUNA_DATABASE_URL") or f"sqlite:///{data_dir / 'kizuna.sqlite3'}"
    scheme = url.split(":", 1)[0].lower()
    if scheme not in SUPPORTED_DATABASE_SCHEMES:
        raise ConfigError(
            f"KIZUNA_DATABASE_URL scheme {scheme!r} is not supported: "
            "use sqlite:///path/to/file.sqlite3 or postgresql://user:password@host:5432/name"
        )
    return url


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean: use true or false")


def _dashboard(env: dict[str, str]) -> dict[str, Decimal]:
    values = dict(DASHBOARD_DEFAULTS)
    for name in [*DASHBOARD_DEFAULTS, "KIZUNA_IMPACT_MIN_MRR"]:
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ConfigError(f"{name}={text!r} is not a number") from None
        if not value.is_finite() or value < 0:
            raise ConfigError(f"{name}={text!r} must be a number of at least 0")
        values[name] = value
    return values


def _revenue_rules(env: dict[str, str]) -> RevenueRules:
    """The store-wide revenue rules: a TOML file named by ``KIZUNA_REVENUE_RULES``."""
    text = env.get("KIZUNA_REVENUE_RULES", "").strip()
    if not text:
        return RevenueRules()
    try:
        return read_rules_file(Path(text).expanduser())
    except RulesError as error:
        raise ConfigError(f"KIZUNA_REVENUE_RULES: {'; '.join(error.problems)}") from None


def load_config(environ: dict[str, str] | None = None) -> Config:
    env = dict(os.environ if environ is None else environ)
    data_dir = _data_dir(env)
    try:
        currency = check_currency(env.get("KIZUNA_CURRENCY", "JPY"))
    except UnknownCurrency as error:
        raise ConfigError(f"KIZUNA_CURRENCY: {error}") from None
    time_zone = env.get("KIZUNA_TIME_ZONE", "Asia/Tokyo")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"KIZUNA_TIME_ZONE={time_zone!r} is not a known time zone: use e.g. Asia/Tokyo or UTC"
        ) from None
    language = env.get("KIZUNA_LANGUAGE", "ja")
    if language not in SUPPORTED_LANGUAGES:
        raise ConfigError(f"KIZUNA_LANGUAGE={language!r} is not supported: use ja or en")
    hosts = tuple(
        host.strip()
        for host in env.get("KIZUNA_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
        if host.strip()
    )
    return Config(
        data_dir=data_dir,
        database_url=_database_url(env, data_dir),
        currency=currency,
        time_zone=time_zone,
        language=language,
        secret_key=_secret_key(env, data_dir),
        debug=_flag(env, "KIZUNA_DEBUG", default=False),
        allowed_hosts=hosts,
        dashboard=_dashboard(env),
        revenue_rules=_revenue_rules(env),
    )
