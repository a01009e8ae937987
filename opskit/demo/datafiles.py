"""The demo's data: YAML files in ``opskit/demo/data/`` (shipped in the wheel), read once.

``site.yaml`` the registry and the people, ``desk.yaml`` the alerts and incidents,
``logbook.yaml`` the visits and power events, ``patrol.yaml`` the patrol plans,
``servicedesk.yaml`` the employees' requests. The seeders (``opskit.demo.registry``, ``desk``,
``logbook``, ``patrol``, ``servicedesk``) read them and never change them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from opskit.rulefiles import load_yaml


@cache
def load(name: str) -> dict[str, Any]:
    """The data file ``data/<name>.yaml``."""
    text = (resources.files("opskit.demo") / "data" / f"{name}.yaml").read_text(encoding="utf-8")
    # libyaml's safe loader (the page walk and the browser tests seed the demo on every run)
    data: dict[str, Any] = load_yaml(text)
    return data


def engineers() -> list[dict[str, str]]:
    """The site's engineers, in turn order: ``{username, name, role}``."""
    return [p for p in load("site")["people"] if p["role"] == "engineer"]
