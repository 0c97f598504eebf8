"""The house rules of ARCHITECTURE.md, checked on herdref's own source by
``herdref.tools.imports``; each rule is also shown to fail on a small package made to break it."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from herdref.tools.imports import (
    ALLOWED,
    CHECKER_MUST_NOT_REACH,
    PURE,
    SHELLS,
    WINGS,
    findings,
    main,
    read_package,
    wing_of,
)

REPOSITORY = Path(__file__).resolve().parents[2]
HERDREF_DIR = REPOSITORY / "herdref"


def make_package(root: Path, files: dict[str, str]) -> Path:
    """A package ``herdref`` under ``root`` holding ``files`` (path -> source), every
    directory a package."""
    package = root / "herdref"
    for relative, source in {"__init__.py": "", **files}.items():
        path = package / relative
        for directory in [path.parent, *path.parent.parents]:
            if directory == root:
                break
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "__init__.py").touch()
        path.write_text(dedent(source), encoding="utf-8")
    return package


def problems_of(tmp_path: Path, files: dict[str, str], **options: dict[tuple[str, str], str]) -> list[str]:
    return findings(read_package(make_package(tmp_path, files)), **options)


def test_herdref_keeps_the_house() -> None:
    modules = read_package(HERDREF_DIR)
    # The rules name real modules, so a rename cannot switch one off unnoticed.
    named = {*PURE, *SHELLS, *CHECKER_MUST_NOT_REACH, *(source for source, _ in ALLOWED)}
    assert named <= modules.keys(), named - modules.keys()
    # Imports inside functions and under TYPE_CHECKING are edges (herd/node.py has both).
    assert "herdref.herd.peer_auth" in modules["herdref.herd.node"].imports
    problems = findings(modules)
    assert problems == [], "\n".join(problems)


def listed_in_architecture_md() -> dict[str, str]:
    """ARCHITECTURE.md's module list: path under herdref/ (a directory ends in /) -> its wing."""
    text = (REPOSITORY / "ARCHITECTURE.md").read_text(encoding="utf-8")
    listed: dict[str, str] = {}
    wing = ""
    for line in text.split("```text\n", 1)[1].split("```", 1)[0].splitlines():
        if line.startswith("  "):
            listed[line.split()[0]] = wing
        else:
            wing = line.split("  ", 1)[0]
    return listed


def test_architecture_md_lists_every_module_under_its_wing() -> None:
    listed = listed_in_architecture_md()
    assert list(dict.fromkeys(listed.values())) == [wing for wing, _, _ in WINGS]
    assert all((HERDREF_DIR / path).exists() for path in listed), "ARCHITECTURE.md lists a missing file"
    for name in read_package(HERDREF_DIR):
        path = "/".join(name.split(".")[1:])
        if (HERDREF_DIR / path).is_dir():
            if path:  # a subpackage's __init__ belongs with its modules
                continue
            path = "__init__.py"
        else:
            path += ".py"
        entries = [
            entry for entry in listed if entry == path or (entry.endswith("/") and path.startswith(entry))
        ]
        assert entries, f"ARCHITECTURE.md does not list {path}"
        assert listed[entries[0]] == wing_of(name), path


