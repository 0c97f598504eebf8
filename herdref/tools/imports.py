"""``python3 -m herdref.tools.imports [PACKAGE_DIR]``: herdref's import graph, read from its
source, and the house rules it keeps (ARCHITECTURE.md draws them).

Every ``import`` statement is an edge, wherever it stands: inside a function and under
``if TYPE_CHECKING:`` too, since a cycle hidden in a function is still a cycle. Relative imports
are resolved. A module named only by a string (the CLI's subcommand table) is not an edge.

The rules; the command exits 1 when one is broken:

1. No import cycle.
2. No module over ``MAX_LINES`` lines.
3. A pure module (``PURE``) reaches no I/O shell: nothing it imports, directly or through
   other modules, is a herdref shell (``SHELLS``), a tool or a module that imports an I/O
   library (``IO_LIBRARIES``).
4. The checker (``herdref.checker``) judges a herd from outside: nothing it reaches is in
   ``CHECKER_MUST_NOT_REACH``.
5. Every module belongs to a wing (``WINGS``) and imports only from its own wing and the wings
   that one may import: the one-way arrows of ARCHITECTURE.md. Only the tools import the tools.

``ALLOWED`` lists the edges rules 3-5 let through, each with its reason; an entry whose edge is
gone is reported, so the list only shrinks.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "ALLOWED",
    "CHECKER_MUST_NOT_REACH",
    "MAX_LINES",
    "PURE",
    "SHELLS",
    "WINGS",
    "Module",
    "findings",
    "main",
    "read_package",
    "render",
    "wing_of",
]

MAX_LINES: Final = 600
PURE: Final = (
    "herdref.protocol",
    "herdref.model",
    "herdref.herd.state",
    "herdref.herd.node",
    "herdref.herd.config",
)
SHELLS: Final = (
    "herdref.herd.server",
    "herdref.herd.links",
    "herdref.herd.log",
    "herdref.places.client",
    "herdref.places.fixture",
)
IO_LIBRARIES: Final = (
    "aiohttp",
    "asyncio",
    "http.client",
    "http.server",
    "multiprocessing",
    "selectors",
    "socket",
    "socketserver",
    "ssl",
    "subprocess",
    "urllib.request",
    "uvloop",
)
TOOLS: Final = "herdref.tools"
CHECKER: Final = "herdref.checker"
CHECKER_MUST_NOT_REACH: Final = (
    "herdref.herd.server",
    "herdref.herd.links",
    "herdref.herd.log",
    "herdref.herd.node",
    TOOLS,
)
ALLOWED: Final[Mapping[tuple[str, str], str]] = {
    ("herdref.checker.simulation", "herdref.herd.node"): "the simulation runs the reference herd's "
    "pure nodes in memory for the property suite; herdref validate never loads it",
}
PUBLIC_API: Final = "public API"
#: The wings, bottom up: (wing, its modules (each name and everything under it), the other wings
#: it may import). A module matches the first wing that names it; the package itself
#: (``herdref/__init__.py``) is the public API, which re-exports the pure core.
WINGS: Final[Sequence[tuple[str, tuple[str, ...], tuple[str, ...]]]] = (
    ("spec core", ("herdref.protocol", "herdref.model"), ()),
    (
        "herd core",
        ("herdref.herd.config", "herdref.herd.state", "herdref.herd.node", "herdref.herd.peer_auth"),
        ("spec core",),
    ),
    (PUBLIC_API, (), ("spec core", "herd core")),
    ("Places", ("herdref.places",), ("spec core", "herd core", PUBLIC_API)),
    ("herd shells", ("herdref.herd",), ("spec core", "herd core", PUBLIC_API, "Places")),
    ("checker", (CHECKER,), ("spec core", "herd core", PUBLIC_API, "Places")),
    (
        "tools",
        (TOOLS, "herdref.grading", "herdref.__main__"),
        ("spec core", "herd core", PUBLIC_API, "Places", "herd shells", "checker"),
    ),
)


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    lines: int
    #: The package's modules this one imports (itself excluded).
    imports: frozenset[str]
    #: The I/O libraries (``IO_LIBRARIES``) this one imports itself.
    io_libraries: frozenset[str]


def within(name: str, prefixes: str | Sequence[str]) -> bool:
    """Whether ``name`` is one of ``prefixes`` or inside one of them."""
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def wing_of(name: str) -> str | None:
    if "." not in name:
        return PUBLIC_API
    return next((wing for wing, prefixes, _ in WINGS if within(name, prefixes)), None)


def _imported_names(tree: ast.Module, package: str) -> Iterator[str]:
    """Every dotted name an import statement of ``tree`` names; ``from X import a`` gives
    ``X.a`` (a submodule or a name in ``X``), relative ones resolved against ``package``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            yield from (base if alias.name == "*" else f"{base}.{alias.name}" for alias in node.names)


def read_package(package_dir: Path) -> dict[str, Module]:
    """Every module of the package in ``package_dir`` with its size and imports.

    Raises:
        SyntaxError: a module does not parse.
    """
    package_dir = package_dir.resolve()
    paths: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    modules: dict[str, Module] = {}
    for name, path in paths.items():
        text = path.read_text(encoding="utf-8")
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imports: set[str] = set()
        io_libraries: set[str] = set()
        for imported in _imported_names(ast.parse(text, str(path)), package):
            io_libraries.update(library for library in IO_LIBRARIES if within(imported, library))
            target = imported
            while target and target not in paths:  # X.a is module X.a, else a name in X
                target = target.rpartition(".")[0]
            if target and target != name:
                imports.add(target)
        modules[name] = Module(name, len(text.splitlines()), frozenset(imports), frozenset(io_libraries))
    return modules


