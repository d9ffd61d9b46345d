"""``kizuna playbooks``: run the rules, install the defaults, move rules in and out, back-test.

kizuna playbooks run [--as-of YYYY-MM-DD] [--dry-run] [--quiet]
kizuna playbooks install-defaults [--overwrite]
kizuna playbooks export FILE
kizuna playbooks import FILE [--overwrite]
kizuna playbooks backtest [--months 12] [--end YYYY-MM-DD] [--format text|json]
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.playbooks.actions import save_rules
from kizuna.playbooks.backtest import run_backtest
from kizuna.playbooks.defaults import install_defaults
from kizuna.playbooks.models import Rule
from kizuna.playbooks.rules import RuleError, RuleSpec, dumps_rules, loads_rules
from kizuna.playbooks.runner import run_playbooks


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


class Command(BaseCommand):
    help = _(
        "Playbooks: evaluate the rules over the store, install the default rules, export or "
        "import rules as TOML, back-test the churn signals."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        run = commands.add_parser("run", help=_("evaluate every enabled rule and act"))
        run.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help=_("date, YYYY-MM-DD (default: today)"),
        )
        run.add_argument(
            "--dry-run", action="store_true", help=_("write nothing; print what would be done")
        )
        run.add_argument("--quiet", action="store_true", help=_("print only the summary"))
        install = commands.add_parser("install-defaults", help=_("add the shipped rules"))
        install.add_argument(
            "--overwrite",
            action="store_true",
            help=_("also reset shipped rules that exist to their defaults"),
        )
        export = commands.add_parser("export", help=_("write every rule to a TOML file"))
        export.add_argument("file", type=Path)
        load = commands.add_parser("import", help=_("read rules from a TOML file"))
        load.add_argument("file", type=Path)
        load.add_argument(
            "--overwrite", action="store_true", help=_("replace rules with the same key")
        )
        backtest = commands.add_parser("backtest", help=_("back-test the churn signals"))
        backtest.add_argument("--months", type=int, default=12)
        backtest.add_argument(
            "--end",
            type=date.fromisoformat,
            default=None,
            help=_("last day, YYYY-MM-DD (default: the latest usage day)"),
        )
        backtest.add_argument("--step-days", type=int, default=7)
        backtest.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = {
            "run": self.run,
            "install-defaults": self.install_defaults,
            "export": self.export,
            "import": self.import_rules,
            "backtest": self.backtest,
        }[options["subcommand"]]
        handler(options)

    def run(self, options: dict[str, Any]) -> None:
        as_of = options["as_of"] or timezone.localdate()
        quiet = options["quiet"]
        report = run_playbooks(
            as_of, dry_run=options["dry_run"], out=None if quiet else self.stdout.write
        )
        if quiet:
            self.stdout.write(report.lines[-1])

    def install_defaults(self, options: dict[str, Any]) -> None:
        created, updated = install_defaults(overwrite=options["overwrite"])
        self.stdout.write(
            _("Default rules: %(created)s added, %(updated)s reset, %(total)s rules in all.")
            % {"created": created, "updated": updated, "total": Rule.objects.count()}
        )

    def export(self, options: dict[str, Any]) -> None:
        specs = [RuleSpec.from_model(rule) for rule in Rule.objects.order_by("priority", "key")]
        options["file"].write_text(dumps_rules(specs), encoding="utf-8")
        self.stdout.write(
            _("Wrote %(count)s rules to %(file)s.") % {"count": len(specs), "file": options["file"]}
        )

    def import_rules(self, options: dict[str, Any]) -> None:
        try:
            text = options["file"].read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{options['file']}: {error.strerror}") from None
        try:
            specs = loads_rules(text)
        except RuleError as error:
            problems = "\n".join(f"{options['file']}: {p}" for p in error.problems)
            raise CommandError(problems) from None
        created, updated = save_rules(specs, overwrite=options["overwrite"])
        skipped = len(specs) - created - updated
        self.stdout.write(
            _(
                "Imported %(file)s: %(created)s added, %(updated)s replaced, %(skipped)s kept as "
                "they were (use --overwrite to replace)."
            )
            % {"file": options["file"], "created": created, "updated": updated, "skipped": skipped}
        )

    def backtest(self, options: dict[str, Any]) -> None:
        result = run_backtest(options["months"], end=options["end"], step_days=options["step_days"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        self.stdout.write(
            _("Back-test %(start)s – %(end)s (signals replayed every %(step)s days)")
            % {"start": result.start, "end": result.end, "step": result.step_days}
        )
        self.stdout.write(
            _(
                "Recall: %(hit)s of %(churned)s churned accounts had a high-risk signal at least "
                "%(lead)s days before churning (%(rate)s)."
            )
            % {
                "hit": result.churned_with_early_signal,
                "churned": result.churned,
                "lead": result.lead_days,
                "rate": _percent(result.recall),
            }
        )
        self.stdout.write(
            _(
                "Precision: %(hit)s of %(signalled)s accounts with a high-risk signal churned "
                "within %(horizon)s days (%(rate)s); base rate %(base)s of %(watched)s accounts."
            )
            % {
                "hit": result.signalled_then_churned,
                "signalled": result.signalled,
                "horizon": result.horizon_days,
                "rate": _percent(result.precision),
                "base": _percent(result.base_rate),
                "watched": result.watched,
            }
        )
        for signal, counts in sorted(result.by_signal.items()):
            share = counts["churned"] / counts["signalled"] if counts["signalled"] else None
            self.stdout.write(
                f"  {signal}: "
                + _(
                    "%(signalled)s signalled, %(churned)s churned (%(rate)s), "
                    "foresaw %(foresaw)s churns"
                )
                % {
                    "signalled": counts["signalled"],
                    "churned": counts["churned"],
                    "rate": _percent(share),
                    "foresaw": counts["foresaw_churns"],
                }
            )
