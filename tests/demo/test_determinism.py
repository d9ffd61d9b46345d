from __future__ import annotations

from datetime import date

from kizuna.demo.generate import DemoOptions, generate

TINY = DemoOptions(accounts=40, months=12, seed=3, usage_days=60, as_of=date(2025, 3, 31))


def test_same_seed_gives_identical_tables() -> None:
    first = generate(TINY)
    second = generate(TINY)
    for (name, table), (_, again) in zip(first.items(), second.items(), strict=True):
        assert table.equals(again), name


def test_another_seed_gives_other_data() -> None:
    first = generate(TINY)
    other = generate(DemoOptions(accounts=40, months=12, seed=4, usage_days=60, as_of=TINY.as_of))
    assert not first.subscriptions.equals(other.subscriptions)
