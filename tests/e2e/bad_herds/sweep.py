"""Run `herdref validate` on every herd of manifest.toml and compare its verdicts with the manifest.

    python3 tests/e2e/bad_herds/sweep.py [--jobs 2] [--only NAME,...] [VALIDATE OPTIONS ...]

Each herd gets its own free-port herd file and its own validate subprocess; the table printed
says, per herd, what the manifest expects, what validate reported (every FAIL, NON-STRICT, FLAKY
and ERROR with its check and clause), whether they agree (as :func:`corpus.judge` decides, the
same judge as ``tests/e2e/test_validate.py``), and the wall time. It ends with the figures the
checker is measured by: defects named by their own check under their own clause, FAILs for herds
with no bug, and the slowest run. Options it does not know go to validate (e.g. ``--quick``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERDS = Path(__file__).resolve().parent
REPOSITORY = HERDS.parents[2]
sys.path.insert(0, str(REPOSITORY))

from tests.e2e.bad_herds.corpus import CorpusHerd, CorpusRun, load_corpus, run_validate  # noqa: E402
from tests.e2e.herd_harness import write_herd_file  # noqa: E402

#: No single herd's run may take longer than this; past it the row says so.
RUN_BUDGET_S = 240


def run_one(herd: CorpusHerd, validate_options: list[str]) -> CorpusRun:
    with tempfile.TemporaryDirectory(prefix=f"sweep-{herd.name}-") as folder:
        directory = Path(folder)
        return run_validate(
            herd, write_herd_file(directory), directory, validate_options, budget_s=RUN_BUDGET_S
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="validate runs side by side (default: 1)")
    parser.add_argument("--only", default="", help="comma-separated herd names (default: all)")
    args, validate_options = parser.parse_known_args(argv)
    corpus = load_corpus()
    chosen = [herd for name, herd in corpus.items() if not args.only or name in args.only.split(",")]
    print(
        "| herd | kind | manifest | validate reported | agrees | s |\n|---|---|---|---|---|---|", flush=True
    )
    runs: list[CorpusRun] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # Rows are printed as they come (in manifest order), so a cut-short sweep still tells.
        for run in pool.map(lambda herd: run_one(herd, validate_options), chosen):
            runs.append(run)
            herd = run.herd
            expected = f"{herd.verdict} {herd.check or ''} {herd.clause}".replace("  ", " ")
            agrees = "yes" if not run.problems else "NO: " + "; ".join(run.problems)
            print(
                f"| {herd.name} | {herd.kind} | {expected} | {'; '.join(run.reported()) or 'no FAIL'} | "
                f"{agrees} | {run.elapsed_s:.1f} |",
                flush=True,
            )
    defects = [run for run in runs if run.herd.kind == "defect"]
    clean = [run for run in runs if run.herd.kind != "defect"]
    # Flagged: the defect's clause is reported at all (FAIL, NON-STRICT or FLAKY), by any check.
    flagged = [run for run in defects if any(item.split()[-1] == run.herd.clause for item in run.reported())]
    slowest = max(runs, key=lambda run: run.elapsed_s, default=None)
    print(
        f"\ndefects flagged under their clause: {len(flagged)}/{len(defects)}; "
        f"named exactly as the manifest says (own check, nothing else): "
        f"{sum(not run.problems for run in defects)}/{len(defects)}; "
        f"herds with no bug and no FAIL: "
        f"{sum(not any(i.startswith('FAIL') for i in run.reported()) for run in clean)}/{len(clean)}; "
        f"runs over 60 s: {sum(run.elapsed_s > 60 for run in runs)}; "
        f"runs without a report: {sum(not run.report for run in runs)}"
        + (f"; slowest {slowest.herd.name} {slowest.elapsed_s:.1f} s" if slowest else "")
    )
    return 0 if all(not run.problems for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
