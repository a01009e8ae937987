"""``opskit discover RANGE``: sweep a range, print what would be registered, register the chosen.

Exit status: 0 done; 1 nobody answered in the range, or the registration was refused (nothing
written; each refused address on stderr); 2 usage errors (a malformed or oversize range, an
unknown room, a bad option), naming the option.

Secrets: ``--community``, ``--auth-key`` and ``--priv-key`` may come from the environment
(``OPSKIT_SNMP_COMMUNITY``, ``OPSKIT_SNMP_AUTH_KEY``, ``OPSKIT_SNMP_PRIV_KEY``) or, with
``--secrets-stdin``, from standard input (the community; or the auth key and then the privacy
key, one a line), so they need not stand on a command line that ``ps`` and the shell history show.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from assets import queries as registry
from monitors import snmp
from monitors.cli import credentials, snmp_credential_options
from monitors.discover import proposals as found
from monitors.discover import sweep as sweeping
from monitors.discover.register import register
from monitors.formatting import profile_title
from opskit import db
from opskit.validation import ValidationFailed


def _room(room: str | None, site: str | None) -> Any:
    if not room:
        if site:
            raise click.BadParameter("give --room too: a room holds assets", param_hint="--site")
        return None
    rooms = [
        r for r in registry.all_rooms() if r.name == room and (not site or r.site.name == site)
    ]
    if not rooms:
        where = f" of site {site!r}" if site else ""
        raise click.BadParameter(f"no room {room!r}{where} is registered", param_hint="--room")
    if len(rooms) > 1:
        sites = ", ".join(sorted(r.site.name for r in rooms))
        raise click.BadParameter(
            f"rooms named {room!r} in sites {sites}: add --site", param_hint="--room"
        )
    return rooms[0]


def _chosen(
    wanted: str, proposals: list[found.Proposal], offers: list[found.Proposal]
) -> list[found.Proposal]:
    if wanted.strip().lower() == "all":
        return [p for p in proposals if not p.registered]
    out = []
    for token in (t.strip() for t in wanted.split(",") if t.strip()):
        match = next((p for p in proposals if p.address == token), None) or next(
            (o for o in offers if token in (o.name, o.chassis, o.asset_tag, o.address)), None
        )
        if match is None:
            raise click.BadParameter(
                f"{token} is neither an address that answered nor an LLDP neighbour offered",
                param_hint="--register",
            )
        out.append(match)
    return out


def _kinds(pairs: tuple[str, ...]) -> dict[str, str]:
    kinds = {}
    for pair in pairs:
        address, sep, kind = pair.partition("=")
        if not sep or kind.strip() not in registry.asset_kinds():
            raise click.BadParameter(
                f"{pair!r}: expected ADDRESS=KIND, KIND one of {', '.join(registry.asset_kinds())}",
                param_hint="--kind",
            )
        kinds[address.strip()] = kind.strip()
    return kinds


def _print(result: sweeping.Sweep, proposals: list[Any], offers: list[Any]) -> None:
    labels = registry.asset_kind_labels()
    click.echo(f"swept {result.range} ({result.addresses} addresses) in {result.seconds} s")
    click.echo(result.summary())
    for p in proposals:
        what = f"{p.address:<16} {','.join(p.answered_by):<9} {p.name}"
        if p.registered:
            r = p.registered
            click.echo(f"  {what}  already registered: {r['asset_tag']} {r['name']}")
            continue
        click.echo(f"  {what}  -> {labels.get(p.kind, p.kind)} (tag {p.asset_tag})")
        inventory = ", ".join(
            f"{k} {v}"
            for k, v in (("vendor", p.vendor), ("model", p.model), ("serial", p.serial))
            if v
        )
        if inventory:
            click.echo(f"      {inventory}")
        if p.profiles:
            click.echo(f"      profiles: {', '.join(profile_title(n) for n in p.profiles)}")
        if p.monitor:
            settings = p.monitor["settings"]
            click.echo(f"      monitor: {p.monitor['kind']} {settings['host']}")
        if p.error:
            click.echo(f"      probe failed: {p.error}")
    if offers:
        click.echo("LLDP neighbours no asset matches:")
        for o in offers:
            address = o.address or "no address known"
            seen = ", ".join(o.seen_by)
            click.echo(f"  {o.name}  chassis {o.chassis}  {address}  seen by {seen}")


@click.command("discover")
@click.argument("range_text", metavar="RANGE")
@click.option("--port", default=161, show_default=True, type=click.IntRange(1, 65535))
@snmp_credential_options
@click.option(
    "--secrets-stdin",
    is_flag=True,
    help="Read the community (or the v3 auth key, then the privacy key) from standard input.",
)
@click.option(
    "--timeout",
    default=sweeping.DEFAULT_TIMEOUT,
    show_default=True,
    type=click.FloatRange(1, 600),
    help="Seconds the whole sweep may take.",
)
@click.option(
    "--concurrency",
    default=sweeping.DEFAULT_CONCURRENCY,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Addresses asked at the same time.",
)
@click.option("--no-icmp", is_flag=True, help="Ask by SNMP only (no ICMP echo).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--register",
    "wanted",
    default=None,
    help="Register these: 'all' (every unregistered responder) or addresses and LLDP "
    "neighbour names, comma-separated. One transaction: all or nothing.",
)
@click.option(
    "--kind",
    "kind_pairs",
    multiple=True,
    help="ADDRESS=KIND: register ADDRESS as this asset kind (e.g. 10.1.1.5=switch).",
)
@click.option("--room", default=None, help="Room of the registered assets.")
@click.option("--site", default=None, help="Site of --room (when room names repeat).")
@with_appcontext
def discover_cmd(
    range_text: str,
    port: int,
    snmp_options: dict[str, Any],
    secrets_stdin: bool,
    timeout: float,
    concurrency: int,
    no_icmp: bool,
    as_json: bool,
    wanted: str | None,
    kind_pairs: tuple[str, ...],
    room: str | None,
    site: str | None,
) -> None:
    """Sweep RANGE (10.1.1.0/24, 10.1.1.10-10.1.1.50 or 10.1.1.10-50; at most 1024 addresses)
    by ICMP and SNMP, probe the agents, and print the assets and monitors proposed; with
    --register, register them."""
    with force_locale("en"):
        lines = [line.rstrip("\n") for line in sys.stdin.readlines()] if secrets_stdin else None
        creds = credentials(snmp_options, lines)
        kinds = _kinds(kind_pairs)
        target_room = _room(room, site)
        try:
            addresses = sweeping.parse_range(range_text)
        except ValidationFailed as exc:
            raise click.BadParameter(" ".join(exc.errors["range"]), param_hint="RANGE") from None
        coro = sweeping.sweep_async(
            addresses, creds, port, timeout, concurrency, not no_icmp, range_text.strip()
        )
        result = snmp.run(coro, timeout=timeout + 30)
        proposals = found.propose(result)
        offers = found.lldp_offers()
        out: dict[str, Any] = {
            "range": result.range,
            "addresses": result.addresses,
            "seconds": result.seconds,
            "icmp": {"used": result.icmp, "note": result.icmp_note()},
            "unfinished": result.unfinished,
            "message": result.summary(),
            "proposals": [p.to_json() for p in proposals],
            "lldp_neighbours": [o.to_json() for o in offers],
        }
        failed = not result.responders
        if wanted:
            chosen = _chosen(wanted, proposals, offers)
            for p in chosen:
                p.kind = kinds.get(p.address, p.kind)
            try:
                done = db.write(
                    lambda: register(
                        chosen,
                        found.snmp_secret(creds),
                        target_room,
                        result.range,
                        refuse_registered=True,
                    )
                )
            except ValidationFailed as exc:
                for row, messages in exc.errors.items():
                    click.echo(f"refused: {row}: {' '.join(messages)}", err=True)
                click.echo("nothing was registered", err=True)
                sys.exit(1)
            out["registered"] = [
                {
                    "asset_id": asset.id,
                    "asset_tag": asset.asset_tag,
                    "name": asset.name,
                    "address": asset.mgmt_ip,
                    "monitors": [{"id": m.id, "kind": m.kind} for m in monitors],
                }
                for asset, monitors in done.created
            ]
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        else:
            _print(result, proposals, offers)
            for row in out.get("registered", []):
                kinds_made = ", ".join(m["kind"] for m in row["monitors"]) or "no monitor"
                click.echo(
                    f"registered {row['asset_tag']} {row['name']} ({row['address']}): {kinds_made}"
                )
        if failed:
            sys.exit(1)
