"""Scorecard TOML: presets load, round-trip exactly, and errors name the field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kizuna.health.scorecards import (
    PRESETS,
    ScorecardError,
    dumps_scorecard,
    load_preset,
    load_scorecard,
    scorecard_from_dict,
    scorecard_to_dict,
)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_round_trips_through_toml(name: str, tmp_path: Path) -> None:
    scorecard = load_preset(name)
    path = tmp_path / "card.toml"
    path.write_text(dumps_scorecard(scorecard), encoding="utf-8")
    assert load_scorecard(path) == scorecard


def test_preset_a_is_the_seed_card() -> None:
    card = load_preset("A")
    assert card.method == "points"
    assert {c.name: c.weight for c in card.components} == {
        "login_frequency": 25,
        "core_features": 20,
        "nps": 15,
        "cs_meetings": 10,
        "days_to_renewal": 15,
        "upsell_signals": 15,
    }
    assert [(s.name, s.min_score, s.color) for s in card.statuses] == [
        ("healthy", 80, "green"),
        ("caution", 60, "yellow"),
        ("risk", 40, "orange"),
        ("critical", 0, "red"),
    ]


def test_preset_b_weights_sum_to_one() -> None:
    card = load_preset("B")
    assert {c.name: c.weight for c in card.components} == {
        "usage": 0.40,
        "nps": 0.20,
        "support": 0.15,
        "renewal_timing": 0.15,
        "expansion": 0.10,
    }


def broken(change: dict[str, object], component: dict[str, object] | None = None) -> str:
    data = scorecard_to_dict(load_preset("B"))
    data.update(change)
    if component is not None:
        data["components"][0].update(component)
    with pytest.raises(ScorecardError) as error:
        scorecard_from_dict(data)
    return str(error.value)


def test_errors_name_the_field() -> None:
    assert broken({"method": "median"}).startswith("method: must be one of points, weighted")
    assert broken({}, {"measure": "logins"}).startswith("components[0].measure: unknown measure")
    assert broken({}, {"weight": -1}) == "components[0].weight: must be > 0"
    assert broken({}, {"params": {"window": 3}}) == (
        "components[0].params: active_user_rate has no parameter 'window'"
    )
    assert broken({}, {"bands": [{"points": 10}, {"min": 5, "points": 100}]}) == (
        "components[0].bands[0].min: only the last band may omit 'min'"
    )
    assert broken({}, {"colour": "red"}) == "components[0].colour: unknown field"
    assert broken({"min_coverage": 2}) == "min_coverage: must be between 0 and 1"


def test_points_method_weight_must_equal_top_points() -> None:
    data = scorecard_to_dict(load_preset("A"))
    data["components"][0]["weight"] = 30
    with pytest.raises(ScorecardError, match=r"components\[0\]\.weight: with method 'points'"):
        scorecard_from_dict(data)


def test_category_must_be_one_the_measure_gives(tmp_path: Path) -> None:
    data = scorecard_to_dict(load_preset("B"))
    data["components"][2]["bands"][0]["category"] = "angry"
    with pytest.raises(ScorecardError, match=r"components\[2\]\.bands\[0\]\.category"):
        scorecard_from_dict(data)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nmethod = ', encoding="utf-8")
    with pytest.raises(ScorecardError, match=r"bad\.toml: not valid TOML"):
        load_scorecard(path)
    assert tomllib.loads(dumps_scorecard(load_preset("simple")))["method"] == "weighted"
