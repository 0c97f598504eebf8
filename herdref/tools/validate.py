"""``herdref validate``: check any herd over TCP as a black box.

Three ways to name the herd under test:

* ``--launch 'python3 server.py {name}' --config herd.toml``: the checker starts each server
  itself (``{name}``, ``{port}``, ``{config}``, ``{places_url}`` substituted), and kills
  (SIGKILL, SIGTERM), pauses (SIGSTOP/SIGCONT) and restarts them for the fault checks;
* ``--attach --config herd.toml``: the herd already runs; only checks that change nothing
  beyond adding records are run (no kill, no pause);
* neither: the reference herd, started from a free-port copy of the herd file (or the
  default preset).

Places: an HTTP fixture that speaks both Google Nearby Search APIs is started, and its base URL
is handed to every server in the environment variable ``HERDREF_PLACES_URL`` (the one mechanism;
``herdref serve`` honours it, so ``--launch 'herdref serve {name} --config {config}'`` checks
the reference herd), also as ``PLACES_URL`` and as the ``{places_url}`` placeholder for herds
that take it another way. With ``--redirect-google``, a ``sitecustomize`` module put first on
the servers' ``PYTHONPATH`` also resolves maps.googleapis.com and places.googleapis.com to the
fixture (through a loopback TLS front whose throw-away CA is added via ``SSL_CERT_FILE`` and
``REQUESTS_CA_BUNDLE``), for Python code that hard-codes Google's URL. It cannot reach code that
is not Python, that resolves names without getaddrinfo (aiodns), or that pins certificates.
``--isolate`` (Linux, root) runs everything in a fresh network namespace whose /etc/hosts sends
those hosts to the fixture (ports 80 and 443), which reaches herds in any language that read
/etc/hosts and honour SSL_CERT_FILE, REQUESTS_CA_BUNDLE or NODE_EXTRA_CA_CERTS. A server whose
Places requests reach the fixture by none of these ways cannot be checked for WHATSAT replies or
the radius it sends: those checks report UNSUPPORTED and say so.

SPEC profiles (SPEC.md 1.1): clauses tagged ``strict`` (byte-exact echo IAMAT-5, raw ``?`` copy
ERR-2, several commands per connection FRAME-3) and the ``Strict:`` parts of core clauses (nine
digits in AT-2, a decimal radius and bound 0 in WHATSAT-2/3) bind only in the strict profile.
``--spec-profile lenient`` (the default, as SPEC.md asks of a checker that does not know which
profile a server claims) reports a failure of those alone as NON-STRICT, a strict deviation;
``--spec-profile strict`` reports it as FAIL. Levels and tags are read from SPEC.md (``--spec``)
when it is found, else from a built-in copy.

Verdicts: PASS, FAIL, NON-STRICT, FLAKY, UNSUPPORTED (cannot be judged on this herd, with the
reason), BLOCKED (a prerequisite check failed; it is named), ERROR (the checker's own fault),
SKIPPED (left out by the options). The first check, ``dialect``, finds how the herd frames
IAMAT and WHATSAT; every other check talks in that dialect.

Varied inputs: client times of 1 to 19 integer and 0 to 12 fraction digits, unusual but valid
locations, lines of 100 to 4,000 octets (and one past 64 KiB), an extra field at every
position, white space of every kind and commands split across TCP writes are drawn from one seed
per run (each check from the seed and its own name). The seed is printed and written to every
report; ``--seed N`` repeats the run's inputs, and each failure's replay command carries it.

Exit status: 0 no check failed (UNSUPPORTED, BLOCKED and SKIPPED allowed), 1 a MUST clause of
the SPEC profile failed, or a MUST check whose failure would have been a FAIL was FLAKY (unless
--allow-flaky; a FLAKY strict deviation under the lenient profile does not fail the run), 2 bad
command line or herd file, 3 only SHOULD clauses or strict deviations failed (NON-STRICT), 4 the herd never
became reachable, 5 the checker itself failed (ERROR), 6 nothing failed but the time budget
ran out before every MUST check could judge (raise --budget / --check-budget). The reports asked
for (--json, --junit, --html) are written in every case but a bad command line.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import herdref
from herdref.tools.exitstatus import ExitStatus

__all__ = ["add_arguments", "run"]

#: The SPEC profiles (kept here so --help needs no heavy import; herdref.checker.grading agrees).
SPEC_PROFILE_CHOICES = ("lenient", "strict")
#: The stateful run's examples by --profile (for --help; herdref.checker.machine agrees, tested).
STATEFUL_EXAMPLES = {"quick": 12, "full": 30}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n\n", 1)[1] if __doc__ else None
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--launch", metavar="COMMAND", help="command that starts one server ({name}, {port}, ...)"
    )
    target.add_argument(
        "--attach", action="store_true", help="check an already running herd (non-destructive)"
    )
    parser.add_argument("--config", type=Path, help="herd file (TOML) of the herd under test")
    parser.add_argument("--cwd", type=Path, help="working directory for --launch")
    parser.add_argument(
        "--connect-host",
        metavar="HOST",
        help="reach every server at HOST (same ports) whatever host the herd file names: for a herd "
        "whose file binds a lab host name or 0.0.0.0 (e.g. --connect-host 127.0.0.1)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="CHECK|CLAUSE",
        help="run only these (repeat or comma-separate)",
    )
    parser.add_argument("--skip", action="append", default=[], metavar="CHECK|CLAUSE", help="skip these")
    parser.add_argument(
        "--profile",
        choices=("quick", "full"),
        default="full",
        help="how much to run (not the SPEC profile graded against: that is --spec-profile); "
        "quick: two of the ten kill-pairs, fewer stateful examples",
    )
    parser.add_argument(
        "--quick", action="store_const", const="quick", dest="profile", help="same as --profile quick"
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=None,
        help="stateful run: number of Hypothesis examples (default: "
        f"{STATEFUL_EXAMPLES['quick']} with --quick, {STATEFUL_EXAMPLES['full']} in full)",
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for one reply (default 5)"
    )
    parser.add_argument("--propagation", type=float, default=5.0, help="seconds a flood may take (default 5)")
    parser.add_argument(
        "--startup", type=float, default=10.0, help="seconds a server may take to listen (default 10)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=50.0,
        metavar="SECONDS",
        help="time budget of the checks and the stateful run together (default 50); checks not "
        "started in time are SKIPPED, the stateful run is cut short (exit 6 when a MUST check "
        "went unjudged)",
    )
    parser.add_argument(
        "--check-budget",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="time budget of one check (default 20); a check that runs out is UNSUPPORTED (exit 6 "
        "for a MUST check)",
    )
    parser.add_argument(
        "--catch-up",
        action="store_true",
        help="the herd implements the catch-up extension (CATCHUP-1; implied for the reference herd)",
    )
    parser.add_argument(
        "--redirect-google",
        action="store_true",
        help="resolve Google's Places hosts to the fixture in Python servers (sitecustomize)",
    )
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="run in a fresh network namespace whose /etc/hosts sends Google's hosts to the fixture "
        "(Linux, root, iproute2)",
    )
    parser.add_argument(
        "--keep-output",
        type=Path,
        metavar="DIR",
        help="keep each server's stdout/stderr in DIR (NAME.N.log, one file per start)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML report")
    parser.add_argument(
        "--spec-profile",
        choices=SPEC_PROFILE_CHOICES,
        default="lenient",
        help="SPEC profile to grade against (SPEC 1.1; not how much to run: that is --profile): "
        "lenient (default) reports a broken strict-only clause as NON-STRICT (a strict deviation), "
        "strict as FAIL",
    )
    parser.add_argument(
        "--spec",
        type=Path,
        help="SPEC.md to take clause texts, levels and profile tags from (default: the checkout's)",
    )
    parser.add_argument(
        "--allow-flaky",
        action="store_true",
        help="a MUST check that failed once and passed on replay (FLAKY) does not fail the run "
        "(a FLAKY strict deviation under the lenient profile never does)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the varied inputs (client times, locations, line lengths, split writes); "
        "every report prints the one used, and the same seed repeats the run's inputs",
    )
    parser.add_argument("--list", action="store_true", help="list the checks and exit")


def _split(values: list[str]) -> list[str]:
    return [word for value in values for word in value.split(",") if word]


def _replay_command(args: argparse.Namespace, check_name: str, seed: int | None = None) -> str:
    words = ["herdref", "validate"]
    if args.launch:
        words += ["--launch", args.launch]
    if args.attach:
        words.append("--attach")
    if args.config:
        words += ["--config", str(args.config)]
    if args.cwd:
        words += ["--cwd", str(args.cwd)]
    if args.spec_profile != "lenient":
        words += ["--spec-profile", args.spec_profile]
    if seed is not None:
        words += ["--seed", str(seed)]
    words += ["--only", check_name]
    return shlex.join(words)


#: The checks whose failure leaves the stateful run nothing to judge (it is then BLOCKED): no
#: AT reply, or a flood storm that swamps every link.
STATEFUL_REQUIRES = ("dialect", "at-reply-format", "flood-storm", "flood-no-loop")

#: The placeholders a --launch template may use (herdref.checker.launcher fills them in).
LAUNCH_PLACEHOLDERS = ("name", "port", "config", "places_url")


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(ExitStatus.INTERRUPTED)


def _template_problem(template: str) -> str | None:
    """What is wrong with a --launch template, or None: it must split like a shell line and use
    only the known placeholders, with ``{name}`` among them."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        return f"not a shell command line ({exc})"
    if not words:
        return "empty command"
    values = dict.fromkeys(LAUNCH_PLACEHOLDERS, "x")
    try:
        for word in words:
            word.format_map(values)
    except KeyError as exc:
        known = ", ".join("{" + placeholder + "}" for placeholder in LAUNCH_PLACEHOLDERS)
        return f"unknown placeholder {{{exc.args[0]}}} (known: {known})"
    except (ValueError, IndexError) as exc:
        return f"bad placeholder syntax ({exc}); write a literal brace as {{{{ or }}}}"
    return None


