"""The version has one source, the installed distribution's metadata (pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

import herdref


def test_the_package_version_is_the_distributions() -> None:
    assert herdref.__version__ == metadata.version("herdref")


def test_a_missing_distribution_gives_a_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert herdref.__version__ == "0+unknown"


def test_other_missing_attributes_still_raise() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'version'"):
        herdref.version  # type: ignore[attr-defined]  # noqa: B018


def test_the_command_prints_the_same_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "herdref", "--version"], capture_output=True, text=True, timeout=30
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"herdref {metadata.version('herdref')}\n",
        "",
    )


def test_starting_a_command_does_not_read_the_metadata() -> None:
    # Every `herdref serve` builds the parser; the metadata is read only for --version.
    probe = "import sys; from herdref.tools import cli; cli._build_parser(); "
    probe += "print('importlib.metadata' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (0, "False\n"), result.stderr
