"""``herdref gradescope-bundle``: what the zip holds, and bad input refused in one line."""

from __future__ import annotations

import shlex
import zipfile
from pathlib import Path

import pytest

from herdref.herd.config import load_preset, parse_config
from herdref.tools.cli import ExitStatus, main


def test_a_preset_bundle_holds_the_scripts_the_herd_and_the_settings(tmp_path: Path) -> None:
    points = tmp_path / "points.toml"
    points.write_text("default = 2\n[points]\nFLOOD = 5\n")
    bundle = tmp_path / "autograder.zip"
    status = main(
        [
            "gradescope-bundle",
            "--preset",
            "course-2023",
            "-o",
            str(bundle),
            "--points",
            str(points),
            "-q",
            "--launch",
            "python3 server.py {name} --quiet",
            "--validate-options=--quick",
        ]
    )
    assert status == ExitStatus.OK
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        herd = archive.read("herd.toml").decode()
        settings = archive.read("grade.env").decode()
        executable = {info.filename for info in archive.infolist() if (info.external_attr >> 16) & 0o111}
        run_autograder = archive.read("run_autograder").decode()
    assert names == {"setup.sh", "run_autograder", "herd.toml", "grade.env", "points.toml"}
    assert executable == {"setup.sh", "run_autograder"}
    assert parse_config(herd).servers == load_preset("course-2023").servers
    values = dict(shlex.split(line)[0].split("=", 1) for line in settings.splitlines())
    assert values["HERDREF_LAUNCH"] == "python3 server.py {name} --quiet"
    assert values["HERDREF_VALIDATE_OPTIONS"] == "--quick" and values["HERDREF_POINTS"] == "points.toml"
    assert '"$ROOT/submission" --single --gradescope' in run_autograder
    assert 'ROOT="${HERDREF_AUTOGRADER_ROOT:-/autograder}"' in run_autograder


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--preset", "course-1999"], "no preset 'course-1999'"),
        (
            ["--preset", "default", "--points", "/nonexistent/points.toml"],
            "cannot read /nonexistent/points.toml",
        ),
        (["--preset", "default", "--wheel", "/nonexistent.whl"], "no such wheel"),
    ],
)
def test_bad_input_is_one_line_and_usage(
    tmp_path: Path, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["gradescope-bundle", "-o", str(tmp_path / "a.zip"), *arguments])
    assert status == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
