"""``herdref grade SUBMISSIONS --launch TEMPLATE --config HERD.toml --out DIR``: grade a class.

SUBMISSIONS holds one folder per submission (``--single``: SUBMISSIONS is one submission).
Each gets a full ``herdref validate`` run, as a subprocess with ``--cwd`` its folder and
TEMPLATE as ``--launch`` (``{name}``, ``{port}``, ``{config}``, ``{places_url}``), its reports in
``DIR/<submission>/`` (report.json, report.html, report.xml JUnit, validate.log,
server-output/, and results.json with ``--gradescope``), and a row in ``DIR/grades.csv``.

Parallel runs: as root on Linux with iproute2 each job runs in a network namespace of its own,
so ``--jobs N`` grades N herds on the same hard-coded ports at once. Otherwise (or with
``--no-netns``) submissions are graded one at a time, and the command says so.

A submission that cannot start, outlives ``--budget`` or leaves no readable report still gets
its row (status timeout, unreachable, no-report, garbage-report, ...) and never stops the batch.
Scores follow ``--points`` (see docs/grading.md; default one point per check) and can be
recomputed from each report.json alone.

Exit status: 0 every submission has a row, 2 bad command line or points file, 130 interrupted
(every process stopped, every namespace deleted, the rows so far written).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any

from herdref.tools.exitstatus import ExitStatus

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("\n\n", 1)[1] if __doc__ else None
    parser.add_argument("submissions", type=Path, help="folder of submission folders")
    parser.add_argument(
        "--launch",
        required=True,
        metavar="TEMPLATE",
        help="command that starts one server, run in the submission",
    )
    parser.add_argument("--config", type=Path, required=True, help="herd file (TOML) every submission uses")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="where grades.csv and reports go"
    )
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once (needs namespaces)")
    parser.add_argument(
        "--points", type=Path, metavar="FILE", help="points file (TOML); default one point per check"
    )
    parser.add_argument("--budget", type=float, default=600.0, help="seconds one submission's check may take")
    parser.add_argument(
        "--validate-options",
        default="",
        metavar="OPTIONS",
        help="more validate options for every submission, e.g. --validate-options='--quick --timeout 2'",
    )
    parser.add_argument("--gradescope", action="store_true", help="also write each submission's results.json")
    parser.add_argument(
        "--gradescope-visibility",
        default="visible",
        choices=("visible", "hidden", "after_due_date", "after_published"),
        help="visibility of the results.json tests",
    )
    parser.add_argument(
        "--no-netns", action="store_true", help="no network namespaces: one submission at a time"
    )
    parser.add_argument("--single", action="store_true", help="SUBMISSIONS is itself the one submission")


def _usage(message: str) -> int:
    print(f"herdref grade: {message}", file=sys.stderr)
    return ExitStatus.USAGE


def run(args: argparse.Namespace) -> int:
    from herdref.grading.batch import Batch, GradeSettings, SubmissionResult, find_submissions, log_tail
    from herdref.grading.gradescope import results_document, write_results
    from herdref.grading.namespaces import namespaces_unavailable
    from herdref.grading.points import PointsError, load_points
    from herdref.grading.table import write_grades_csv
    from herdref.tools.cli import paint

    if args.jobs < 1:
        return _usage(f"--jobs must be 1 or more, not {args.jobs}")
    if args.budget <= 0:
        return _usage(f"--budget must be a number of seconds > 0, not {args.budget:g}")
    if not args.submissions.is_dir():
        return _usage(f"no such folder: {args.submissions}")
    if not args.config.is_file():
        return _usage(f"no such herd file: {args.config}")
    try:
        points = load_points(args.points)
        validate_options = shlex.split(args.validate_options)
    except (PointsError, ValueError) as exc:
        return _usage(str(exc))
    submissions = find_submissions(args.submissions, single=args.single, out_dir=args.out)
    if not submissions:
        return _usage(f"no submission folders in {args.submissions}")
    use_namespaces = False
    if args.no_netns and args.jobs > 1:
        print("herdref grade: --no-netns: grading one submission at a time", file=sys.stderr)
    if not args.no_netns:
        reason = namespaces_unavailable()
        use_namespaces = reason is None
        if reason is not None and args.jobs > 1:  # with --jobs 1 nothing is lost: no notice
            print(
                f"herdref grade: grading one submission at a time: parallel jobs need {reason}",
                file=sys.stderr,
            )
    args.out.mkdir(parents=True, exist_ok=True)
    settings = GradeSettings(
        launch=args.launch,
        config=args.config,
        out_dir=args.out,
        points=points,
        budget_s=args.budget,
        validate_options=validate_options,
        gradescope=args.gradescope,
    )
    results: list[SubmissionResult] = []
    csv_path = args.out / "grades.csv"

    def on_result(result: SubmissionResult) -> None:
        results.append(result)
        write_grades_csv(csv_path, results)
        if args.gradescope:
            document = results_document(
                result,
                log_tail=log_tail(args.out / result.submission / "validate.log"),
                visibility=args.gradescope_visibility,
            )
            write_results(args.out / result.submission / "results.json", document)
        if not args.quiet:
            print(_progress_line(result, len(results), len(submissions), paint), file=sys.stderr, flush=True)

    batch = Batch(settings, jobs=args.jobs, use_namespaces=use_namespaces, on_result=on_result)
    # SIGINT too, explicitly (as herdref herd does): a grade started from a script in the
    # background inherits SIGINT ignored, and then no Ctrl-C or kill -INT could stop its jobs.
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    started = time.monotonic()
    try:
        batch.run(submissions)
    except KeyboardInterrupt:
        print(
            f"herdref grade: interrupted; {len(results)} of {len(submissions)} rows in {csv_path}",
            file=sys.stderr,
        )
        return ExitStatus.INTERRUPTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    elapsed = time.monotonic() - started
    mode = f"{batch.jobs} at a time in network namespaces" if use_namespaces else "one at a time"
    if not args.quiet:
        print(
            f"graded {len(results)} submissions in {elapsed:.1f} s ({mode}): {csv_path}",
            file=sys.stderr,
        )
    return ExitStatus.OK


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _progress_line(result: Any, done: int, total: int, paint: Any) -> str:
    if result.score is not None:
        figure = f"{result.score.score:g}/{result.score.max_score:g}"
        colour = "green" if result.score.score >= result.score.max_score else "yellow"
        if result.score.counts.get("fail"):
            colour = "red"
    else:
        figure, colour = "no score", "red"
    note = f" — {result.note}" if result.note else ""
    return (
        f"[{done}/{total}] {result.submission}: {paint(figure, colour, sys.stderr)} "
        f"({result.status}, {result.elapsed_s:.1f} s){note}"
    )
