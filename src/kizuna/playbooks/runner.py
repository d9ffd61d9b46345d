"""The playbook run: detect, match, cap, alert, act, escalate, log (SPEC W).

``run_playbooks(as_of)`` is what ``kizuna playbooks run`` and the daily job call:

1. **Detect** every signal, set-based in the engine (DuckDB), and store them for the day
   (:mod:`kizuna.playbooks.signal_store`); a dry run detects only those the enabled rules need.
2. **Match** each rule: its trigger's candidate rows joined with the account attributes and
   filtered by its conditions, in one query per rule.
3. **Cap**: an alert exists once per rule × account × occurrence; a rule's re-enrolment cap
   and the daily caps per owner keep people from drowning (most important matches first:
   high level, then high MRR).
4. **Alert and act**: each new alert and its actions in one transaction, the alert created
   under its unique constraint, so two runs at once act exactly once.
5. **Escalate** tasks past their deadline, wake snoozed alerts, close alerts whose tasks are
   done, send pending e-mails and chat messages.

Every run is a :class:`RunLog`, every enrolment decision and action an :class:`ActionLog`.
A dry run reads everything, writes nothing and prints what it would do.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.core.calendar import BusinessCalendar
from kizuna.core.row_updates import insert_new
from kizuna.crm.models import Account, TaskStatus
from kizuna.engine.backends import connect
from kizuna.engine.signals import SIGNAL_DETECTORS, applicable_detectors, signal_table
from kizuna.engine.signals_common import SignalInputs, SignalSettings
from kizuna.playbooks import actions, delivery
from kizuna.playbooks.action_types import ACTION_TYPES, ActionResult, ActionType
from kizuna.playbooks.conditions import apply_conditions
from kizuna.playbooks.context import (
    ActionContext,
    Match,
    RunState,
    calendar_from_settings,
    current_settings,
)
from kizuna.playbooks.labels import signal_label
from kizuna.playbooks.models import (
    ActionLog,
    Alert,
    Escalation,
    EscalationStatus,
    Outcome,
    Rule,
    RunLog,
    RunStatus,
)
from kizuna.playbooks.phases import PhaseClock
from kizuna.playbooks.recipients import People, resolve
from kizuna.playbooks.rules import RuleSpec
from kizuna.playbooks.signal_store import STORED_COUNT, store_signals
from kizuna.playbooks.store_inputs import StoreSnapshot
from kizuna.playbooks.triggers import TRIGGERS, Evaluation, Loader

# Alerts written per transaction, with all their actions: each action type writes a batch in a
# few statements, so larger batches amortise them; small enough that a concurrent run waits
# only briefly on the rows this run is inserting.
WRITE_BATCH = 500

# Capped matches named in the log line of their rule (the count covers them all).
CAPPED_SHOWN = 50

LEVEL_RANK = {"high": 0, "medium": 1, "low": 2}

# Matched accounts above which the caps read all accounts in one pass rather than by key.
SCAN_ACCOUNTS_ABOVE = 20_000

Loaders = dict[str, Loader]


@dataclass
class RunReport:
    as_of: date
    dry_run: bool
    counts: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)
    run_id: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Elapsed seconds of each phase of the run (they add up to ``total``)."""
    cpu_timings: dict[str, float] = field(default_factory=dict)
    """CPU seconds of the process in each phase (the engine's threads included)."""


@dataclass
class _Accepted:
    rule: Rule
    match: Match
    owner_id: int | None


def signal_settings(
    stored: dict[str, Any], calendar: BusinessCalendar | None = None
) -> SignalSettings:
    """The signal thresholds of the playbook settings (changes to the defaults, by name) and
    the company calendar business hours are counted on."""
    values: dict[str, Any] = {
        name: tuple(tuple(v) if isinstance(v, list) else v for v in value)
        if isinstance(value, list)
        else value
        for name, value in stored.items()
    }
    if calendar is not None:
        values["calendar"] = calendar
    return SignalSettings.from_mapping(values)


