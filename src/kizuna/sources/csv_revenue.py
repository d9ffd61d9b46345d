"""Revenue engine inputs from a folder of CSV files (formats in ``docs/import-format.md``).

Every file is validated completely before anything is computed: all problems of all files are
reported together as ``file:line: message``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kizuna.core.money import UnknownCurrency, check_currency
from kizuna.engine.revenue import PERIODS_PER_YEAR
from kizuna.engine.revenue_pipeline import RevenueInputs
from kizuna.sources.csv_reader import Column, InputError, decode, parse_rows, to_arrow

SUBSCRIPTIONS = "subscriptions.csv"
CUSTOMERS = "customers.csv"
FX_RATES = "fx_rates.csv"
SPEND = "spend.csv"
INVOICES = "invoices.csv"

_ZERO = Decimal(0)

SUBSCRIPTION_COLUMNS = [
    Column("customer_id"),
    Column("subscription_id"),
    Column("product"),
    Column("plan", required=False, nullable=True),
    Column("quantity", "decimal", required=False, default=Decimal(1), min_value=_ZERO),
    Column("unit_price", "decimal", min_value=_ZERO),
    Column("currency"),
    Column("interval", choices=tuple(PERIODS_PER_YEAR)),
    Column("interval_count", "int", required=False, default=1, min_value=1),
    Column("discount_percent", "decimal", required=False, default=_ZERO, min_value=_ZERO),
    Column("discount_amount", "decimal", required=False, default=_ZERO, min_value=_ZERO),
    Column("start_date", "date"),
    Column("end_date", "date", required=False, nullable=True),
    Column("trial_end_date", "date", required=False, nullable=True),
    Column("recurring", "bool", required=False, default=True),
    Column("canceled_at", "date", required=False, nullable=True),
]

CUSTOMER_COLUMNS = [
    Column("customer_id"),
    *(Column(name, nullable=True) for name in ("name", "country", "industry", "channel", "owner")),
    Column("employees", "int", nullable=True, min_value=0),
    Column("created_at", "datetime", nullable=True),
    *(
        Column(name, required=False, nullable=True)
        for name in ("cs_owner", "touch_tier", "lifecycle_stage")
    ),
]

FX_RATE_COLUMNS = [
    Column("date", "date"),
    Column("currency"),
    Column("rate", "decimal", min_value=_ZERO),
]

SPEND_COLUMNS = [
    Column("month", "month"),
    Column("channel"),
    Column("amount", "decimal", min_value=_ZERO),
    Column("currency"),
]

INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")

INVOICE_COLUMNS = [
    Column("invoice_id"),
    Column("customer_id"),
    Column("subscription_id", nullable=True),
    Column("issued_on", "date"),
    Column("due_on", "date", nullable=True),
    Column("paid_on", "date", required=False, nullable=True),
    Column("amount", "decimal", min_value=_ZERO),
    # The part of ``amount`` that is not recurring revenue (setup fees, prorations).
    Column("one_off_amount", "decimal", required=False, default=_ZERO, min_value=_ZERO),
    Column("tax", "decimal", required=False, default=_ZERO, min_value=_ZERO),
    Column("currency"),
    Column("status", choices=INVOICE_STATUSES),
]

Checker = Callable[[str, list[int], dict[str, list[Any]]], list[str]]


def read_revenue_folder(folder: Path) -> RevenueInputs:
    """Read ``subscriptions.csv`` and the optional customer, FX, spend and invoice files in
    ``folder`` as in-memory tables (a backend registers each once, on first use). Raises
    :class:`InputError` with every problem found."""
    if not folder.is_dir():
        raise InputError([f"{folder}: not a folder"])
    problems: list[str] = []
    tables: dict[str, pa.Table | None] = {}
    specs: list[tuple[str, list[Column], Checker, bool]] = [
        (SUBSCRIPTIONS, SUBSCRIPTION_COLUMNS, _check_subscriptions, True),
        (CUSTOMERS, CUSTOMER_COLUMNS, _no_checks, False),
        (FX_RATES, FX_RATE_COLUMNS, _check_fx_rates, False),
        (SPEND, SPEND_COLUMNS, _check_currency_column, False),
        (INVOICES, INVOICE_COLUMNS, _check_invoices, False),
    ]
    for name, columns, check, required in specs:
        path = folder / name
        if not path.exists():
            if required:
                problems.append(f"{name}:1: file not found in {folder}")
            tables[name] = None
            continue
        try:
            tables[name] = _read(path, columns, check)
        except InputError as error:
            problems += error.problems
    if problems:
        raise InputError(problems)

    def table(name: str) -> ir.Table | None:
        data = tables[name]
        return None if data is None else ibis.memtable(data)

    subscriptions = table(SUBSCRIPTIONS)
    assert subscriptions is not None
    return RevenueInputs(
        subscriptions=subscriptions,
        customers=table(CUSTOMERS),
        fx_rates=table(FX_RATES),
        spend=table(SPEND),
        invoices=table(INVOICES),
    )


def _read(path: Path, columns: list[Column], check: Checker) -> pa.Table:
    values, lines = parse_rows(path.name, decode(path.read_bytes()), columns)
    if "currency" in values:
        values["currency"] = [code.upper() if code else code for code in values["currency"]]
    problems = check(path.name, lines, values)
    if problems:
        raise InputError(problems)
    return to_arrow(values, columns)


def _no_checks(name: str, lines: list[int], values: dict[str, list[Any]]) -> list[str]:
    return []


def _check_currency_column(name: str, lines: list[int], values: dict[str, list[Any]]) -> list[str]:
    return [
        f"{name}:{line}: unknown currency {code!r} (not an ISO 4217 code)"
        for line, code in zip(lines, values["currency"], strict=True)
        if not _is_currency(code)
    ]


def _is_currency(code: str) -> bool:
    try:
        check_currency(code)
    except UnknownCurrency:
        return False
    return True


def _check_subscriptions(name: str, lines: list[int], values: dict[str, list[Any]]) -> list[str]:
    problems = _check_currency_column(name, lines, values)
    rows = zip(
        lines, values["discount_percent"], values["start_date"], values["end_date"], strict=True
    )
    for line, percent, start, end in rows:
        if percent > 100:
            problems.append(f"{name}:{line}: 'discount_percent' must be ≤ 100, got {percent}")
        if end is not None and end < start:
            problems.append(f"{name}:{line}: 'end_date' {end} is before 'start_date' {start}")
    return sorted(problems, key=_line_of)


def _check_invoices(name: str, lines: list[int], values: dict[str, list[Any]]) -> list[str]:
    problems = _check_currency_column(name, lines, values)
    for line, issued, due in zip(lines, values["issued_on"], values["due_on"], strict=True):
        if due is not None and due < issued:
            problems.append(f"{name}:{line}: 'due_on' {due} is before 'issued_on' {issued}")
    for line, amount, one_off in zip(
        lines, values["amount"], values["one_off_amount"], strict=True
    ):
        if one_off > amount:
            problems.append(
                f"{name}:{line}: 'one_off_amount' {one_off} is more than 'amount' {amount}"
            )
    return sorted(problems, key=_line_of)


def _check_fx_rates(name: str, lines: list[int], values: dict[str, list[Any]]) -> list[str]:
    problems = _check_currency_column(name, lines, values)
    seen: dict[tuple[Any, str], int] = {}
    for line, day, code, rate in zip(
        lines, values["date"], values["currency"], values["rate"], strict=True
    ):
        if rate == 0:
            problems.append(f"{name}:{line}: 'rate' must be > 0")
        key = (day, code)
        if key in seen:
            problems.append(
                f"{name}:{line}: a second {code} rate for {day} (the first is on line {seen[key]})"
            )
        seen.setdefault(key, line)
    return sorted(problems, key=_line_of)


def _line_of(problem: str) -> int:
    return int(problem.split(":", 2)[1])
