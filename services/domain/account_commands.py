"""`rapport users` and `rapport tokens`: the staff accounts of the moments and reports pages and
the API's bearer tokens (the same accounts and roles on every service)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.common import i18n
from services.domain.auth import Role


def cmd_users(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from services.common.db import get_engine
    from services.domain import accounts
    from services.domain.auth import Role
    from services.domain.migrate import migrate

    migrate()
    action = args.users_action
    with Session(get_engine()) as session:
        try:
            if action == "list":
                for user in accounts.listed(session):
                    state = "disabled" if user.disabled else "active"
                    if user.must_change_password:
                        state += ", one-time password not yet replaced"
                    print(f"{user.username:<24} {user.role:<8} {state}")
                return 0
            if action == "create":
                password = args.password or accounts.generate_password()
                user = accounts.create(
                    session,
                    username=accounts.check_username(args.username),
                    password=password,
                    role=Role(args.role),
                    one_time=not args.password,
                )
                print(f"User {user.username!r} ({user.role}) created.")
                if not args.password:
                    print(
                        f"One-time password (shown only now): {password}\n"
                        "The first login with it leads to choosing a new one."
                    )
            elif action == "reset":
                password = accounts.reset_password(session, args.username)
                print(
                    f"New one-time password for {args.username!r} (shown only now): {password}\n"
                    "Their logins have ended; the first login with it leads to choosing a new one."
                )
            elif action in ("disable", "enable"):
                accounts.set_disabled(session, args.username, disabled=action == "disable")
                print(
                    f"{args.username!r} {action}d"
                    + (": every login ended." if action == "disable" else ".")
                )
            elif action == "role":
                user = accounts.set_role(session, args.username, Role(args.role))
                print(f"{user.username!r} is now {user.role}.")
            elif action == "language":
                language = None if args.language == "browser" else args.language
                user = accounts.set_language(session, args.username, language)
                chosen = i18n.NAMES[language] if language else "the browser's language"
                print(f"{user.username!r} reads the pages in {chosen}.")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    from sqlmodel import Session, select

    from services.common.db import get_engine
    from services.domain.auth import Role, create_token, revoke_token
    from services.domain.migrate import migrate
    from services.domain.tables import ApiToken

    migrate()
    with Session(get_engine()) as session:
        if args.action == "create":
            token = create_token(session, name=args.name, role=Role(args.role))
            print(token)
            print(
                f"Token {args.name!r} ({args.role}) created; it is shown only now.", file=sys.stderr
            )
        elif args.action == "revoke":
            count = revoke_token(session, name=args.name)
            print(f"Revoked {count} token(s) named {args.name!r}.")
            return 0 if count else 1
        else:
            for row in session.exec(select(ApiToken).order_by(ApiToken.id)):  # type: ignore[arg-type]
                state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                print(f"{row.name:<24} {row.role:<8} created {row.created_at:%Y-%m-%d}  {state}")
    return 0


def add_parsers(sub: Any) -> None:
    roles = [r.value for r in Role]
    p = sub.add_parser("users", help="staff accounts for the moments and reports pages")
    users_sub = p.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    create = users_sub.add_parser("create", help="create a user (prints a one-time password)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=roles, default="manager")
    create.add_argument("--password", help="set this password instead of generating one")
    create.set_defaults(func=cmd_users)
    users_sub.add_parser("list", help="every account, its role and state").set_defaults(
        func=cmd_users
    )
    for name, text in (
        ("reset", "a new one-time password (ends the account's logins)"),
        ("disable", "no more logins for the account (ends its logins)"),
        ("enable", "let a disabled account log in again"),
    ):
        verb = users_sub.add_parser(name, help=text)
        verb.add_argument("--username", required=True)
        verb.set_defaults(func=cmd_users)
    role = users_sub.add_parser("role", help="change an account's role")
    role.add_argument("--username", required=True)
    role.add_argument("--role", choices=roles, required=True)
    role.set_defaults(func=cmd_users)
    language = users_sub.add_parser(
        "language", help="the language the account reads the pages in (overrides the browser's)"
    )
    language.add_argument("--username", required=True)
    language.add_argument("--language", choices=(*i18n.LANGUAGES, "browser"), required=True)
    language.set_defaults(func=cmd_users)

    p = sub.add_parser("tokens", help="API tokens: create, revoke, list")
    p.add_argument("action", choices=("create", "revoke", "list"))
    p.add_argument("--name", default="api")
    p.add_argument("--role", choices=roles, default="manager")
    p.set_defaults(func=cmd_tokens)