def needed_signals(rules: Iterable[Rule]) -> list[str]:
    names: dict[str, None] = {}
    for rule in rules:
        trigger = TRIGGERS.get(rule.trigger_kind)
        if trigger is not None:
            names.update(dict.fromkeys(trigger.signals(rule.trigger)))
    return [name for name in names if name in SIGNAL_DETECTORS]


def detect_for_rules(
    inputs: SignalInputs, as_of: date, settings: SignalSettings, names: Sequence[str]
) -> pa.Table | None:
    """The signals the rules need, detected in one engine query (None when none apply)."""
    runnable = [d.name for d in applicable_detectors(inputs, names)]
    if not runnable:
        return None
    backend = connect("duckdb")
    return backend.to_pyarrow(signal_table(inputs, as_of, settings, runnable))


def run_playbooks(
    as_of: date,
    dry_run: bool = False,
    *,
    now: datetime | None = None,
    rules: Sequence[Rule] | None = None,
    signal_inputs: SignalInputs | None = None,
    loaders: Loaders | None = None,
    out: Callable[[str], None] | None = None,
) -> RunReport:
    """Evaluate the enabled rules over the store as of ``as_of`` and act (or say what it would).

    ``signal_inputs`` and ``loaders`` replace what is read from the store (the benchmark feeds
    synthetic engine inputs this way); the store is still where alerts and tasks are written.
    The report's timings give each phase: ``prepare``, ``signal_inputs`` (read from the store),
    ``detect``, ``inputs`` (the other tables the rules read, loaded into the engine),
    ``match``, ``caps``, ``act`` (alerts and actions), ``store_signals``, ``follow_up``,
    ``finish`` and ``other`` (between them); they add up to ``total``.
    """
    clock = PhaseClock()
    report = RunReport(as_of=as_of, dry_run=dry_run)
    state: RunState | None = None

    def say(line: str) -> None:
        report.lines.append(line)
        if out is not None:
            out(line)

    try:
        # "other" keeps what falls between the phases, so that all of them add up.
        with clock.phase("other"):
            with clock.phase("prepare"):
                state, valid = _prepare(as_of, dry_run, now, rules, say, report)
            _evaluate_and_act(state, valid, signal_inputs, loaders, clock, say, report)
    except Exception as error:
        if state is not None and state.log is not None:
            state.log.status = RunStatus.FAILED
            state.log.message = f"{type(error).__name__}: {error}"
            state.log.finished_at = timezone.now()
            state.log.counts = dict(report.counts)
            state.log.save()
        raise
    assert state is not None
    with clock.phase("finish"):
        if state.log is not None:
            state.log.status = RunStatus.DONE
            state.log.finished_at = timezone.now()
            state.log.counts = dict(report.counts)
            state.log.message = f"{sum(clock.wall.values()):.1f} s"
            state.log.save()
        say(summary_line(report))
    report.timings.update(clock.wall)
    report.cpu_timings.update(clock.cpu)
    report.timings["total"] = sum(clock.wall.values())
    report.cpu_timings["total"] = sum(clock.cpu.values())
    return report


def _prepare(
    as_of: date,
    dry_run: bool,
    now: datetime | None,
    rules: Sequence[Rule] | None,
    say: Callable[[str], None],
    report: RunReport,
) -> tuple[RunState, list[Rule]]:
    """The run's state (settings, calendar, people, its log) and its valid rules in order."""
    settings = current_settings()
    state = RunState(
        as_of=as_of,
        now=now or timezone.now(),
        dry_run=dry_run,
        calendar=calendar_from_settings(settings),
        people=People.load(),
        settings=settings,
    )
    chosen = list(rules) if rules is not None else list(Rule.objects.filter(enabled=True))
    chosen.sort(key=lambda rule: (rule.priority, rule.key))
    valid: list[Rule] = []
    for rule in chosen:
        problems = RuleSpec.from_model(rule).problems()
        if problems:
            say(
                _("skipped invalid rule %(rule)s: %(problems)s")
                % {"rule": rule.key, "problems": "; ".join(problems)}
            )
            report.counts["invalid_rules"] += 1
        else:
            valid.append(rule)
    if not dry_run:
        state.log = RunLog.objects.create(
            as_of=as_of, started_at=state.now, status=RunStatus.RUNNING
        )
        report.run_id = state.log.pk
    return state, valid


