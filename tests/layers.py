"""The layers of ``DESIGN.md``, read from the import statements of opskit's own modules.

From the bottom, a module may import its own layer and the layers below it:

======== =================================================================================
layer    modules
======== =================================================================================
base     ``opskit.*`` (config, db, auth, i18n, clock, xlsx, audit, users, ...), ``templates``
registry ``assets``
desk     ``opskit.alerts``, ``opskit.servicedesk``
domains  ``monitors``, ``inspections``
reports  ``reports``
top      ``opskit`` itself (``create_app``), ``opskit.web``, ``opskit.dashboard``,
         ``opskit.cli``, ``opskit.demo``, ``opskit.data`` (the frames) and
         ``opskit.data_cli`` (``opskit export``): the composition, which may import anything
======== =================================================================================

Between packages (the top excepted), a module reaches another package only through its public
surface: its ``queries`` (reads) and ``services`` (writes), plus the few modules named in
``PUBLIC`` with the reason; every module of the base is public.

Inside functions, an import of an opskit module is refused unless its line says why, with a
``# lazy: <reason>`` comment (a real cycle, or a command that loads only what it needs); and the
imports at module level form no cycle.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("opskit", "assets", "inspections", "monitors", "reports", "templates")
LAYERS = ("base", "registry", "desk", "domains", "reports", "top")
TOP = (
    "opskit",
    "opskit.web",
    "opskit.dashboard",
    "opskit.cli",
    "opskit.demo",
    "opskit.data",
    "opskit.data_cli",
)

#: Modules a package offers to the packages above or beside it, besides queries and services.
PUBLIC: dict[str, dict[str, str]] = {
    "assets": {
        "assets.extensions": "where the desk and the domains add to the registry's pages and "
        "commands from their init_app (the rack's states, opskit assets remind)",
    },
    "opskit.alerts": {
        "opskit.alerts.wording": "the words for alert states and events, shown by every page",
    },
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported opskit module
    path: Path
    line: int
    nested: bool  # inside a function or class body
    reason: str  # text after "# lazy:" on the line, or ""

    def __str__(self) -> str:
        where = f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}"
        return f"{where}:{self.line}: {self.source} imports {self.target}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str, root: Path = ROOT) -> bool:
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def source_files(root: Path = ROOT) -> list[Path]:
    files = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts or "static" in path.parts:
                continue
            files.append(path)
    return files


def package_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "opskit" and len(parts) > 1 and parts[1] in ("alerts", "demo", "servicedesk"):
        return ".".join(parts[:2])
    return parts[0]


def layer_of(module: str) -> str:
    if any(module == top or module.startswith(top + ".") for top in TOP if top != "opskit"):
        return "top"
    if module == "opskit":
        return "top"
    package = package_of(module)
    return {
        "opskit": "base",
        "templates": "base",
        "assets": "registry",
        "opskit.alerts": "desk",
        "opskit.servicedesk": "desk",
        "monitors": "domains",
        "inspections": "domains",
        "reports": "reports",
    }[package]


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    source = module_name(path, root)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text, filename=str(path))
    top_level: set[int] = set()

    def collect_top(body: list[ast.stmt]) -> None:
        # module level includes the bodies of if/try at module level (TYPE_CHECKING, fallbacks)
        for node in body:
            top_level.add(id(node))
            if isinstance(node, ast.If | ast.Try):
                collect_top(node.body)
                collect_top(node.orelse)
                if isinstance(node, ast.Try):
                    collect_top(node.finalbody)
                    for handler in node.handlers:
                        collect_top(handler.body)

    collect_top(tree.body)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.append(full if is_module(full, root) else base)
        else:
            continue
        line = lines[node.lineno - 1]
        reason = line.split("# lazy:", 1)[1].strip() if "# lazy:" in line else ""
        for target in dict.fromkeys(targets):
            if target.split(".")[0] not in PACKAGES:
                continue
            found.append(
                Import(source, target, path, node.lineno, id(node) not in top_level, reason)
            )
    return found


def layer_problems(imp: Import) -> list[str]:
    """What is wrong with one import by the layers and public surfaces ('' for nothing)."""
    problems = []
    source_layer, target_layer = layer_of(imp.source), layer_of(imp.target)
    if source_layer == "top":
        return problems
    if LAYERS.index(target_layer) > LAYERS.index(source_layer):
        problems.append(
            f"{imp}: the {source_layer} layer may not import the {target_layer} layer above it"
        )
        return problems
    source_package, target_package = package_of(imp.source), package_of(imp.target)
    if source_package != target_package and target_layer != "base":
        last = imp.target.rpartition(".")[2]
        public = PUBLIC.get(target_package, {})
        if last not in ("queries", "services") and imp.target not in public:
            problems.append(
                f"{imp}: another package is reached through its queries or services only"
            )
    return problems


def nesting_problems(imp: Import) -> list[str]:
    if imp.nested and not imp.reason:
        return [f"{imp}: inside a function, without a '# lazy: <reason>' comment"]
    return []


def cycles(imports: list[Import]) -> list[list[str]]:
    """Cycles among module-level imports (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if not imp.nested and imp.source != imp.target:
            graph.setdefault(imp.source, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            # a package's __init__ importing its own submodules is not a cycle to break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def all_imports(root: Path = ROOT) -> list[Import]:
    return [imp for path in source_files(root) for imp in imports_of(path, root)]
