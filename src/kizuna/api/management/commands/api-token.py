"""``kizuna api-token create USER [--name NAME]`` and ``kizuna api-token list [USER]``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext

from kizuna.api.models import ApiToken
from kizuna.api.tokens import create_token


class Command(BaseCommand):
    help = gettext("Create or list API tokens. A token is shown once, when it is created.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help=gettext("create a token for a user"))
        create.add_argument("user", help=gettext("username"))
        create.add_argument("--name", default="cli", help=gettext("what the token is for"))
        listing = actions.add_parser("list", help=gettext("list tokens (never their secret)"))
        listing.add_argument("user", nargs="?", help=gettext("username"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(gettext("no user '%(user)s'") % {"user": options["user"]})
            _token, raw = create_token(user, options["name"])
            self.stdout.write(raw)
            return
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "pk")
        if options["user"]:
            tokens = tokens.filter(user__username=options["user"])
        for token in tokens:
            used = token.last_used_at.isoformat() if token.last_used_at else "-"
            self.stdout.write(
                f"{token.user.get_username()}\t{token.name}\t{token.prefix}…\t"
                f"{token.created_at.isoformat()}\t{used}"
            )
