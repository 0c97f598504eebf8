"""The house rules of ARCHITECTURE.md, checked on herdref's own source by
``herdref.tools.imports``; each rule is also shown to fail on a small package made to break it."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

import herdref
from herdref.tools.imports import (
    ALLOWED,
    CHECKER_MUST_NOT_REACH,
    PURE,
    SHELLS,
    findings,
    main,
    read_package,
)

HERDREF_DIR = Path(herdref.__file__).parent


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
            "a.py": "from herdref import b\n",
            "b.py": """\
                def late():
                    from herdref.a import thing
                """,
        },
        ["cycle: herdref.a -> herdref.b -> herdref.a"],
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
        {"big.py": "x = 1\n" * 601, "fits.py": "x = 1\n" * 600},
        ["over 600 lines: herdref.big (601)"],
    ),
    "a pure module importing an I/O library, directly or through a helper": (
        {
            "protocol.py": "import socket\n",
            "model.py": "from herdref import helpers\n",
            "helpers.py": """\
                def serve():
                    from asyncio import start_server
                """,
        },
        [
            "pure module reaches I/O library asyncio: herdref.model -> herdref.helpers",
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
            "imports a tool: herdref.herd.config -> herdref.tools.cli",
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
            "imports a tool: herdref.checker.report -> herdref.tools.exitstatus",
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
            "imports a tool: herdref.places.fixture -> herdref.tools.serve",
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
