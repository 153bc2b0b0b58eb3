"""Every `pasarkota` command, one module each, on top of the platform.

The tools talk to the services over HTTP, Kafka and the event contracts (``shared.events``, the acquirer
simulator's wire format in ``payments.simulator``); services never import them. ``deploy/cli.py`` builds the
parser from :data:`COMMANDS`, an explicit list: there is no plugin lookup in the service packages.

| module | commands |
| --- | --- |
| ``stack`` | ``up [--detach]``, ``down``, ``status [--json]``, ``logs <component>`` |
| ``run`` | ``serve <service>``, ``provision`` |
| ``token`` | ``token --city --role [--vendor] [--market] [--sub]`` (asks identity; dev only) |
| ``city`` | ``city add|update --file F [--admin-phone P]``, ``city list``: the city directory (identity's API) |
| ``identity`` | ``admin create --phone --role [--city]``, ``identity-keys init|next|activate|retire`` |
| ``contracts`` | ``contracts export|check`` |
| ``demo`` | ``demo [--timeout]``: a whole purchase in Cimahi |
| ``pay`` | ``pay --city --order [--late] [--twice] [--amount] [--json]`` |
| ``history`` | ``demo-history [--timeout]``: the demo cities' sales (real orders), also run by ``up`` |
| ``funnel`` | ``funnel --city [--style] [--csv]``: learning's training funnel |
| ``bench`` | ``bench payments --count N ...``, ``bench chaos`` (the benchmarks live in ``tests/bench/``) |
| ``dlq`` | ``dlq list [topic]``, ``dlq show <topic> <partition>:<offset>``, ``dlq replay <topic> [--dry-run]`` |
| ``projections`` | ``projections list|rebuild <service> [name]``: rebuild from compacted topics |
"""

from __future__ import annotations

from typing import Any

from deploy.commands import (
    bench,
    contracts,
    demo,
    dlq,
    funnel,
    history,
    identity,
    pay,
    projections,
    run,
    stack,
    token,
)

COMMANDS = (stack, run, token, identity, contracts, demo, pay, funnel, bench, dlq, history, projections)


def register(sub: Any) -> None:
    for module in COMMANDS:
        module.register(sub)


from deploy.commands import city  # noqa: E402  (issue #14; appended so parallel branches merge cleanly)

COMMANDS = (*COMMANDS, city)  # type: ignore[assignment]  # one more command than the tuple above
