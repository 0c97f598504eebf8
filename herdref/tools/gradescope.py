"""``herdref gradescope-bundle --preset course-2023 -o autograder.zip``: a Gradescope autograder.

Gradescope runs one container per submission: ``setup.sh`` once when the image is built, then
``run_autograder`` with the submission in ``/autograder/submission``, expecting
``/autograder/results/results.json``. The zip holds:

* ``setup.sh``: installs herdref (``--requirement``, default ``herdref[check]``; a wheel given
  with ``--wheel`` is shipped in the zip and installed instead) into a virtual environment of a
  Python >= 3.11 (installed with apt when the image has none); the submission's own servers
  still run with the image's ``python3``, so add what they import to setup.sh;
* ``run_autograder``: ``herdref grade --single --gradescope`` on the submission, the results
  copied to ``results/results.json`` (a results.json saying what went wrong if grading fails);
* ``herd.toml``: the herd every submission is graded on (the preset's, or ``--config``);
* ``grade.env``: the launch template, validate options and points file name, which
  ``run_autograder`` reads;
* ``points.toml`` when ``--points`` is given.

Both scripts take their root from ``HERDREF_AUTOGRADER_ROOT`` (default ``/autograder``), so the
bundle can be run in any folder laid out like ``/autograder``; ``HERDREF_SKIP_INSTALL=1`` makes
``setup.sh`` install nothing and ``HERDREF_PYTHON`` names the Python that runs herdref (default:
the virtual environment's).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import zipfile
from pathlib import Path
from typing import Final

from herdref.tools.exitstatus import ExitStatus

logger = logging.getLogger(__name__)

__all__ = ["RUN_AUTOGRADER", "SETUP_SH", "add_arguments", "bundle_files", "run"]

SETUP_SH: Final = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: herdref goes into a virtual
# environment of a Python >= 3.11 ($ROOT/herdref-venv), which run_autograder then uses.
set -euo pipefail
ROOT="${HERDREF_AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
if [ -n "${HERDREF_SKIP_INSTALL:-}" ]; then
    echo "setup.sh: HERDREF_SKIP_INSTALL is set: nothing installed"
    exit 0
fi
python=""
for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null \\
        && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [ -z "$python" ]; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv
    python=python3.11
fi
"$python" -m venv "$ROOT/herdref-venv"
wheel=$(ls "$SOURCE"/*.whl 2>/dev/null | head -n 1 || true)
if [ -n "$wheel" ]; then
    requirement="$wheel[check]"
else
    . "$SOURCE/grade.env"
    requirement="$HERDREF_REQUIREMENT"
fi
"$ROOT/herdref-venv/bin/python" -m pip install --upgrade pip
"$ROOT/herdref-venv/bin/python" -m pip install "$requirement"
"""

RUN_AUTOGRADER: Final = """#!/usr/bin/env bash
# Gradescope runs this in a fresh container for each submission.
set -uo pipefail
ROOT="${HERDREF_AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
PYTHON="${HERDREF_PYTHON:-$ROOT/herdref-venv/bin/python}"
. "$SOURCE/grade.env"
mkdir -p "$ROOT/results"
work=$(mktemp -d)
points=()
if [ -n "$HERDREF_POINTS" ]; then
    points=(--points "$SOURCE/$HERDREF_POINTS")
fi
"$PYTHON" -m herdref grade "$ROOT/submission" --single --gradescope --no-netns \\
    --launch "$HERDREF_LAUNCH" --config "$SOURCE/herd.toml" --out "$work" \\
    --budget "$HERDREF_BUDGET" --validate-options="$HERDREF_VALIDATE_OPTIONS" "${points[@]}"
status=$?
if [ -f "$work/submission/results.json" ]; then
    cp "$work/submission/results.json" "$ROOT/results/results.json"
    cp -r "$work/submission" "$ROOT/results/herdref-reports" 2>/dev/null || true
else
    printf '{"score": 0, "tests": [], "output": "%s"}\\n' \\
        "herdref grade ended with status $status and wrote no results" > "$ROOT/results/results.json"
fi
rm -rf "$work"
exit 0
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("\n\n", 1)[1] if __doc__ else None
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--preset", help="the herd to grade on, e.g. course-2023 (herdref herd --list-presets)"
    )
    source.add_argument("--config", type=Path, help="the herd to grade on, as a herd file")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the zip to write")
    parser.add_argument(
        "--launch",
        default="python3 server.py {name}",
        metavar="TEMPLATE",
        help="how a submission starts one server, run in the submission folder",
    )
    parser.add_argument("--points", type=Path, metavar="FILE", help="points file (TOML) to ship")
    parser.add_argument(
        "--budget", type=float, default=900.0, help="seconds the check of one submission may take"
    )
    parser.add_argument(
        "--validate-options",
        default="",
        metavar="OPTIONS",
        help="more herdref validate options, e.g. --validate-options=--quick",
    )
    parser.add_argument(
        "--requirement",
        default="herdref[check]",
        help="what setup.sh installs with pip (a name, URL or path)",
    )
    parser.add_argument("--wheel", type=Path, help="a herdref wheel to ship in the zip and install")


def _herd_text(args: argparse.Namespace) -> str:
    from herdref.herd.config import load_config, parse_config
    from herdref.tools.serve import preset_text

    if args.config is not None:
        load_config(args.config)  # a broken herd file is refused here, not in every container
        text: str = args.config.read_text(encoding="utf-8")
        return text
    text = preset_text(args.preset)  # ConfigError names the presets when this one does not exist
    parse_config(text)
    return text


def bundle_files(args: argparse.Namespace) -> dict[str, str]:
    """Name in the zip -> text, for every file but the wheel."""
    environment = {
        "HERDREF_LAUNCH": args.launch,
        "HERDREF_VALIDATE_OPTIONS": args.validate_options,
        "HERDREF_BUDGET": f"{args.budget:g}",
        "HERDREF_POINTS": "points.toml" if args.points else "",
        "HERDREF_REQUIREMENT": args.requirement,
    }
    files = {
        "setup.sh": SETUP_SH,
        "run_autograder": RUN_AUTOGRADER,
        "herd.toml": _herd_text(args),
        "grade.env": "".join(f"{key}={shlex.quote(value)}\n" for key, value in environment.items()),
    }
    if args.points:
        from herdref.grading.points import load_points

        load_points(args.points)  # refused here if broken
        files["points.toml"] = args.points.read_text(encoding="utf-8")
    return files


def run(args: argparse.Namespace) -> int:
    from herdref.grading.points import PointsError

    shlex.split(args.validate_options)
    if args.wheel is not None and not args.wheel.is_file():
        print(f"herdref gradescope-bundle: no such wheel: {args.wheel}", file=sys.stderr)
        return ExitStatus.USAGE
    try:
        files = bundle_files(args)
    except (PointsError, OSError) as exc:
        print(f"herdref gradescope-bundle: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    with zipfile.ZipFile(args.output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 if name in ("setup.sh", "run_autograder") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
            logger.info("%s: %s, %d bytes", args.output, name, len(text.encode("utf-8")))
        if args.wheel is not None:
            archive.write(args.wheel, args.wheel.name)
            logger.info("%s: %s (the wheel to install)", args.output, args.wheel.name)
    if not args.quiet:
        print(f"wrote {args.output}: {', '.join(files)}{', ' + args.wheel.name if args.wheel else ''}")
    return ExitStatus.OK