#: What the checker needs beyond herdref's own dependencies (the ``check`` extra).
CHECK_EXTRA_MODULES = ("hypothesis", "trustme")


def missing_check_extra() -> str | None:
    """The first module of the ``check`` extra that is not installed, or None."""
    from importlib.util import find_spec

    return next((name for name in CHECK_EXTRA_MODULES if find_spec(name) is None), None)


def run(args: argparse.Namespace) -> int:
    missing = missing_check_extra()
    if missing is not None and not args.list:
        print(
            f"herdref validate: needs the 'check' extra ({missing} is not installed): "
            "pip install 'herdref[check]'",
            file=sys.stderr,
        )
        return ExitStatus.USAGE
    # SIGTERM ends the run like Ctrl-C: the servers it started are stopped, not left behind.
    signal.signal(signal.SIGTERM, _terminate)
    from herdref.checker.checks import CHECKS, select_checks
    from herdref.checker.isolation import NETNS_ENV, isolation_unavailable, run_isolated
    from herdref.checker.launcher import is_single_process_template

    if args.list:
        for item in CHECKS:
            flags = " (kills/pauses servers)" if item.destructive else ""
            needs = f" [needs {', '.join(item.requires)}]" if item.requires else ""
            columns = f"{item.name:<24} {item.clause:<10} {item.level:<6} {item.profile:<8}"
            print(f"{columns} {item.title}{flags}{needs}")
        print(
            f"{'stateful':<24} {'(model)':<10} {'MUST':<6} {'core':<8} random steps judged by herdref.model"
        )
        return ExitStatus.OK
    if args.attach and args.config is None:
        print("herdref validate: --attach needs --config (where the herd listens)", file=sys.stderr)
        return ExitStatus.USAGE
    if args.launch and args.config is None:
        print(
            "herdref validate: --launch needs --config (the herd's names, ports and links)", file=sys.stderr
        )
        return ExitStatus.USAGE
    if args.launch:
        problem = _template_problem(args.launch)
        if problem is not None:
            print(f"herdref validate: --launch {args.launch!r}: {problem}", file=sys.stderr)
            _write_reports(
                args, [], [], {"target": args.launch, "error": f"bad --launch template: {problem}"}
            )
            return ExitStatus.USAGE
    if args.isolate and not os.environ.get(NETNS_ENV):
        reason = isolation_unavailable()
        if reason is not None:
            print(f"herdref validate: {reason}", file=sys.stderr)
            return ExitStatus.USAGE
        arguments = sys.argv[sys.argv.index("validate") + 1 :] if "validate" in sys.argv else []
        return run_isolated([word for word in arguments if word != "--isolate"])
    # A template that names no server starts one program for the whole herd.
    single_process = bool(args.launch) and is_single_process_template(args.launch)
    # The reference herd implements the catch-up extension; others say so with --catch-up.
    args.catch_up = args.catch_up or not (args.launch or args.attach)
    checks, left_out = select_checks(
        only=_split(args.only),
        skip=_split(args.skip),
        profile=args.profile,
        destructive_allowed=not (args.attach or single_process),
        destructive_reason=(
            "kills or pauses one server: not possible when one program serves them all"
            if single_process
            else "kills or pauses servers: not done to an attached herd"
        ),
        catch_up=args.catch_up,
        strict_only_last=args.spec_profile == "lenient",
    )
    if not checks and not (args.only and "stateful" in _split(args.only)):
        print("herdref validate: no check matches --only/--skip", file=sys.stderr)
        return ExitStatus.USAGE
    with ExitStack() as stack:
        return _validate(args, checks, [(item.name, reason) for item, reason in left_out], stack)


