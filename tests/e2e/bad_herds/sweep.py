"""Run `herdref validate` on every herd of manifest.toml and compare its verdicts with the manifest.

    python3 tests/e2e/bad_herds/sweep.py [--jobs 2] [--only NAME,...] [VALIDATE OPTIONS ...]

Each herd gets its own free-port herd file and its own validate subprocess; the table printed
says, per herd, what the manifest expects, what validate reported (every FAIL and NON-STRICT with
its check and clause), whether they agree, and the wall time. It ends with the figures the
checker is measured by: defects caught under their own clause, FAILs for herds with no bug, and
the slowest run. Options it does not know go to validate (e.g. ``--quick``).

A herd "agrees" when:
* base or dialect: no FAIL at all (the course allows it);
* defect, verdict FAIL: a FAIL names the manifest's clause, and no FAIL names another clause;
* defect, verdict NON-STRICT: the clause is reported NON-STRICT and nothing FAILs;
* defect, verdict FLAKY: a FLAKY or FAIL names the clause.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERDS = Path(__file__).resolve().parent
REPOSITORY = HERDS.parents[2]
sys.path.insert(0, str(REPOSITORY))

from tests.e2e.herd_harness import write_herd_file  # noqa: E402

#: No single herd's run may take longer than this; past it the row says so.
RUN_BUDGET_S = 240


@dataclass(frozen=True)
class Row:
    herd: str
    kind: str
    clause: str
    expected: str
    found: list[str]
    agrees: bool
    elapsed_s: float
    note: str = ""


def judge(entry: dict[str, object], checks: list[dict[str, str]]) -> bool:
    clause, expected = str(entry["clause"]), str(entry["verdict"])
    fails = {check["clause"] for check in checks if check["verdict"] == "FAIL"}
    if entry["kind"] in ("base", "dialect") or expected == "0 FAIL":
        return not fails
    if expected == "FAIL":
        return fails == {clause}
    if expected == "NON-STRICT":
        return not fails and any(c["clause"] == clause and c["verdict"] == "NON-STRICT" for c in checks)
    return any(c["clause"] == clause and c["verdict"] in ("FLAKY", "FAIL") for c in checks)


def run_one(name: str, entry: dict[str, object], validate_options: list[str]) -> Row:
    with tempfile.TemporaryDirectory(prefix=f"sweep-{name}-") as folder:
        directory = Path(folder)
        config = write_herd_file(directory)
        launch = (
            str(entry["launch"])
            .replace("{python}", sys.executable)
            .replace("{herd}", str(HERDS / str(entry["file"])))
        )
        options = [] if entry.get("per_server", True) else ["--connect-host", "127.0.0.1"]
        report = directory / "report.json"
        command = [sys.executable, "-m", "herdref", "validate", "--quiet", "--json", str(report)]
        command += ["--launch", launch, "--config", str(config), *options, *validate_options]
        started = time.monotonic()
        note = ""
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=RUN_BUDGET_S, cwd=HERDS
            )
            note = "" if report.exists() else (completed.stderr.strip().splitlines() or ["no report"])[-1]
        except subprocess.TimeoutExpired:
            note = f"validate ran over {RUN_BUDGET_S} s"
        elapsed = time.monotonic() - started
        checks = json.loads(report.read_text())["checks"] if report.exists() else []
    found = [
        f"{c['verdict']} {c['check']} {c['clause']}"
        for c in checks
        if c["verdict"] in ("FAIL", "NON-STRICT", "FLAKY", "ERROR")
    ]
    agrees = judge(entry, checks) and not note
    return Row(
        name, str(entry["kind"]), str(entry["clause"]), str(entry["verdict"]), found, agrees, elapsed, note
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="validate runs side by side (default: 1)")
    parser.add_argument("--only", default="", help="comma-separated herd names (default: all)")
    args, validate_options = parser.parse_known_args(argv)
    herds: dict[str, dict[str, object]] = tomllib.loads((HERDS / "manifest.toml").read_text())["herds"]
    chosen = [name for name in herds if not args.only or name in args.only.split(",")]
    print(
        "| herd | kind | manifest | validate reported | agrees | s |\n|---|---|---|---|---|---|", flush=True
    )
    rows: list[Row] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # Rows are printed as they come (in manifest order), so a cut-short sweep still tells.
        for row in pool.map(lambda name: run_one(name, herds[name], validate_options), chosen):
            rows.append(row)
            reported = "; ".join(row.found) or "no FAIL"
            if row.note:
                reported += f" ({row.note})"
            print(
                f"| {row.herd} | {row.kind} | {row.expected} {row.clause} | {reported} | "
                f"{'yes' if row.agrees else 'NO'} | {row.elapsed_s:.1f} |",
                flush=True,
            )
    defects = [row for row in rows if row.kind == "defect"]
    clean = [row for row in rows if row.kind in ("base", "dialect")]
    print(
        f"\ndefects agreeing with the manifest: {sum(r.agrees for r in defects)}/{len(defects)}; "
        f"herds with no bug and no FAIL: {sum(r.agrees for r in clean)}/{len(clean)}; "
        f"slowest run {max((r.elapsed_s for r in rows), default=0):.1f} s"
    )
    return 0 if all(row.agrees for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