def _evaluate_and_act(
    state: RunState,
    valid: Sequence[Rule],
    signal_inputs: SignalInputs | None,
    loaders: Loaders | None,
    clock: PhaseClock,
    say: Callable[[str], None],
    report: RunReport,
) -> None:
    as_of, dry_run = state.as_of, state.dry_run
    snapshot = StoreSnapshot(as_of)
    thresholds = signal_settings(state.settings.signal_settings, state.calendar)
    # A real run detects every signal, rule or no rule, and stores them for its day.
    names = needed_signals(valid) if dry_run else list(SIGNAL_DETECTORS)
    detection: list[pa.Table | None] = []

    def signals() -> pa.Table | None:
        if detection:
            return detection[0]
        if signal_inputs is not None:
            inputs = signal_inputs
        else:
            with clock.phase("signal_inputs"):
                inputs = snapshot.signal_inputs(thresholds)
        with clock.phase("detect"):
            detected = detect_for_rules(inputs, as_of, thresholds, names)
        report.counts["signals"] = 0 if detected is None else detected.num_rows
        detection.append(detected)
        return detected

    evaluation = Evaluation(
        as_of, thresholds, {**snapshot.loaders(signals), **(loaders or {})}, clock=clock
    )
    with clock.phase("match"):
        matches = {rule.pk: match_rule(rule, evaluation) for rule in valid}
    report.counts["matches"] = sum(0 if m is None else m.num_rows for m in matches.values())

    with clock.phase("caps"):
        accepted, decisions = apply_caps(valid, matches, state, report)
    with clock.phase("act"):
        if dry_run:
            _describe(accepted, state, say, report)
        else:
            _write(accepted, decisions, state, say, report)

    if not dry_run:
        with clock.phase("store_signals"):
            report.counts[STORED_COUNT] = store_signals(as_of, signals(), state.log)

    with clock.phase("follow_up"):
        escalate_overdue(state, say, report)
        if not dry_run:
            report.counts["snoozes_ended"] = actions.wake_snoozed_alerts(as_of)
            report.counts["alerts_closed"] = actions.close_alerts_with_done_tasks()
            sent, failed = delivery.deliver_pending()
            report.counts["delivered"] = sent
            report.counts["delivery_failed"] = failed


def summary_line(report: RunReport) -> str:
    counts = report.counts
    template = (
        _(
            "Dry run as of %(as_of)s: %(matches)s matches, would raise %(alerts)s alerts "
            "(%(already)s already raised, %(capped)s capped), would escalate %(escalated)s tasks."
        )
        if report.dry_run
        else _(
            "Run as of %(as_of)s: %(matches)s matches, %(alerts)s alerts raised "
            "(%(already)s already raised, %(capped)s capped), %(actions)s actions, "
            "%(escalated)s tasks escalated."
        )
    )
    return template % {
        "as_of": report.as_of.isoformat(),
        "matches": counts["matches"],
        "alerts": counts["alerts"],
        "already": counts["already"],
        "capped": counts["capped"],
        "actions": counts["actions"],
        "escalated": counts["escalated"],
    }


# --- matching ----------------------------------------------------------------------------------

MATCH_COLUMNS = ("customer_id", "signal", "level", "occurrence", "occurred_on", "detail", "mrr")


def match_rule(rule: Rule, evaluation: Evaluation) -> pa.Table | None:
    """The rule's trigger rows whose accounts meet its conditions, in one engine query
    (:data:`MATCH_COLUMNS`, ``customer_id`` as the account's key; None when it has no input)."""
    candidates = TRIGGERS[rule.trigger_kind].candidates(evaluation, dict(rule.trigger))
    accounts = evaluation.table("accounts")
    if candidates is None or accounts is None:
        return None
    joined = candidates.inner_join(accounts, "customer_id")
    joined = apply_conditions(joined, rule.conditions)
    found = evaluation.execute(joined.select(*MATCH_COLUMNS))
    ids = pc.cast(found.column("customer_id"), pa.int64())
    return found.set_column(0, "customer_id", ids)


