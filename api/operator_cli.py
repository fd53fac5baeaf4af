"""`antri operators create|token|revoke-tokens|disable`: operator accounts from the command line.

The password is never an argument (it would show in `ps` and the shell's history): it is read
from ANTRI_OPERATOR_PASSWORD, from standard input with --password-stdin (for scripts), or asked
for twice at the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from .booking.errors import BookingError
from .database import create_pool, migrate_url
from .operators import ROLES, Operators
from .settings import Settings

PASSWORD_VARIABLE = "ANTRI_OPERATOR_PASSWORD"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `operators` command and its actions."""
    actions = sub.add_parser(
        "operators", help="operator accounts (console, officer's desk, API tokens)"
    ).add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new operator account")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", default="", help="shown in the console (default: from e-mail)")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    token = actions.add_parser("token", help="a new API token for an operator (shown once)")
    token.add_argument("--email", required=True)
    token.add_argument("--label", default="cli", help="what the token is for")
    revoke = actions.add_parser("revoke-tokens", help="revoke every API token of an operator")
    revoke.add_argument("--email", required=True)
    disable = actions.add_parser(
        "disable", help="end an operator's access: sessions and tokens stop at once"
    )
    disable.add_argument("--email", required=True)


def _password(args: argparse.Namespace) -> str:
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (12+ characters): ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("antri operators: the two passwords differ")
    return first


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out `antri operators …` against the database of `settings`."""
    password = _password(args) if args.action == "create" else ""

    async def act() -> int:
        assert settings.database_url is not None
        await migrate_url(settings.database_url)
        pool = await create_pool(settings.database_url, size=2)
        try:
            operators = Operators(pool, None, settings.secret)
            if args.action == "create":
                operator_id = await operators.create(args.email, args.role, password, args.name)
                print(f"created operator {operator_id} <{args.email}> ({args.role})")
            elif args.action == "token":
                print(await operators.issue_token(args.email, args.label))
            elif args.action == "disable":
                if not await operators.disable(args.email):
                    print(f"antri operators: no active operator <{args.email}>", file=sys.stderr)
                    return 1
                print(f"disabled <{args.email}>")
            else:
                print(f"revoked {await operators.revoke_tokens(args.email)} tokens")
            return 0
        finally:
            await pool.close()

    try:
        return asyncio.run(act())
    except BookingError as exc:
        print(f"antri operators: {exc}", file=sys.stderr)
        return 1
