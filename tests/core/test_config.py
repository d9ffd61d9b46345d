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