def by_priority(found: pa.Table) -> pa.Table:
    """Matches most important first: high level, then high MRR (then account, occurrence)."""
    levels = pa.array(list(LEVEL_RANK), pa.string())
    keys = pa.table(
        {
            "rank": pc.fill_null(pc.index_in(found.column("level"), value_set=levels), 3),
            "mrr": pc.fill_null(found.column("mrr"), 0.0),
            "account": found.column("customer_id"),
            "occurrence": found.column("occurrence"),
        }
    )
    order = pc.sort_indices(
        keys,
        sort_keys=[
            ("rank", "ascending"),
            ("mrr", "descending"),
            ("account", "ascending"),
            ("occurrence", "ascending"),
        ],
    )
    return found.take(order)


def _match(row: dict[str, Any]) -> Match:
    return Match(
        account_id=row["customer_id"],
        signal=row["signal"],
        level=row["level"] or "",
        occurrence=row["occurrence"],
        occurred_on=row["occurred_on"],
        detail=json.loads(row["detail"]) if row["detail"] else {},
        mrr=row["mrr"],
    )


def _owner_accounts(ids: list[int]) -> dict[int, Account]:
    """The matched accounts, with the fields their owners are resolved from.

    When most accounts of a large store matched, one pass over the accounts costs less than
    looking them up by key (a statement per thousand keys on SQLite)."""
    accounts = Account.objects.only("pk", "name", "cs_owner_id", "owner_id")
    if len(ids) <= SCAN_ACCOUNTS_ABOVE:
        return accounts.in_bulk(ids)
    wanted = set(ids)
    return {a.pk: a for a in accounts.iterator(chunk_size=20000) if a.pk in wanted}


def apply_caps(
    rules: Sequence[Rule],
    matches: dict[int, pa.Table | None],
    state: RunState,
    report: RunReport,
) -> tuple[list[_Accepted], list[ActionLog]]:
    """Decide which matches become alerts: not yet alerted, and within every cap.

    Only the matches that become alerts are turned into :class:`Match` objects (most matches
    of a large store are already raised or held back by a cap)."""
    as_of = state.as_of
    found_tables = [found for found in matches.values() if found is not None and found.num_rows]
    account_ids = (
        pc.unique(pa.chunked_array([t.column("customer_id") for t in found_tables])).to_pylist()
        if found_tables
        else []
    )
    accounts = _owner_accounts(account_ids)
    per_owner_today: Counter[int | None] = Counter(
        dict(
            Alert.objects.filter(as_of=as_of)
            .values_list("owner_id")
            .annotate(n=Count("pk"))
            .values_list("owner_id", "n")
        )
    )
    global_cap = state.settings.daily_cap_per_owner
    accepted: list[_Accepted] = []
    decisions: list[ActionLog] = []
    for rule in rules:
        found = matches.get(rule.pk)
        if found is None or not found.num_rows:
            continue
        found = by_priority(found)
        existing = set(Alert.objects.filter(rule=rule).values_list("account_id", "occurrence"))
        recent: Counter[int] = Counter()
        if rule.max_enrolments:
            since = as_of - timedelta(days=rule.enrolment_window_days)
            recent.update(
                dict(
                    Alert.objects.filter(rule=rule, as_of__gt=since, as_of__lte=as_of)
                    .values_list("account_id")
                    .annotate(n=Count("pk"))
                    .values_list("account_id", "n")
                )
            )
        rule_today: Counter[int | None] = Counter(
            dict(
                Alert.objects.filter(rule=rule, as_of=as_of)
                .values_list("owner_id")
                .annotate(n=Count("pk"))
                .values_list("owner_id", "n")
            )
        )
        capped: dict[str, list[list[Any]]] = defaultdict(list)
        taken: list[int] = []
        owners: list[int | None] = []
        for index, (account_id, occurrence) in enumerate(
            zip(
                found.column("customer_id").to_pylist(),
                found.column("occurrence").to_pylist(),
                strict=True,
            )
        ):
            if (account_id, occurrence) in existing:
                report.counts["already"] += 1
                continue
            owner = resolve(rule.owner_role, accounts[account_id], state.people)
            reason = None
            if rule.max_enrolments and recent[account_id] >= rule.max_enrolments:
                reason = "re-enrolment cap"
            elif rule.daily_cap_per_owner and rule_today[owner] >= rule.daily_cap_per_owner:
                reason = "rule's daily cap per owner"
            elif global_cap and per_owner_today[owner] >= global_cap:
                reason = "daily cap per owner"
            if reason is not None:
                report.counts["capped"] += 1
                capped[reason].append([account_id, occurrence])
                continue
            existing.add((account_id, occurrence))
            recent[account_id] += 1
            rule_today[owner] += 1
            per_owner_today[owner] += 1
            taken.append(index)
            owners.append(owner)
        rows = found.take(pa.array(taken, pa.int64())).to_pylist()
        accepted.extend(
            _Accepted(rule, _match(row), owner) for row, owner in zip(rows, owners, strict=True)
        )
        # Capped matches come back every day while their signal lasts: one line per rule and
        # cap, with the first accounts held back, keeps the log readable and small.
        for reason, held in capped.items():
            decisions.append(
                actions.log_entry(
                    run=state.log,
                    rule=rule,
                    alert=None,
                    account_id=None,
                    action="match",
                    outcome=Outcome.CAPPED,
                    message=reason,
                    detail={"count": len(held), "first": held[:CAPPED_SHOWN]},
                    now=state.now,
                )
            )
    # One order for every run (rule, account, occurrence), so two runs at once take row locks
    # in the same order and never deadlock.
    accepted.sort(
        key=lambda a: (a.rule.priority, a.rule.key, a.match.account_id, a.match.occurrence)
    )
    return accepted, decisions