def _reach(graph: Mapping[str, frozenset[str]], start: str) -> dict[str, str | None]:
    """Every module ``start`` imports directly or not, each with the one it is imported from on
    a shortest path (breadth first); ``start`` itself maps to None."""
    parents: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        next_frontier = []
        for source in frontier:
            for target in sorted(graph[source] - parents.keys()):
                parents[target] = source
                next_frontier.append(target)
        frontier = next_frontier
    return parents


def _path(parents: Mapping[str, str | None], goal: str) -> list[str]:
    path = [goal]
    while (parent := parents[path[-1]]) is not None:
        path.append(parent)
    return path[::-1]


def findings(modules: Mapping[str, Module], *, allowed: Mapping[tuple[str, str], str] = ALLOWED) -> list[str]:
    """Every broken rule, one line each; empty when the house is in order."""
    graph = {name: module.imports for name, module in modules.items()}
    ruled = {
        name: frozenset(t for t in targets if (name, t) not in allowed) for name, targets in graph.items()
    }
    reaches = {name: _reach(graph, name) for name in graph}
    problems: list[str] = []
    in_a_cycle: set[str] = set()
    for name in sorted(graph):
        back = sorted(source for source in reaches[name] if name in graph[source])
        if name not in in_a_cycle and back:
            in_a_cycle.update(other for other in reaches[name] if name in reaches[other])
            problems.append("cycle: " + " -> ".join([*_path(reaches[name], back[0]), name]))
    for name, module in sorted(modules.items()):
        if module.lines > MAX_LINES:
            problems.append(f"over {MAX_LINES} lines: {name} ({module.lines})")
    for name in sorted(graph):
        pure, checker = within(name, PURE), within(name, CHECKER)
        if not (pure or checker):
            continue
        parents = _reach(ruled, name)
        for reached in sorted(parents):
            via = " -> ".join(_path(parents, reached))
            if pure and within(reached, (*SHELLS, TOOLS)):
                problems.append(f"pure module reaches an I/O shell or a tool: {via}")
            for library in sorted(modules[reached].io_libraries) if pure else ():
                problems.append(f"pure module reaches I/O library {library}: {via}")
            if checker and within(reached, CHECKER_MUST_NOT_REACH):
                problems.append(f"checker reaches a herd shell or a tool: {via}")
    may_import = {wing: {wing, *others} for wing, _, others in WINGS}
    for name in sorted(graph):
        wing = wing_of(name)
        if wing is None:
            problems.append(f"in no wing: {name}; give it one in WINGS and ARCHITECTURE.md")
            continue
        for target in sorted(ruled[name]):
            if (target_wing := wing_of(target)) is not None and target_wing not in may_import[wing]:
                problems.append(f"arrow against the wings: {name} ({wing}) -> {target} ({target_wing})")
    for (source, target), _reason in sorted(allowed.items()):
        if source in graph and target not in graph[source]:
            problems.append(f"stale allowance: {source} -> {target} is gone; remove it from ALLOWED")
    return problems


def render(
    modules: Mapping[str, Module],
    problems: Sequence[str],
    *,
    allowed: Mapping[tuple[str, str], str] = ALLOWED,
) -> str:
    """The graph by wing (lines, module, what it imports, [I/O libraries]), then the problems."""
    root = next(name for name in modules if "." not in name) + "."
    out: list[str] = []
    for wing, _, others in [*WINGS, ("in no wing", (), ())]:
        members = sorted(name for name in modules if (wing_of(name) or "in no wing") == wing)
        if not members:
            continue
        lines = sum(modules[member].lines for member in members)
        arrows = f" (imports {', '.join(others)})" if others else ""
        out.append(f"{wing}: {len(members)} modules, {lines:,} lines{arrows}")
        for name in members:
            module = modules[name]
            imports = ", ".join(sorted(target.removeprefix(root) for target in module.imports))
            libraries = f" [{', '.join(sorted(module.io_libraries))}]" if module.io_libraries else ""
            arrow = f" -> {imports}" if imports else ""
            out.append(f"  {module.lines:5}  {name.removeprefix(root)}{arrow}{libraries}")
    out += [f"allowed: {source} -> {target}: {reason}" for (source, target), reason in allowed.items()]
    out += problems
    cycles = sum(problem.startswith("cycle:") for problem in problems)
    out.append(
        f"house: {len(modules)} modules, {sum(m.lines for m in modules.values()):,} lines, {cycles} cycles, "
        f"{len(problems)} problems"
    )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m herdref.tools.imports", description=__doc__)
    parser.add_argument("package_dir", nargs="?", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    if not (args.package_dir / "__init__.py").is_file():
        print(f"herdref.tools.imports: {args.package_dir} is not a package", file=sys.stderr)
        return 2
    try:
        modules = read_package(args.package_dir)
    except SyntaxError as exc:
        print(f"herdref.tools.imports: {exc.filename}:{exc.lineno}: {exc.msg}", file=sys.stderr)
        return 2
    problems = findings(modules)
    print(render(modules, problems))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