def test_the_command_prints_the_graph_and_exits_0_on_a_clean_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = make_package(
        tmp_path,
        {
            "protocol.py": "import re\n",
            "herd/server.py": "import asyncio\nfrom herdref import protocol\n",
            "tools/cli.py": "from herdref.herd.server import serve\n",
            "__main__.py": "from herdref.tools.cli import main\n",
        },
    )
    assert main([str(package)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "      2  herd.server -> protocol [asyncio]" in out
    assert "      1  __main__ -> tools.cli" in out
    assert out[-1] == "house: 7 modules, 5 lines, 0 cycles, 0 problems"


def test_the_command_exits_1_on_a_broken_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = make_package(tmp_path, {"protocol.py": "import socket\n"})
    assert main([str(package)]) == 1
    out = capsys.readouterr().out
    assert "pure module reaches I/O library socket: herdref.protocol\n" in out


def test_the_command_refuses_what_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 2
    package = make_package(tmp_path, {"model.py": "def broken(:\n"})
    assert main([str(package)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0] == f"herdref.tools.imports: {tmp_path} is not a package"
    assert err[1].startswith(f"herdref.tools.imports: {package / 'model.py'}:1: ")


CASES = {
    "a cycle through an import inside a function": (
        {
            "checker/a.py": "from herdref.checker import b\n",
            "checker/b.py": """\
                def late():
                    from herdref.checker.a import thing
                """,
        },
        ["cycle: herdref.checker.a -> herdref.checker.b -> herdref.checker.a"],
    ),
    "a cycle through TYPE_CHECKING and relative imports": (
        {
            "herd/x.py": "from .y import Y\n",
            "herd/y.py": """\
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from . import x
                """,
        },
        ["cycle: herdref.herd.x -> herdref.herd.y -> herdref.herd.x"],
    ),
    "a module over 600 lines": (
        {"checker/big.py": "x = 1\n" * 601, "checker/fits.py": "x = 1\n" * 600},
        ["over 600 lines: herdref.checker.big (601)"],
    ),
    "a pure module importing an I/O library, directly or through another module": (
        {
            "protocol.py": "import socket\n",
            "herd/node.py": "from herdref.herd import peer_auth\n",
            "herd/peer_auth.py": """\
                def run():
                    from subprocess import run
                """,
        },
        [
            "pure module reaches I/O library subprocess: herdref.herd.node -> herdref.herd.peer_auth",
            "pure module reaches I/O library socket: herdref.protocol",
        ],
    ),
    "a pure module importing a herd shell or a tool": (
        {
            "herd/state.py": "from ..places import client\n",
            "places/client.py": "",
            "herd/config.py": """\
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from herdref.tools.cli import main
                """,
            "tools/cli.py": "",
        },
        [
            "pure module reaches an I/O shell or a tool: herdref.herd.config -> herdref.tools.cli",
            "pure module reaches an I/O shell or a tool: herdref.herd.state -> herdref.places.client",
            "arrow against the wings: herdref.herd.config (herd core) -> herdref.tools.cli (tools)",
            "arrow against the wings: herdref.herd.state (herd core) -> herdref.places.client (Places)",
        ],
    ),
    "the checker reaching the links, the node or a tool": (
        {
            "checker/runner.py": "from herdref.checker import helpers\n",
            "checker/helpers.py": "from herdref.herd.links import PeerLinks\n",
            "checker/machine.py": "import herdref.herd.node\n",
            "checker/report.py": "def f():\n    from herdref.tools import exitstatus\n",
            "herd/links.py": "",
            "herd/node.py": "",
            "tools/exitstatus.py": "",
        },
        [
            "checker reaches a herd shell or a tool: herdref.checker.helpers -> herdref.herd.links",
            "checker reaches a herd shell or a tool: herdref.checker.machine -> herdref.herd.node",
            "checker reaches a herd shell or a tool: herdref.checker.report -> herdref.tools.exitstatus",
            "checker reaches a herd shell or a tool: "
            "herdref.checker.runner -> herdref.checker.helpers -> herdref.herd.links",
            "arrow against the wings: herdref.checker.helpers (checker) -> herdref.herd.links (herd shells)",
            "arrow against the wings: herdref.checker.report (checker) -> herdref.tools.exitstatus (tools)",
        ],
    ),
    "a module outside the tools importing one": (
        {
            "places/fixture.py": "from herdref.tools.serve import main\n",
            "tools/serve.py": "from herdref.places import fixture\n",
            "__main__.py": "from herdref.tools.serve import main\n",
        },
        [
            "cycle: herdref.places.fixture -> herdref.tools.serve -> herdref.places.fixture",
            "arrow against the wings: herdref.places.fixture (Places) -> herdref.tools.serve (tools)",
        ],
    ),
    "imports against the arrows, and a module in no wing": (
        {
            "__init__.py": "from herdref.places.client import PlacesClient\n",
            "places/client.py": "from herdref.herd import server\n",
            "herd/server.py": "from herdref.checker.client import LineSession\n",
            "checker/client.py": "",
            "protocol.py": "from herdref.herd.config import HerdConfig\n",
            "herd/config.py": "",
            "stray.py": "",
        },
        [
            "arrow against the wings: herdref (public API) -> herdref.places.client (Places)",
            "arrow against the wings: herdref.herd.server (herd shells) -> herdref.checker.client (checker)",
            "arrow against the wings: herdref.places.client (Places) -> herdref.herd.server (herd shells)",
            "arrow against the wings: herdref.protocol (spec core) -> herdref.herd.config (herd core)",
            "in no wing: herdref.stray; give it one in WINGS and ARCHITECTURE.md",
        ],
    ),
}


@pytest.mark.parametrize(("files", "expected"), CASES.values(), ids=CASES.keys())
def test_each_rule_reports_what_breaks_it(tmp_path: Path, files: dict[str, str], expected: list[str]) -> None:
    assert problems_of(tmp_path, files, allowed={}) == expected


def test_an_allowed_edge_passes_and_a_stale_allowance_is_reported(tmp_path: Path) -> None:
    files = {"checker/simulation.py": "from herdref.herd.node import HerdNode\n", "herd/node.py": ""}
    allowed = {("herdref.checker.simulation", "herdref.herd.node"): "why"}
    assert problems_of(tmp_path / "uses", files, allowed=allowed) == []
    files["checker/simulation.py"] = ""
    assert problems_of(tmp_path / "stale", files, allowed=allowed) == [
        "stale allowance: herdref.checker.simulation -> herdref.herd.node is gone; remove it from ALLOWED"
    ]