# --- acting ------------------------------------------------------------------------------------


def _heading(rule: Rule, match: Match, account: Account) -> str:
    return f"{rule.key} · {account.name} · {signal_label(match.signal)} ({match.occurrence})"


def _describe(
    accepted: Sequence[_Accepted], state: RunState, say: Callable[[str], None], report: RunReport
) -> None:
    accounts = Account.objects.in_bulk({a.match.account_id for a in accepted})
    for item in accepted:
        account = accounts[item.match.account_id]
        report.counts["alerts"] += 1
        say(_("would raise: %(alert)s") % {"alert": _heading(item.rule, item.match, account)})
        context = ActionContext(state, item.rule, account, item.match, alert=None)
        for params in item.rule.actions:
            action_type = ACTION_TYPES[params["type"]]
            say(f"  - {action_type.describe(context, _params(params))}")


def _params(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != "type"}


def _write(
    accepted: Sequence[_Accepted],
    decisions: list[ActionLog],
    state: RunState,
    say: Callable[[str], None],
    report: RunReport,
) -> None:
    insert_new(decisions)
    accounts = Account.objects.in_bulk({a.match.account_id for a in accepted})
    for start in range(0, len(accepted), WRITE_BATCH):
        batch = accepted[start : start + WRITE_BATCH]
        lines: list[str] = []
        with transaction.atomic():
            entries = _enrol_and_act(batch, accounts, state, lines, report)
            insert_new(entries)
        for line in lines:
            say(line)


