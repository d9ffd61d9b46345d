from decimal import Decimal
from pathlib import Path

import pytest

from kizuna.core.config import ConfigError, load_config


def test_defaults(tmp_path: Path) -> None:
    config = load_config({"KIZUNA_DATA_DIR": str(tmp_path)})
    assert config.currency == "JPY"
    assert config.time_zone == "Asia/Tokyo"
    assert config.language == "ja"
    assert config.database_url == f"sqlite:///{tmp_path / 'kizuna.sqlite3'}"
    assert config.debug is False


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_config({"KIZUNA_DATA_DIR": str(tmp_path)}).secret_key
    second = load_config({"KIZUNA_DATA_DIR": str(tmp_path)}).secret_key
    assert len(first) >= 50
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("KIZUNA_CURRENCY", "YEN", "KIZUNA_CURRENCY: unknown currency 'YEN'"),
        ("KIZUNA_TIME_ZONE", "Tokyo", "KIZUNA_TIME_ZONE='Tokyo' is not a known time zone"),
        ("KIZUNA_LANGUAGE", "fr", "KIZUNA_LANGUAGE='fr' is not supported"),
        ("KIZUNA_DATABASE_URL", "mysql://x/y", "scheme 'mysql' is not supported"),
        ("KIZUNA_DEBUG", "maybe", "KIZUNA_DEBUG='maybe' is not a boolean"),
    ],
)
def test_bad_settings_say_what_to_fix(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({"KIZUNA_DATA_DIR": str(tmp_path), variable: value})
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_currency_is_normalised(tmp_path: Path) -> None:
    assert (
        load_config({"KIZUNA_DATA_DIR": str(tmp_path), "KIZUNA_CURRENCY": "usd"}).currency == "USD"
    )


def test_dashboard_targets_default_to_the_seed_values(tmp_path: Path) -> None:
    dashboard = load_config({"KIZUNA_DATA_DIR": str(tmp_path)}).dashboard
    assert dashboard["KIZUNA_TARGET_GRR"] == Decimal("0.90")
    assert dashboard["KIZUNA_TARGET_NRR"] == Decimal("1.10")
    assert "KIZUNA_IMPACT_MIN_MRR" not in dashboard


def test_dashboard_targets_can_be_set_and_are_checked(tmp_path: Path) -> None:
    env = {"KIZUNA_DATA_DIR": str(tmp_path), "KIZUNA_TARGET_NRR": "1.2"}
    assert load_config(env).dashboard["KIZUNA_TARGET_NRR"] == Decimal("1.2")
    with pytest.raises(ConfigError, match="KIZUNA_RISK_SCORE='high' is not a number"):
        load_config({"KIZUNA_DATA_DIR": str(tmp_path), "KIZUNA_RISK_SCORE": "high"})
