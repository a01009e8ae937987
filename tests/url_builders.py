"""Werkzeug compiles two URL-builder functions per route every time an app is made (Python
source built as an AST, then ``compile``): about 0.1 s of each test's fixture with opskit's ~200
routes, and the suite makes an app per test. The functions depend only on the rule's parsed
parts and defaults (the rule object is passed in at call time), so one compiled per distinct
rule serves every app of the run. Test-only: the dashboard makes its app once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule

_compiled: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}


def install() -> None:
    original = Rule._compile_builder
    if getattr(original, "_memoized", False):
        return

    def compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        defaults = self.defaults or {}
        if any(is_dynamic and data in defaults for is_dynamic, data in self._trace):
            # a default resolved through the rule's own converter: not shared
            return original(self, append_unknown)
        key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
        built = _compiled.get(key)
        if built is None:
            built = _compiled[key] = original(self, append_unknown)
        return built

    compile_builder._memoized = True  # type: ignore[attr-defined]
    Rule._compile_builder = compile_builder  # type: ignore[method-assign]
