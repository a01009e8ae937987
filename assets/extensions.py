"""What the packages above the registry add to it, registered from their ``init_app``: the
registry imports none of them (it sits below the desk and the domains).

- ``ASSET_STATES``: name → a function from asset ids to each asset's state word (``ok``,
  ``warning``, ``critical``, ``down``, ``alert`` ...; missing: no state), colouring the rack
  elevation. ``monitors`` registers its monitors' and open alerts' states.
- ``COMMANDS``: name → a click command shown in ``opskit assets`` (the desk registers
  ``remind``, its warranty alerts).

Each is keyed by name, so an ``init_app`` run for every app (tests build many) registers once.
"""

from __future__ import annotations

from collections.abc import Callable

import click

ASSET_STATES: dict[str, Callable[[list[int]], dict[int, str]]] = {}
COMMANDS: dict[str, click.Command] = {}


def asset_states(asset_ids: list[int]) -> dict[int, str]:
    """Each asset's state word from the registered sources (a later source wins); {} if none."""
    states: dict[int, str] = {}
    for source in ASSET_STATES.values():
        states.update(source(asset_ids))
    return states