def _enrol_and_act(
    batch: Sequence[_Accepted],
    accounts: dict[int, Account],
    state: RunState,
    lines: list[str],
    report: RunReport,
) -> list[ActionLog]:
    """Raise the batch's alerts in one insert, then run each rule's actions over its new
    alerts, one action at a time in the rule's order (so a summary sees the tasks opened
    before it). The log lines come out per alert, as if each alert were acted on alone."""
    assert state.log is not None
    alerts = actions.enrol_alerts(
        [actions.AlertCandidate(item.rule, item.match, item.owner_id) for item in batch],
        as_of=state.as_of,
        run=state.log,
        now=state.now,
    )
    by_rule: dict[int, list[ActionContext]] = defaultdict(list)
    raised: list[ActionContext] = []
    for item, alert in zip(batch, alerts, strict=True):
        if alert is None:
            report.counts["already"] += 1
            continue
        account = accounts[item.match.account_id]
        context = ActionContext(state, item.rule, account, item.match, alert=alert)
        by_rule[item.rule.pk].append(context)
        raised.append(context)
    results: dict[int, list[tuple[str, ActionResult]]] = defaultdict(list)
    for contexts in by_rule.values():
        for params in contexts[0].rule.actions:
            name = params["type"]
            outcomes = _run_action(ACTION_TYPES[name], contexts, _params(params))
            for context, result in zip(contexts, outcomes, strict=True):
                assert context.alert is not None
                results[context.alert.pk].append((name, result))
    entries: list[ActionLog] = []
    for context in raised:
        alert = context.alert
        assert alert is not None
        report.counts["alerts"] += 1
        lines.append(
            _("alert: %(alert)s")
            % {"alert": _heading(context.rule, context.match, context.account)}
        )
        entries.append(
            actions.log_entry(
                run=state.log,
                rule=context.rule,
                alert=alert,
                account_id=context.account.pk,
                action="match",
                outcome=Outcome.ENROLLED,
                detail={"signal": context.match.signal},
                now=state.now,
            )
        )
        for name, result in results[alert.pk]:
            report.counts["actions"] += 1
            report.counts[f"action_{result.outcome}"] += 1
            lines.append(f"  - {name}: {result.message} ({Outcome(result.outcome).label})")
            entries.append(
                actions.log_entry(
                    run=state.log,
                    rule=context.rule,
                    alert=alert,
                    account_id=context.account.pk,
                    action=name,
                    outcome=result.outcome,
                    message=result.message,
                    detail=result.detail,
                    now=state.now,
                )
            )
    return entries


def _run_action(
    action_type: ActionType, contexts: Sequence[ActionContext], params: dict[str, Any]
) -> list[ActionResult]:
    """One action over many alerts: in one go when the type has a batch form, else (or when
    the batch fails) alert by alert, each in a savepoint, so a failing action is logged
    against its own alert and never stops the others."""
    if action_type.run_many is not None:
        try:
            with transaction.atomic():
                return action_type.run_many(contexts, params)
        except Exception:  # retried one by one below, which records each failure
            pass
    results: list[ActionResult] = []
    for context in contexts:
        try:
            with transaction.atomic():
                result = action_type.run(context, params)
        except Exception as error:
            result = ActionResult(Outcome.FAILED, f"{type(error).__name__}: {error}")
        results.append(result)
    return results


# --- escalation --------------------------------------------------------------------------------


def escalate_overdue(state: RunState, say: Callable[[str], None], report: RunReport) -> None:
    """Tasks still open at the end of their escalation deadline go to the lead."""
    due = (
        Escalation.objects.filter(status=EscalationStatus.PENDING, deadline__lte=state.as_of)
        .select_related("task", "account", "alert")
        .order_by("deadline", "pk")
    )
    for escalation in due:
        task = escalation.task
        if task is None or task.status != TaskStatus.OPEN:
            if not state.dry_run:
                actions.resolve_escalation(escalation)
            report.counts["escalations_resolved"] += 1
            continue
        lead = resolve(escalation.to, escalation.account, state.people)
        title = _("Escalated: %(task)s (due %(due)s)") % {
            "task": task.title,
            "due": task.due_on.isoformat() if task.due_on else "—",
        }
        if state.dry_run:
            report.counts["escalated"] += 1
            say(_("would escalate: %(title)s") % {"title": title})
            continue
        body = _("Not done by %(deadline)s: %(task)s") % {
            "deadline": escalation.deadline.isoformat(),
            "task": task.title,
        }
        if actions.escalate(
            escalation,
            lead_id=lead,
            title=title,
            body=body,
            lead_task_due_on=state.calendar.add_business_days(state.as_of, 1),
            now=state.now,
        ):
            report.counts["escalated"] += 1
            say(_("escalated: %(title)s") % {"title": title})
            ActionLog.objects.create(
                run=state.log,
                rule=escalation.alert.rule if escalation.alert else None,
                alert=escalation.alert,
                account=escalation.account,
                action="escalation",
                outcome=Outcome.DONE,
                message=title,
                detail={"escalation_id": escalation.pk, "lead": lead, "task_id": task.pk},
                created_at=state.now,
            )
