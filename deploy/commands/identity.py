"""`pasarkota admin create` (the first operator, city admins) and `pasarkota identity-keys` (signing-key rotation).

``admin create`` is the one way in when nobody can grant yet: it runs identity's own use case in a unit of work
on identity's schema (as identity's role), so the grant is audited (``RoleGranted``, ``granted_by`` =
``system:cli``) and published by identity's outbox like any other. ``identity-keys`` edits the key file identity
reads (``PASARKOTA_IDENTITY_KEYS_FILE``); identity picks the change up without a restart. Rotation, step by step,
is in docs/identity.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from deploy.local.errors import RuntimeProblem


async def create_admin(database_url: str, phone: str, role: str, city: str, name: str | None) -> dict[str, Any]:
    from identity import handlers
    from identity.store import IdentityStore
    from shared.db import create_pool
    from shared.errors import DomainError
    from shared.uow import Work

    pool = await create_pool(database_url, "identity", "identity-cli", max_size=1)
    try:
        work = Work(lambda: pool, IdentityStore)
        async with work(city=city, correlation_id="pasarkota-admin-create") as uow:
            return await handlers.create_admin(uow, phone, role, city, name)
    except DomainError as exc:
        raise RuntimeProblem(exc.detail) from None
    finally:
        await pool.close()


def cmd_admin_create(args: argparse.Namespace) -> int:
    import os

    from deploy import stack
    from deploy.provision import service_database_url
    from shared.cities import all_cities

    if args.role == "city_admin" and args.city not in all_cities():
        raise RuntimeProblem(f"unknown city {args.city!r}; choose from {', '.join(sorted(all_cities()))}")
    admin_url = os.environ.get("DATABASE_URL") or stack.read_state().get("postgres", {}).get("admin_url")
    if not admin_url:
        raise RuntimeProblem("no database: set DATABASE_URL (the Postgres admin URL) or start `pasarkota up --detach`")
    result = asyncio.run(create_admin(service_database_url(admin_url, "identity"), args.phone, args.role,
                                      args.city, args.name))
    state = "granted" if result["created"] else "already held"
    print(f"{args.role} {state}: account {result['account_id']} — sign in with a code sent to that phone")
    return 0


def _key_file(args: argparse.Namespace) -> Path:
    if args.file:
        return Path(args.file)
    from deploy import stack

    return stack.identity_keys_file()


def cmd_keys(args: argparse.Namespace) -> int:
    from identity import keys

    path = _key_file(args)
    try:
        if args.action == "init":
            if path.exists():
                raise RuntimeProblem(f"{path} exists; use `next` to add a key")
            entry = keys.new_key_entry(args.kid)
            keys.write_key_file(path, {"active": entry["kid"], "keys": [entry]})
        elif args.action == "next":
            print(f"published (not yet signing): {keys.add_next_key(path, args.kid)}")
        elif args.action == "activate":
            keys.activate_key(path, args.kid or "")
        elif args.action == "retire":
            keys.retire_key(path, args.kid or "")
    except (ValueError, FileNotFoundError) as exc:
        raise RuntimeProblem(str(exc)) from None
    document = json.loads(path.read_text())
    print(f"{path}: active {document['active']}; published {', '.join(k['kid'] for k in document['keys'])}")
    return 0


def register(sub: Any) -> None:
    admin = sub.add_parser("admin", help="accounts nobody can grant yet: the first operator, city admins")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_sub.add_parser("create", help="grant operator (all cities) or city_admin to a phone")
    create.add_argument("--phone", required=True)
    create.add_argument("--role", required=True, choices=("operator", "city_admin"))
    create.add_argument("--city", default="cimahi", help="the city of a city_admin (ignored for operator)")
    create.add_argument("--name")
    create.set_defaults(func=cmd_admin_create)

    rotate = sub.add_parser("identity-keys", help="identity's signing keys: init, next, activate, retire")
    rotate.add_argument("action", choices=("init", "next", "activate", "retire"))
    rotate.add_argument("--kid", help="the key id (next: optional; activate/retire: required)")
    rotate.add_argument("--file", help="the key file (default: the local stack's)")
    rotate.set_defaults(func=cmd_keys)
