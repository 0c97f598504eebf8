"""herdref as a user installs it: built into a wheel, installed into a project's ``.venv``, and the
README's property-suite command run from that project folder against a herd that is not
herdref's. It passes on a correct herd and fails on a broken one.

The wheel goes into a folder of its own (``pip install --target``) inside the project, beside a
``pyvenv.cfg`` like any virtual environment's, which pytest will not collect from: the plugin
must bring its tests in all the same. The interpreter runs without ``site`` (``-S``), so the
checkout's editable install cannot be what is imported; the dependencies come from the
installed site-packages on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.e2e.herd_harness import write_herd_file

# One pytest-xdist worker runs this module: its tests share one built and installed wheel.
pytestmark = pytest.mark.xdist_group("installed_wheel")

REPOSITORY = Path(__file__).resolve().parents[2]
BAD_HERDS = Path(__file__).parent / "bad_herds"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A project folder whose ``.venv`` holds herdref from its wheel; the environment to run in."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(REPOSITORY)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("herdref-*.whl")
    folder = root / "project"
    installed = folder / ".venv" / "lib"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(installed),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    (folder / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    paths = sysconfig.get_paths()
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(installed), paths["purelib"], paths["platlib"]])
    return folder, environment


def run_property_suite(project: tuple[Path, dict[str, str]], herd: str) -> subprocess.CompletedProcess[str]:
    folder, environment = project
    config = write_herd_file(folder)
    launch = f"{sys.executable} {BAD_HERDS / herd} {{name}} --config {{config}}"
    # The README's command, narrowed to the IAMAT reply property to keep the run short.
    command = ["-m", "properties", "-k", "iamat_reply", "--herd-launch", launch, "--herd-config", str(config)]
    return subprocess.run(
        [sys.executable, "-S", "-m", "pytest", "-p", "no:cacheprovider", *command],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_the_wheel_is_what_runs(project: tuple[Path, dict[str, str]]) -> None:
    folder, environment = project
    where = subprocess.run(
        [sys.executable, "-S", "-c", "import herdref; print(herdref.__file__)"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(folder / ".venv"), where


def test_the_property_suite_passes_a_correct_herd(project: tuple[Path, dict[str, str]]) -> None:
    completed = run_property_suite(project, "_base.py")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout, completed.stdout


def test_the_property_suite_fails_a_broken_herd(project: tuple[Path, dict[str, str]]) -> None:
    # skew_without_plus writes a time difference of 0 or more without its '+' (AT-2).
    completed = run_property_suite(project, "skew_without_plus.py")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    # The reply is no AT line at all for the grammar (AT-1); Hypothesis shows the input.
    assert "1 failed" in completed.stdout and "Falsifying example" in completed.stdout, completed.stdout
