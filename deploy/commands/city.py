"""`pasarkota city add|update --file bandung.toml` and `pasarkota city list`: the city directory over identity's API.

The file is one ``[[city]]`` block as in ``config/cities.toml`` (or the same keys at the top level), without
secrets. The command sends it to identity (``POST /cities`` or ``PUT /cities/{slug}``) with an operator's token:
``--token``, else ``PASARKOTA_TOKEN``, else (development only) a development operator token from identity
(``pasarkota token``). A refusal prints the field identity named; nothing was published then.
"""

from __future__ import annotations

import argparse
import json
import os
import tomllib
from pathlib import Path
from typing import Any

from deploy.local.errors import RuntimeProblem


def read_city_file(path: Path) -> dict[str, Any]:
    """The city document of ``path``: its one ``[[city]]`` table, or its top-level keys."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RuntimeProblem(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RuntimeProblem(f"{path}: not a TOML file: {exc}") from None
    if "city" in data:
        cities = data["city"]
        if not isinstance(cities, list) or len(cities) != 1 or len(data) != 1:
            raise RuntimeProblem(f"{path}: exactly one [[city]] block, please (one city per file)")
        return dict(cities[0])
    return dict(data)


def operator_token(args: argparse.Namespace) -> str:
    token = args.token or os.environ.get("PASARKOTA_TOKEN")
    if token:
        return str(token)
    from deploy.commands.endpoints import dev_token
    from shared.cities import seed_slugs
    from shared.settings import get_settings

    if get_settings().env == "prod":
        raise RuntimeProblem("an operator's token is needed: --token or PASARKOTA_TOKEN (sign in with a phone code)")
    return dev_token(sorted(seed_slugs())[0], roles=["operator"], sub="dev-operator-cli")


def _call(method: str, path: str, token: str, body: dict[str, Any] | None = None,
          service: str = "identity") -> dict[str, Any]:
    import httpx

    from deploy.commands.endpoints import service_url

    url = service_url(service) + path
    try:
        response = httpx.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        raise RuntimeProblem(f"{service} is not reachable at {url}: {exc} (is the stack up?)") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {"detail": response.text[:500]}
    if response.status_code >= 400:
        field = f" [{answer['field']}]" if isinstance(answer, dict) and answer.get("field") else ""
        detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
        raise RuntimeProblem(f"refused ({response.status_code}){field}: {detail} — nothing was published")
    return dict(answer)


def cmd_city(args: argparse.Namespace) -> int:
    token = operator_token(args)
    if args.action == "list":
        items = _call("GET", "/cities", token)["items"]
        for c in items:  # payments holds the webhook secrets: ask it (never the secret itself)
            try:
                c["webhook_secret"] = _call("GET", f"/cities/{c['slug']}/webhook-secret", token,
                                            service="payments")["set"]
            except RuntimeProblem:
                c["webhook_secret"] = None
        if args.json:
            print(json.dumps(items, indent=2))
            return 0
        for c in items:
            secret = {True: "secret set", False: "NO WEBHOOK SECRET", None: "secret: payments did not answer"}[
                c["webhook_secret"]]
            print(f"{c['slug']:<16} {c.get('name')!s:<28} {c['source']:<8} v{c.get('version') or '-'}  {secret}")
        return 0
    if not args.file:
        raise RuntimeProblem(f"city {args.action} needs --file <city.toml>")
    document = read_city_file(Path(args.file))
    if args.action == "add":
        body: dict[str, Any] = {"city": document}
        if args.admin_phone:
            body["first_admin"] = {"phone": args.admin_phone, **({"name": args.admin_name} if args.admin_name else {})}
        answer = _call("POST", "/cities", token, body)
        print(f"city {answer['slug']} added (version {answer['version']}): live in every service within seconds")
        if answer.get("first_admin"):
            print(f"first city admin invited: {answer['first_admin']['phone']} signs in with a code")
    else:
        slug = str(document.get("slug", ""))
        answer = _call("PUT", f"/cities/{slug}", token, {"city": document})
        print(f"city {answer['slug']} updated (version {answer['version']})")
    slug = answer["slug"]
    print(f"webhook secret: set PASARKOTA_CITY_{slug.upper()}_WEBHOOK_SECRET, or the file city_{slug}_webhook_secret "
          "in PASARKOTA_SECRETS_DIR (until then the city refuses acquirer webhooks)")
    return 0


def register(sub: Any) -> None:
    city = sub.add_parser("city", help="add, update or list cities (the city directory, identity's API)")
    city.add_argument("action", choices=("add", "update", "list"))
    city.add_argument("--file", help="a city document (one [[city]] block, as in config/cities.toml)")
    city.add_argument("--admin-phone", help="add: invite this phone as the city's first city admin")
    city.add_argument("--admin-name")
    city.add_argument("--token", help="an operator's access token (default: PASARKOTA_TOKEN, or a dev token)")
    city.add_argument("--json", action="store_true", help="list: as JSON")
    city.set_defaults(func=cmd_city)