def _validate(
    args: argparse.Namespace, checks: list[Any], left_out: list[tuple[str, str]], stack: ExitStack
) -> int:
    from herdref.checker.bringup import open_target
    from herdref.checker.checks.whatsat import FIRST_LINE_NOT_STORED
    from herdref.checker.diagnosis import report_facts
    from herdref.checker.grading import clause_tags
    from herdref.checker.launcher import LaunchError, PortBusy
    from herdref.checker.report import VERDICT_COLOURS, clause_titles, terminal_summary
    from herdref.checker.runner import BLOCKING, DeferredReplay, Outcome, replay_deferred, run_checks
    from herdref.tools.cli import paint

    started = time.monotonic()

    def progress(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    def shade(verdict: str, width: int = 0) -> str:
        """A verdict, padded, in its colour on a terminal (stderr: where progress goes)."""
        return paint(f"{verdict:<{width}}", VERDICT_COLOURS.get(verdict, ""), sys.stderr)

    try:
        target, description = open_target(
            stack,
            launch=args.launch,
            attach=args.attach,
            config_path=args.config,
            cwd=args.cwd,
            timeout_s=args.timeout,
            propagation_s=args.propagation,
            startup_s=args.startup,
            redirect_google=args.redirect_google,
            output_dir=args.keep_output,
            on_describe=progress,
            probe=False,
            connect_host=args.connect_host,
        )
        target.catch_up = args.catch_up
        if args.seed is not None:
            target.seed = args.seed
        target.check_budget_s = args.check_budget
        target.run_deadline = time.monotonic() + args.budget
    except PortBusy as exc:
        print(f"herdref validate: {exc}", file=sys.stderr)
        _write_reports(
            args, [], _skipped(left_out), {"target": args.launch or "reference herd", "error": str(exc)}
        )
        return ExitStatus.USAGE
    except LaunchError as exc:
        print(f"herdref validate: unreachable: {exc}", file=sys.stderr)
        meta = {"target": args.launch or "reference herd", "error": f"unreachable: {exc}"}
        _write_reports(args, [], _skipped(left_out), meta)
        return ExitStatus.UNREACHABLE
    tags = clause_tags(args.spec)

    def on_start(item: Any) -> None:
        progress(f"  ... {item.name} ({item.clause})")

    def on_done(outcome: Any) -> None:
        progress(f"  {shade(outcome.verdict, 11)} {outcome.check} ({outcome.duration_s:.2f} s)")

    # Strict deviations are replayed (NON-STRICT or FLAKY) once everything else is judged.
    deferred: list[DeferredReplay] = []
    outcomes: list[Any] = run_checks(
        target,
        checks,
        deferred=deferred,
        on_start=on_start,
        on_done=on_done,
        replay_command=lambda item: _replay_command(args, item.name, target.seed),
        spec_profile=args.spec_profile,
        tags=tags,
    )
    only = _split(args.only)
    # Attached herds get the stateful run too, without its kill/restart/pause steps.
    if (not only or "stateful" in only) and "stateful" not in _split(args.skip):
        from herdref.checker.stateful_run import run_stateful

        progress("  ... stateful (model-based random run)")
        basic = [outcome for outcome in outcomes if outcome.check in STATEFUL_REQUIRES]
        failed = next((outcome for outcome in basic if outcome.verdict in BLOCKING), None)
        by_name = {outcome.check: outcome for outcome in outcomes}
        while failed is not None and failed.verdict == "BLOCKED" and failed.blocked_by in by_name:
            failed = by_name[failed.blocked_by]  # name the check that failed, not one it blocked
        if failed is not None:
            stateful = Outcome(
                "stateful",
                "FLOOD-1",
                "MUST",
                "random IAMAT/WHATSAT/kill/restart/pause sequences judged by the shared model",
                "BLOCKED",
                0.0,
                summary=f"not judged: its prerequisite {failed.check} ({failed.clause}) is {failed.verdict}",
                blocked_by=failed.check,
            )
        else:
            # Defects the checks named already: the stateful run notes them and looks for others.
            known = {outcome.clause for outcome in outcomes if outcome.verdict in ("FAIL", "NON-STRICT")}
            if any("died during this check" in outcome.summary for outcome in outcomes):
                known.add("ERR-4")
            # A stale record that replaced a newer one: FLOOD-2 (or IAMAT-7 at the server the
            # client sent it to) to the checks, and to the model a record that went back in time
            # (STATE-1). One defect.
            if known & {"FLOOD-2", "IAMAT-7"}:
                known.add("STATE-1")
            # A WHATSAT that does not return the stored AT line (WHATSAT-5): the model, which sees
            # what each server holds only through WHATSAT, reads it as lines that differ between
            # servers (FLOOD-5). One defect.
            if "WHATSAT-5" in known:
                known.add("FLOOD-5")
            if any(
                outcome.check == "whatsat-reply"
                and outcome.verdict == "FAIL"
                and outcome.summary.startswith(FIRST_LINE_NOT_STORED)
                for outcome in outcomes
            ):
                # Its first line is not the stored AT line (rebuilt from the request, say): where
                # that line's client time is none the run sent, the model reads it as a line no
                # server ever answered (FLOOD-4 to it). One defect, whatsat-reply's.
                known.add("FLOOD-4")
            # An IAMAT answered with another AT line than its own (IAMAT-4): to the model, a
            # reply that does not echo the IAMAT (AT-1). One defect.
            if "IAMAT-4" in known:
                known.add("AT-1")
            stateful = run_stateful(
                target,
                profile=args.profile,
                examples=args.examples,
                spec_profile=args.spec_profile,
                tags=tags,
                known_clauses=frozenset(known),
            )
        stateful.replay = _replay_command(args, "stateful", target.seed)
        outcomes.append(stateful)
        on_done(stateful)
    replay_deferred(target, deferred)
    outcomes += _skipped(left_out)
    elapsed = time.monotonic() - started
    titles = clause_titles(args.spec)
    facts = report_facts(target.config, version=herdref.__version__)
    summary = terminal_summary(
        outcomes,
        target=description,
        left_out=[],
        framing=target.dialect.describe(),
        elapsed_s=elapsed,
        titles=titles,
        spec_profile=args.spec_profile,
        facts=facts,
        # Colour only when stdout is a terminal and NO_COLOR is not set (herdref.tools.cli).
        paint=lambda text, colour: paint(text, colour, sys.stdout),
    )
    print(summary)
    print(f"varied inputs: seed {target.seed} (the same inputs again: --seed {target.seed})")
    meta = {
        **facts,
        "target": description,
        "seed": target.seed,
        "framing": target.dialect.describe(),
        "profile": args.profile,
        "spec_profile": args.spec_profile,
        "elapsed_s": round(elapsed, 3),
        "places_fixture": target.fixture.base_url if target.fixture is not None else "none",
    }
    if target.launcher is not None:
        if args.keep_output:
            meta["server_output"] = str(target.launcher.output_dir)
        # The end of each server's output (stderr included), for the reports.
        meta["server_output_tails"] = {name: target.launcher.output_tail(name) for name in target.names}
    _write_reports(args, outcomes, [], meta)
    return exit_status(outcomes, allow_flaky=args.allow_flaky)


def exit_status(outcomes: list[Any], *, allow_flaky: bool) -> ExitStatus:
    """FAIL (or a FLAKY MUST, unless allowed) 1; ERROR 5; a MUST check the time budget kept
    from judging 6; NON-STRICT 3; else 0.

    A FLAKY check fails the run only when its failure would have been a FAIL had it come back:
    a strict-only deviation under the lenient profile is never a FAIL (SPEC 1.1), so seeing it
    once is no reason to exit 1 either (nor 3: a FLAKY SHOULD never was one)."""
    verdicts = {outcome.verdict for outcome in outcomes}
    flaky_must = any(
        outcome.verdict == "FLAKY"
        and outcome.level == "MUST"
        and getattr(outcome, "flaky_grade", "") != "NON-STRICT"
        for outcome in outcomes
    )
    if "FAIL" in verdicts or (flaky_must and not allow_flaky):
        return ExitStatus.FAILURE
    if "ERROR" in verdicts:
        return ExitStatus.CHECKER_ERROR
    if any(outcome.budget_spent and outcome.level == "MUST" for outcome in outcomes):
        return ExitStatus.INCOMPLETE
    if "NON-STRICT" in verdicts:
        return ExitStatus.NON_STRICT
    return ExitStatus.OK


def _skipped(left_out: list[tuple[str, str]]) -> list[Any]:
    """SKIPPED outcomes for the checks left out, so every report shows them."""
    from herdref.checker.checks import CHECKS
    from herdref.checker.runner import Outcome

    by_name = {item.name: item for item in CHECKS}
    return [
        Outcome(
            name,
            by_name[name].clause,
            by_name[name].level,
            by_name[name].title,
            "SKIPPED",
            0.0,
            summary=reason,
        )
        for name, reason in left_out
        if name in by_name
    ]


def _config_or_none(path: Path | None) -> Any:
    """The herd file at ``path`` if it loads, else None (the reports then leave out the topology)."""
    from herdref.herd.config import ConfigError, load_config

    if path is None:
        return None
    try:
        return load_config(path)
    except (ConfigError, OSError):
        return None


def _write_reports(
    args: argparse.Namespace, outcomes: list[Any], skipped: list[Any], meta: dict[str, Any]
) -> None:
    """Write every report asked for, whatever happened to the run (a run that never reached
    the herd still states the version, the date and, from the herd file, the topology)."""
    from herdref.checker.diagnosis import report_facts
    from herdref.checker.report import clause_titles, write_json, write_junit
    from herdref.checker.report_html import write_html

    if not (args.json or args.junit or args.html):
        return
    everything = [*outcomes, *skipped]
    titles = clause_titles(args.spec)
    meta = {
        **report_facts(_config_or_none(args.config), version=herdref.__version__),
        "spec_profile": args.spec_profile,
        "profile": args.profile,
        **meta,
    }
    if args.json:
        write_json(args.json, everything, meta, titles)
    if args.junit:
        write_junit(args.junit, everything, meta)
    if args.html:
        write_html(args.html, everything, meta, titles)
