"""What the packages above the registry add to it, registered from their ``init_app``: the
registry imports none of them (it sits below the desk and the domains).

- ``ASSET_STATES``: name → a function from asset ids to each asset's state word (``ok``,
  ``warning``, ``critical``, ``down``, ``alert`` ...; missing: no state), colouring the rack
  elevation. ``monitors`` registers its monitors' and open alerts' states.
- ``COMMANDS``: name → a click command shown in ``opskit assets`` (the desk registers
  ``remind``, its warranty alerts).
- ``ASSET_PANELS``: name → a function from an asset id to the URL of a part of the asset page,
  loaded into it (htmx) below the registry's own cards. The desk registers its repair history.
- ``REGISTRY_TABS``: name → (endpoint, label) of a page shown as a tab after the registry's own
  (``templates/assets/_nav.html``). The desk registers its list of assets with repeated faults.

- ``POWER_DRAW``: name → a function (PDU asset ids, start, end) → {PDU id: watts, the 95th
  percentile of its measured draw}; ``PORT_STATES``: name → a function (switch asset ids,
  start, end) → {switch id: its interfaces as :class:`Port`}. The capacity model
  (``assets.capacity``) reads the measured figures through them; ``monitors`` registers both.
- ``ROOM_TEMPERATURES``: name → a function (room ids, start, end) → {room id: [(hour, °C)]},
  each hour the hottest of the room's probes' hourly mean temperature (``monitors``); and
  ``ROOM_TEMPERATURE_LIMITS``: name → a function (room ids) → {room id: its upper normal
  temperature in °C} (``inspections``: the patrol checklist's limit with the room's overrides).
  The cooling headroom's temperature trend (``assets.room_temperature``) reads both.

Each is keyed by name, so an ``init_app`` run for every app (tests build many) registers once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

import click

ASSET_STATES: dict[str, Callable[[list[int]], dict[int, str]]] = {}
COMMANDS: dict[str, click.Command] = {}
ASSET_PANELS: dict[str, Callable[[int], str]] = {}
#: name → (endpoint, label: a lazy string)
REGISTRY_TABS: dict[str, tuple[str, Any]] = {}


class Port(NamedTuple):
    """One interface of a switch as the monitors last saw it."""

    name: str
    oper: str  # newest if.oper_status word: up, down ... ("" when never read)
    admin: str  # newest if.admin_status word ("" when not read: not checked)
    speed_bps: int | None  # newest if.speed_bps (None: read from the name)
    peak_bps: float | None  # highest in/out traffic in the window (None: no traffic reading)


POWER_DRAW: dict[str, Callable[[list[int], datetime, datetime], dict[int, float]]] = {}
PORT_STATES: dict[str, Callable[[list[int], datetime, datetime], dict[int, list[Port]]]] = {}

ROOM_TEMPERATURES: dict[
    str, Callable[[list[int], datetime, datetime], dict[int, list[tuple[datetime, float]]]]
] = {}
ROOM_TEMPERATURE_LIMITS: dict[str, Callable[[list[int]], dict[int, float]]] = {}


K = TypeVar("K")
V = TypeVar("V")


def _merged(sources: Iterable[Callable[..., dict[K, V]]], *args: Any) -> dict[K, V]:
    """What every registered source answers to ``args``, merged (a later source wins)."""
    out: dict[K, V] = {}
    for source in sources:
        out.update(source(*args))
    return out


def room_temperatures(
    room_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, float]]]:
    """Each room's hourly temperature (its hottest probe) from the registered sources."""
    return _merged(ROOM_TEMPERATURES.values(), room_ids, start, end)


def room_temperature_limits(room_ids: list[int]) -> dict[int, float]:
    """Each room's upper normal temperature (°C) from the registered sources."""
    return _merged(ROOM_TEMPERATURE_LIMITS.values(), room_ids)


def power_draw(pdu_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    """Each PDU's measured draw in watts from the registered sources; {} if none."""
    return _merged(POWER_DRAW.values(), pdu_ids, start, end)


def port_states(switch_ids: list[int], start: datetime, end: datetime) -> dict[int, list[Port]]:
    """Each switch's interfaces from the registered sources; {} if none."""
    return _merged(PORT_STATES.values(), switch_ids, start, end)


def asset_states(asset_ids: list[int]) -> dict[int, str]:
    """Each asset's state word from the registered sources (a later source wins); {} if none."""
    return _merged(ASSET_STATES.values(), asset_ids)


def asset_panels(asset_id: int) -> list[str]:
    """The URLs of the parts the packages above add to the asset's page, in registration order."""
    return [url(asset_id) for url in ASSET_PANELS.values()]


def registry_tabs() -> list[tuple[str, str, Any]]:
    """(name, endpoint, label) of the pages the packages above add to the registry's tabs."""
    return [(name, endpoint, label) for name, (endpoint, label) in REGISTRY_TABS.items()]
