"""``herdref validate`` end to end: the reference herd passes, and every herd in ``bad_herds/``
is judged as its manifest says: each defect named once, by its own check and clause, with no
other FAIL (what depends on it BLOCKED), and no FAIL at all for the correct base herd and for
every dialect the course allows.

Each run is the real command line against real server processes on free loopback ports. To
stay inside the CI budget a corpus herd gets the quick profile without the stateful run, plus
only the checks that kill or pause servers which its bug needs (``needs`` in the manifest);
``bad_herds/sweep.py`` runs the full profile over the same corpus with the same judge.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from herdref.checker.checks import CHECKS
from tests.e2e.bad_herds import warm_validate
from tests.e2e.bad_herds.corpus import CorpusRun, load_corpus, run_validate
from tests.e2e.bad_herds.probe_kit import python_for
from tests.e2e.bad_herds.warm_validate import WarmValidate
from tests.e2e.browser import CHROMIUM_MISSING, chromium, render
from tests.e2e.herd_harness import write_herd_file

BAD_HERDS = Path(__file__).parent / "bad_herds"
#: The waits of every e2e validate run: a reply within 2 s, a flood within 3 s (the reference
#: herd answers in milliseconds; a waited-out absence costs a run these seconds, not 5).
SHORT_WAITS = ["--timeout", "2", "--propagation", "3", "--startup", "15"]
_QUICK = ["--quick", *SHORT_WAITS]
_FAST = [*_QUICK, "--skip", "stateful"]
#: The budgets of a run whose paused-neighbour fills a stopped neighbour's link (MiBs of floods,
#: at the machine's pace): beside the corpus on a loaded machine it took 20 s and more, the
#: default check budget, and the run said nothing about the herd.
_FILLING_BUDGETS = ["--budget", "200", "--check-budget", "80"]
#: The checks that kill, pause or restart servers (run only where a bug needs them).
_DESTRUCTIVE = [item.name for item in CHECKS if item.destructive]
CORPUS = load_corpus()
#: Corpus runs side by side: each spends most of its time waiting on its herd's replies (four
#: at a time made the fresh-clone run slower on two cores: 16m57s against 15m47s with three).
CORPUS_JOBS = 3
#: The herds whose runs kill, pause or restart servers first: theirs are the longest runs, and
#: one that started last would leave the pool waiting on it alone at the end.
CORPUS_ORDER = sorted(CORPUS, key=lambda name: (not CORPUS[name].needs, name))
_CORPUS_TEST = "test_corpus_herd_is_judged_as_its_manifest_says"


@pytest.fixture(scope="module")
def corpus_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], CorpusRun]]:
    """The validate run of a corpus herd. Runs go CORPUS_JOBS at a time, started ahead of the
    tests that judge them, so the corpus costs a fraction of its runs' summed wall time."""
    selected = [
        item.callspec.params["herd"]  # type: ignore[attr-defined]
        for item in request.session.items
        if getattr(item, "originalname", None) == _CORPUS_TEST
    ]

    # Each herd file is written as its run starts, so its ports are free for the second it takes
    # its servers to listen, not for the minutes until a run written ahead would start (another
    # process's free port, a validate run's own fixture, could take one meanwhile: "already in
    # use"). None of them is a port an earlier herd of this session was given: free ports handed
    # out while other herds start could otherwise be handed out twice.
    used: set[int] = set()
    allocating = threading.Lock()
    folders = {name: tmp_path_factory.mktemp(name) for name in selected}

    def run(name: str) -> CorpusRun:
        herd = CORPUS[name]
        needed = {name.removesuffix("-quick") for name in herd.needs}
        skipped = [check for check in _DESTRUCTIVE if check.removesuffix("-quick") not in needed]
        with allocating:
            herd_file = _herd_file_on_unused_ports(folders[name], used)
        # The run's and each check's budgets are raised from validate's 50 s and 20 s: runs go
        # CORPUS_JOBS at a time on a machine that may be busy, and a budget-cut check would say
        # nothing about the herd (_FILLING_BUDGETS: paused-neighbour took over 40 s there).
        options = [*_FAST, *_FILLING_BUDGETS, "--skip", ",".join(skipped)]
        return run_validate(herd, herd_file, herd_file.parent, options, budget_s=240, warm=warm)

    # Each run forks from one interpreter that has imported the checker (warm_validate.py: a
    # second of CPU per run saved, minutes over the corpus).
    with (
        WarmValidate(tmp_path_factory.mktemp("warm-validate")) as warm,
        ThreadPoolExecutor(CORPUS_JOBS) as pool,
    ):
        # Started as the tests ask, in their own order (CORPUS_ORDER), each test's run and the
        # next CORPUS_JOBS: the pool never idles, and a test waits for its own run, never for a
        # queue ahead of it. Only the herds of this worker's tests run: every worker sees every
        # item, so a run without --dist loadgroup, which spreads the corpus over the workers,
        # would otherwise run the whole corpus once in each of them.
        order = sorted(selected, key=CORPUS_ORDER.index)
        runs: dict[str, Future[CorpusRun]] = {}

        def result(name: str) -> CorpusRun:
            start = order.index(name)
            for ahead in order[start : start + CORPUS_JOBS + 1]:
                if ahead not in runs:
                    runs[ahead] = pool.submit(run, ahead)
            return runs[name].result()

        yield result
        for future in runs.values():
            future.cancel()


def _herd_file_on_unused_ports(folder: Path, used: set[int]) -> Path:
    """A herd file in ``folder`` none of whose ports is in ``used`` (then added to it)."""
    while True:
        path = write_herd_file(folder)
        ports = {server["port"] for server in tomllib.loads(path.read_text())["servers"].values()}
        if not ports & used:
            used |= ports
            return path


# One pytest-xdist worker runs the whole corpus (--dist loadgroup): the module fixture's pool.
@pytest.mark.xdist_group("corpus")
@pytest.mark.parametrize("herd", CORPUS_ORDER)
def test_corpus_herd_is_judged_as_its_manifest_says(
    corpus_run: Callable[[str], CorpusRun], herd: str
) -> None:
    run = corpus_run(herd)
    assert run.problems == [], "\n".join([*run.problems, run.output])
    verdicts = [entry["verdict"] for entry in run.checks]
    # A FLAKY check fails the run only where its failure would have been a FAIL (a FLAKY strict
    # deviation under the lenient profile does not).
    flaky_fail = any(
        entry["verdict"] == "FLAKY" and entry["level"] == "MUST" and entry["flaky_grade"] != "NON-STRICT"
        for entry in run.checks
    )
    expected_status = 1 if "FAIL" in verdicts or flaky_fail else 3 if "NON-STRICT" in verdicts else 0
    assert run.returncode == expected_status, run.output
    assert run.report["spec_profile"] == "lenient"
    if any(entry["verdict"] == "NON-STRICT" and entry["strict_only"] for entry in run.checks):
        assert "strict deviations" in run.output, run.output


def test_every_defect_in_the_corpus_names_the_check_that_must_catch_it() -> None:
    """The manifest is the test's data: a defect without its check would be judged on its
    clause alone; a check name that no longer exists would never match."""
    listed = subprocess.run(
        [sys.executable, "-m", "herdref", "validate", "--list"], capture_output=True, text=True, check=True
    ).stdout
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    for herd in CORPUS.values():
        if herd.kind == "defect":
            assert herd.check in names, herd
        assert set(herd.needs) <= set(_DESTRUCTIVE), herd
        assert set(herd.non_strict) <= names, herd


def validate(
    tmp_path: Path, *arguments: str, timeout_s: float = 240, new_interpreter: bool = False
) -> tuple[int, dict[str, object], str]:
    """``herdref validate --quiet --json`` with ``arguments``: its exit status, report and output.
    It runs forked from this process's warm interpreter (warm_validate.py: a second of CPU per
    run that the suite's CPU-bound two cores otherwise pay), or with ``new_interpreter`` as
    ``python3 -m herdref`` in a new one."""
    report = tmp_path / "report.json"
    argv = ["validate", "--quiet", "--json", str(report), *arguments]
    if new_interpreter:
        completed = subprocess.run(
            [sys.executable, "-m", "herdref", *argv], capture_output=True, text=True, timeout=timeout_s
        )
    else:
        completed = warm_validate.shared().run(argv, cwd=Path.cwd(), timeout=timeout_s)
    document = json.loads(report.read_text()) if report.exists() else {}
    return completed.returncode, document, completed.stdout + completed.stderr


def launch_broken_herd(tmp_path: Path, herd_file: str) -> list[str]:
    """``--launch``/``--config`` arguments that run ``bad_herds/<herd_file>`` on a free-port herd."""
    config = write_herd_file(tmp_path)
    script = BAD_HERDS / herd_file
    launch = f"{' '.join(python_for(script))} {script} {{name}} --config {{config}}"
    return ["--launch", launch, "--config", str(config)]


def broken_clauses(document: dict[str, object]) -> set[str]:
    checks = document["checks"]
    assert isinstance(checks, list)
    return {entry["clause"] for entry in checks if entry["verdict"] in ("FAIL", "NON-STRICT")}


def test_reference_herd_passes(tmp_path: Path) -> None:
    status, document, output = validate(
        tmp_path,
        *_QUICK,
        *_FILLING_BUDGETS,
        "--spec-profile",
        "strict",
        "--html",
        str(tmp_path / "report.html"),
        new_interpreter=True,  # the entry point users run, on the herd users compare with
    )
    assert status == 0, output
    verdicts = {entry["check"]: entry["verdict"] for entry in document["checks"]}  # type: ignore[index]
    # The reference herd implements the strict profile: no failure and no deviation.
    assert "FAIL" not in verdicts.values() and "NON-STRICT" not in verdicts.values(), output
    # Nothing may be waved through as unsupported on the reference herd: the fixture is seen.
    assert [name for name, verdict in verdicts.items() if verdict == "UNSUPPORTED"] == [], output
    assert set(verdicts) >= {
        "flood-all",
        "places-radius-metres",
        "restart-reconnect",
        "paused-neighbour",
        "catch-up-after-restart",
        "stateful",
    }
    page = (tmp_path / "report.html").read_text()
    assert "herdref validate" in page and "<th>SPEC profile graded against</th><td>strict</td>" in page
    assert "<h2>No defect found</h2>" in page


@pytest.mark.parametrize(
    ("spec_profile", "verdict", "exit_status"), [("strict", "FAIL", 1), (None, "NON-STRICT", 3)]
)
def test_a_strict_deviation_fails_only_under_the_strict_profile(
    tmp_path: Path, spec_profile: str | None, verdict: str, exit_status: int
) -> None:
    """float_timestamp echoes a numerically equal client time: IAMAT-5 (strict) is broken, its
    lenient alternative (echo-numeric) holds; the stateful run sees IAMAT-5 too (not AT-1) and
    leaves it to echo-exact."""
    chosen = ["--spec-profile", spec_profile] if spec_profile else []
    junit = tmp_path / "report.xml"
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "float_timestamp.py"),
        *_QUICK,
        "--only",
        "echo-exact,echo-numeric,stateful",
        "--examples",
        "5",
        "--junit",
        str(junit),
        *chosen,
    )
    verdicts = {entry["check"]: (entry["verdict"], entry["clause"]) for entry in document["checks"]}  # type: ignore[index]
    assert verdicts == {
        "dialect": ("PASS", "IAMAT-4"),
        "echo-numeric": ("PASS", "IAMAT-5"),
        "echo-exact": (verdict, "IAMAT-5"),
        # The stateful run sees the same difference, notes it as named by echo-exact and goes
        # on looking for other defects: one defect, one verdict.
        "stateful": ("PASS", "FLOOD-1"),
    }, output
    assert status == exit_status, output
    (stateful,) = [entry for entry in document["checks"] if entry["check"] == "stateful"]  # type: ignore[union-attr]
    assert "no defect beyond those the checks named (seen as IAMAT-5" in stateful["summary"], output
    assert "the run went on" in stateful["summary"], output
    profile = spec_profile or "lenient"
    assert document["spec_profile"] == profile
    assert f"SPEC profile graded against: {profile}" in output
    assert ("strict deviations" in output) == (profile == "lenient"), output
    assert f'name="spec_profile" value="{profile}"' in junit.read_text()


def test_the_stateful_run_goes_on_past_a_strict_deviation(tmp_path: Path) -> None:
    """Alone, the stateful run grades the numerically equal echo as IAMAT-5, strict-only, and
    keeps exercising newer and older reports instead of stopping at the first step."""
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "float_timestamp.py"),
        *_QUICK,
        "--only",
        "stateful",
        "--examples",
        "5",
    )
    (stateful,) = [entry for entry in document["checks"] if entry["check"] == "stateful"]  # type: ignore[union-attr]
    assert (stateful["verdict"], stateful["clause"], stateful["strict_only"]) == (
        "NON-STRICT",
        "IAMAT-5",
        True,
    )
    assert "the run went on" in stateful["summary"], output
    assert status == 3, output


def test_unreachable_target_is_reported_quickly(tmp_path: Path) -> None:
    config = write_herd_file(tmp_path)
    status, document, output = validate(
        tmp_path, "--launch", f"{sys.executable} -c pass", "--config", str(config), "--startup", "2"
    )
    assert status == 4, output
    assert "unreachable" in output
    # The report asked for is written all the same, and says why nothing was judged.
    assert "unreachable" in document["error"], output


def test_a_run_cut_short_by_its_time_budget_is_incomplete_not_clean(tmp_path: Path) -> None:
    """MUST checks the run's budget left unjudged do not exit 0: 6 (INCOMPLETE), each marked in
    the report, and the summary says which and what to raise."""
    status, document, output = validate(tmp_path, *_FAST, "--budget", "0.2")
    assert status == 6, output
    checks = document["checks"]
    assert isinstance(checks, list)
    cut = [entry["check"] for entry in checks if entry["budget_spent"]]
    assert cut and all(entry["verdict"] == "SKIPPED" for entry in checks if entry["check"] in cut[1:])
    assert "not judged for lack of time" in output and "raise --budget" in output, output


def test_a_mistyped_launch_template_is_one_line_and_a_usage_error(tmp_path: Path) -> None:
    config = write_herd_file(tmp_path)
    status, document, output = validate(
        tmp_path, "--launch", "python3 server.py {nme}", "--config", str(config)
    )
    assert status == 2, output
    assert "unknown placeholder {nme}" in output and "Traceback" not in output
    assert "bad --launch template" in document["error"], output  # the report asked for is written


def test_attach_runs_only_non_destructive_checks(tmp_path: Path) -> None:
    from tests.e2e.herd_harness import running_herd

    config = write_herd_file(tmp_path)
    with running_herd(config):
        status, document, output = validate(tmp_path, "--attach", "--config", str(config), *_FAST)
    assert status == 0, output
    ran = {entry["check"] for entry in document["checks"] if entry["verdict"] != "SKIPPED"}  # type: ignore[union-attr]
    assert ran.isdisjoint(_DESTRUCTIVE)
    # What was left out is in the report, as SKIPPED with the reason.
    skipped = {
        entry["check"]: entry["summary"] for entry in document["checks"] if entry["verdict"] == "SKIPPED"
    }  # type: ignore[union-attr]
    assert "not done to an attached herd" in skipped["paused-neighbour"], output
    assert "flood-all" in ran


@pytest.mark.parametrize(
    "herd_file",
    [
        "google_hardcoded.py",
        # A raw TLS socket and a hand-written request with bare-LF line ends, as Google accepts.
        "dialect_raw_https_places.py",
        # The same with the whole URL as the target and no Host field, as Google accepts.
        "dialect_raw_https_absolute_target.py",
        # A kept connection whose chunk sizes are read right after the word "chunked" (Google's
        # head ends with Transfer-Encoding).
        "dialect_raw_https_chunk_after_word.py",
    ],
)
def test_redirect_reaches_a_herd_that_hard_codes_google(tmp_path: Path, herd_file: str) -> None:
    only = "whatsat-reply,whatsat-bound,places-radius-metres"
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, herd_file),
        *_FAST,
        "--redirect-google",
        "--only",
        only,
    )
    verdicts = {entry["check"]: entry["verdict"] for entry in document["checks"]}  # type: ignore[index]
    assert verdicts == dict.fromkeys(["dialect", *only.split(",")], "PASS"), output
    assert status == 0, output


def test_a_places_request_made_after_the_close_is_charged_to_its_own_whatsat(tmp_path: Path) -> None:
    # Bound 0 answered at once, its request made once the connection is closed: places-bound-zero
    # must see it (strict), and places-radius-metres, next, must not take it for its own.
    only = "places-bound-zero,places-radius-metres"
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "dialect_bound_zero_asks_after_close.py"),
        *_FAST,
        "--only",
        only,
    )
    verdicts = {entry["check"]: entry["verdict"] for entry in document["checks"]}  # type: ignore[index]
    assert verdicts == {
        "dialect": "PASS",
        "places-bound-zero": "NON-STRICT",
        "places-radius-metres": "PASS",
    }, output
    assert status == 3, output


def test_the_words_for_places_requests_that_never_came_say_what_the_run_did(tmp_path: Path) -> None:
    # --redirect-google was given: the words must say so, and not tell the user to give it.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "no_places_lenient.py"),
        *_FAST,
        "--redirect-google",
        "--only",
        "whatsat-reply",
    )
    reply = next(entry for entry in document["checks"] if entry["check"] == "whatsat-reply")  # type: ignore[attr-defined]
    assert reply["verdict"] == "UNSUPPORTED", output
    # The herd asks a fixed address, never Google by name: the redirect saw no look-up.
    assert "--redirect-google was ready" in reply["summary"], output
    assert "never looked one up" in reply["summary"], output
    assert "use --redirect-google" not in reply["summary"], output
    assert status == 0, output


def test_reference_herd_survives_each_of_the_ten_pairs_of_deaths(tmp_path: Path) -> None:
    status, document, output = validate(tmp_path, *_FAST, "--only", "flood-pairs")
    assert status == 0, output
    assert [(entry["check"], entry["verdict"]) for entry in document["checks"]] == [  # type: ignore[index]
        ("dialect", "PASS"),
        ("flood-pairs", "PASS"),
    ]


@pytest.mark.parametrize(("profile", "exit_status"), [("lenient", 0), ("strict", 1)])
def test_an_intermittent_strict_deviation_fails_the_run_only_under_strict(
    tmp_path: Path, profile: str, exit_status: int
) -> None:
    """A FLAKY strict-only deviation is no FAIL under the lenient profile (SPEC 1.1), so it does
    not make the run exit 1; under the strict profile it would have been a FAIL, so it does."""
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "flaky_unknown_client_spacing.py"),
        *_FAST,
        "--only",
        "unknown-client",
        "--spec-profile",
        profile,
    )
    checks = document["checks"]  # type: ignore[index]
    assert [(entry["check"], entry["verdict"]) for entry in checks] == [
        ("dialect", "PASS"),
        ("unknown-client", "FLAKY"),
    ]
    assert checks[1]["flaky_grade"] == ("NON-STRICT" if profile == "lenient" else "FAIL")
    assert status == exit_status, output


@pytest.mark.parametrize(("allow", "exit_status"), [(False, 1), (True, 0)])
def test_an_intermittent_bug_is_reported_flaky(tmp_path: Path, allow: bool, exit_status: int) -> None:
    """A FLAKY MUST fails the run unless --allow-flaky is given."""
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "flaky_unknown_client.py"),
        *_FAST,
        "--only",
        "unknown-client",
        *(["--allow-flaky"] if allow else []),
    )
    assert [(entry["check"], entry["verdict"]) for entry in document["checks"]] == [  # type: ignore[index]
        ("dialect", "PASS"),
        ("unknown-client", "FLAKY"),
    ]
    assert status == exit_status, output


def test_html_report_explains_a_failure(tmp_path: Path) -> None:
    page_path = tmp_path / "report.html"
    status, _, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "float_timestamp.py"),
        *_FAST,
        "--only",
        "echo-exact",
        "--spec-profile",
        "strict",
        "--html",
        str(page_path),
    )
    assert status == 1, output
    page = page_path.read_text()
    # The diagnosis names the defect and links to its evidence, which follows the table.
    assert page.index("<a href='#echo-exact'>echo-exact</a> (IAMAT-5, MUST)") < page.index(
        "Checks by SPEC section"
    )
    assert (
        "<section class='evidence' id='echo-exact'><h3>1. <span class='FAIL'>FAIL</span>: echo-exact" in page
    )
    assert "copied octet for octet" in page  # IAMAT-5's text, from SPEC.md
    assert "Wire transcript" in page and "IAMAT hv" in page
    assert "--only echo-exact" in page
    assert "Server output (end)" in page


def test_a_failing_report_shows_the_diagnosis_first_in_a_browser(tmp_path: Path) -> None:
    """Rendered in headless Chromium, a failing report opens with the defects (on the first
    screen, before the table of checks); the flood check's long transcript is folded away."""
    if chromium() is None:
        pytest.skip(CHROMIUM_MISSING)
    page_path = tmp_path / "report.html"
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "one_hop_flooding.py"),
        *_FAST,
        "--only",
        "echo-exact,flood-all,flood-newest-wins,flood-at-from-client",
        "--html",
        str(page_path),
    )
    assert status == 1, output
    assert [defect["check"] for defect in document["defects"]] == ["flood-all"], output  # type: ignore[index]
    transcript = "#flood-all details pre"
    seen = render(page_path, ["#diagnosis", "#diagnosis li", "th.section", "#legend", transcript])
    # What a reader meets first: the title, the run, the tally, then the defects.
    text = seen.text
    diagnosis = text.index("1 defect found, in the order to fix them")
    assert diagnosis < text.index("Checks by SPEC section") < text.index("What the verdicts mean")
    first_defect = seen.places["#diagnosis li"]["text"]
    assert first_defect.startswith("FAIL flood-all (FLOOD-1, MUST): the record"), first_defect
    assert "Blocks 2 checks: flood-newest-wins, flood-at-from-client." in first_defect
    assert seen.top("#diagnosis") < seen.top("th.section")
    assert seen.top("#diagnosis li") < seen.screen, "the first defect is below the first screen"
    # The flood transcript is folded: not rendered, its lines not in the visible text.
    assert not seen.shown(transcript)
    assert "lines left out here" not in text
    assert "Wire transcript (" in text


def _read_terminal(controller: int, process: subprocess.Popen[bytes], deadline_s: float) -> bytes:
    """Everything written to the terminal whose controlling side is ``controller``, until the
    process closes it or the deadline passes."""
    import os
    import select
    import time

    received = bytearray()
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(controller, 65_536)
        except OSError:  # EIO: the terminal's other side closed (the process ended)
            break
        if not chunk:
            break
        received += chunk
    return bytes(received)


def _run_on_a_terminal(arguments: list[str], environment: dict[str, str]) -> tuple[int, bytes, str]:
    """Run a command with its stdout on a pseudo-terminal (stderr a file, so nothing blocks while
    stdout is read); what the terminal got."""
    import os
    import pty
    import tempfile

    controller, terminal = pty.openpty()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            arguments, stdout=terminal, stderr=errors, stdin=subprocess.DEVNULL, env=environment
        )
        os.close(terminal)
        try:
            shown = _read_terminal(controller, process, 120)
        finally:
            os.close(controller)
        status = process.wait(30)
        errors.seek(0)
        return status, shown, errors.read().decode(errors="replace")


@pytest.mark.parametrize("no_color", [False, True])
def test_verdicts_are_coloured_on_a_terminal_unless_no_color(no_color: bool) -> None:
    import os

    environment = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    environment["TERM"] = "xterm"
    if no_color:
        environment["NO_COLOR"] = "1"
    command = [sys.executable, "-m", "herdref", "validate", *_FAST, "--only", "dialect"]
    status, shown, stderr = _run_on_a_terminal(command, environment)
    assert status == 0, stderr
    green_pass = b"\x1b[32mPASS"
    if no_color:
        assert b"\x1b[" not in shown and b"PASS        dialect" in shown, shown
    else:
        assert green_pass in shown and b"dialect" in shown, shown
    # Through a pipe (stdout and stderr): never colour.
    piped = subprocess.run(command, capture_output=True, env=environment, timeout=120, check=False)
    assert piped.returncode == 0 and b"PASS" in piped.stdout
    assert b"\x1b[" not in piped.stdout + piped.stderr


def test_isolated_run_reaches_any_herd_through_the_namespace_hosts_file(tmp_path: Path) -> None:
    from herdref.checker.isolation import isolation_unavailable

    reason = isolation_unavailable()
    if reason is not None:
        pytest.skip(reason)
    only = "whatsat-reply,places-radius-metres,flood-all"
    status, document, output = validate(
        tmp_path, "--isolate", *launch_broken_herd(tmp_path, "google_hardcoded.py"), *_FAST, "--only", only
    )
    if status == 2 and "cannot set up the network namespace" in output:
        pytest.skip(output.strip().splitlines()[-1])
    verdicts = {entry["check"]: entry["verdict"] for entry in document["checks"]}  # type: ignore[index]
    assert verdicts == dict.fromkeys(["dialect", *only.split(",")], "PASS"), output
    assert status == 0, output
    assert "in network namespace" in document["target"], output


def test_stateful_run_finds_a_stale_update_and_shrinks_it(tmp_path: Path) -> None:
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "stale_update_accepted.py"),
        *_QUICK,
        "--only",
        "stateful",
        "--examples",
        "40",
        # Shrinking takes its time on a busy machine: the run's budget must not cut it, and the
        # wait for the run must outlast the budget (the run ends itself when it is spent).
        "--budget",
        "300",
        timeout_s=420,
    )
    assert status == 1, output
    (stateful,) = [entry for entry in document["checks"] if entry["check"] == "stateful"]  # type: ignore[union-attr]
    assert stateful["verdict"] == "FAIL"
    steps = [
        line
        for line in stateful["minimal"]
        if line.startswith("state.") and "records_only_get_newer" not in line and "teardown" not in line
    ]
    # Shrunk to its core: the opening reports, then an older report for the same client at the
    # server that holds the newer one.
    assert steps == [
        "state.both_clients_report(first='Bailey', second='Bailey')",
        "state.stale_iamat(older=True, server='Bailey')",
    ], output
    assert stateful["clause"] == "STATE-1"


def test_what_cannot_be_seen_is_unsupported_not_failed(tmp_path: Path) -> None:
    only = (
        "frame-keep-open,lex-octets,whatsat-reply,places-radius-metres,flood-all,restart-reconnect,stateful"
    )
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "no_places_lenient.py"), *_QUICK, "--only", only
    )
    verdicts = {entry["check"]: entry["verdict"] for entry in document["checks"]}  # type: ignore[index]
    assert verdicts == {
        "dialect": "PASS",
        "frame-keep-open": "PASS",
        "lex-octets": "UNSUPPORTED",
        "whatsat-reply": "UNSUPPORTED",
        "places-radius-metres": "UNSUPPORTED",
        "flood-all": "UNSUPPORTED",
        "restart-reconnect": "UNSUPPORTED",
        "stateful": "UNSUPPORTED",
    }, output
    assert status == 0, output
    assert "--redirect-google or --isolate" in output


def test_a_malformed_at_reply_is_named_as_such_where_it_stops_a_check(tmp_path: Path) -> None:
    """flood-storm needs an accepted IAMAT; its reason quotes what came back (a malformed AT
    line is a reply, not none) and leaves the reply to at-reply-format. places-radius-metres,
    which judges only the request Places gets, is judged all the same (it was BLOCKED)."""
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "at_reply_repeats_command.py"),
        *_QUICK,
        "--only",
        "flood-storm,places-radius-metres",
    )
    verdicts = {entry["check"]: entry for entry in document["checks"]}  # type: ignore[union-attr]
    assert verdicts["flood-storm"]["verdict"] == "UNSUPPORTED", output
    assert "answered a valid IAMAT with a malformed AT line" in verdicts["flood-storm"]["summary"], output
    assert "no AT reply" not in verdicts["flood-storm"]["summary"], output
    assert verdicts["places-radius-metres"]["verdict"] == "PASS", output
    assert status == 0, output


def test_a_false_claim_of_catch_up_is_caught(tmp_path: Path) -> None:
    """The shared base herd does not implement the catch-up extension; claiming it fails."""
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "_base.py"), *_FAST, "--catch-up", "--only", "CATCHUP"
    )
    assert status == 1, output
    assert broken_clauses(document) == {"CATCHUP-1"}, output


def test_a_single_process_herd_bound_for_the_lab_is_checked(tmp_path: Path) -> None:
    """One program serves every server (the template names none) and the herd file names a lab
    host: --connect-host reaches it; what would kill one server is SKIPPED with the reason."""
    config = write_herd_file(tmp_path)
    config.write_text(config.read_text().replace("{ port =", '{ host = "lnxsrv06.seas.ucla.edu", port ='))
    launch = f"{sys.executable} {BAD_HERDS / 'dialect_single_process_lab_host.py'} --config {{config}}"
    status, document, output = validate(
        tmp_path, "--launch", launch, "--config", str(config), "--connect-host", "127.0.0.1", *_FAST
    )
    verdicts = {entry["check"]: entry for entry in document["checks"]}  # type: ignore[union-attr]
    assert status == 0, output
    assert verdicts["flood-all"]["verdict"] == "PASS", output
    assert verdicts["restart-reconnect"]["verdict"] == "SKIPPED", output
    assert "one program serves them all" in verdicts["restart-reconnect"]["summary"]


def test_herdref_serve_takes_the_places_url_validate_hands_it(tmp_path: Path) -> None:
    """HERDREF_PLACES_URL is how validate hands its fixture to a herd; herdref serve honours it,
    so the reference herd launched through --launch (its herd file says the offline fixture)
    sends its Places requests where the checker can see them."""
    config = write_herd_file(tmp_path)
    launch = f"{sys.executable} -m herdref serve {{name}} --config {{config}}"
    only = "whatsat-bound,places-radius-metres"
    status, document, output = validate(
        tmp_path, "--launch", launch, "--config", str(config), *_FAST, "--only", only
    )
    verdicts = {entry["check"]: entry["verdict"] for entry in document["checks"]}  # type: ignore[index]
    assert verdicts == dict.fromkeys(["dialect", *only.split(",")], "PASS"), output
    assert status == 0, output


def test_flood_odd_time_waits_out_one_silence_only(tmp_path: Path) -> None:
    """A herd that leaves nan and inf unanswered on an open connection: flood-odd-time is not
    the check that judges that silence (invalid-time is), so after the first one it waits the
    short replay silence for the next form instead of the whole reply timeout."""
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "odd_time_crash_left_open.py"),
        *_FAST,
        "--only",
        "flood-odd-time",
    )
    (odd,) = [entry for entry in document["checks"] if entry["check"] == "flood-odd-time"]  # type: ignore[union-attr]
    assert odd["verdict"] == "PASS", output
    transcript = "\n".join(odd["transcript"])
    assert "client time nan: no reply, the connection left open" in transcript, output
    assert "the other odd forms are waited for 1 s each" in transcript, output
    assert status == 0, output


def test_records_no_whatsat_can_show_block_the_flood_checks_at_once(tmp_path: Path) -> None:
    """A herd whose WHATSAT rebuilds the AT line from the request (radius and bound where the
    location and client time belong): whatsat-reply names it (WHATSAT-5), and a flood check then
    cannot read which record a server holds: BLOCKED by whatsat-reply at its first read, not
    UNSUPPORTED after the whole propagation wait."""
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "whatsat_line_from_arguments.py"),
        *_FAST,
        "--only",
        "whatsat-reply,flood-no-loop,flood-malformed-at",
    )
    verdicts = {entry["check"]: (entry["verdict"], entry["blocked_by"]) for entry in document["checks"]}  # type: ignore[index]
    assert verdicts["whatsat-reply"] == ("FAIL", ""), output
    assert verdicts["flood-no-loop"] == ("BLOCKED", "whatsat-reply"), output
    assert verdicts["flood-malformed-at"] == ("BLOCKED", "whatsat-reply"), output
    assert status == 1, output


def test_a_herd_held_up_by_a_stopped_neighbour_is_taken_down_by_kills_alone(tmp_path: Path) -> None:
    """A stopped neighbour holding the floods up is LINK-4's Strict part (the course's fault
    model is a server that goes down): NON-STRICT, and flood-pairs then kills every pair
    instead of stopping it, so the course's own kill-pair test is judged on such a herd. (A
    herd that connects per flood before replying: held up after some 30 records, where one
    that blocks on a full link needs MiBs; the corpus judges that one.)"""
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "flood_connects_before_reply.py"),
        *SHORT_WAITS,
        *_FILLING_BUDGETS,
        "--only",
        "paused-neighbour,flood-pairs",
    )
    verdicts = {entry["check"]: entry for entry in document["checks"]}  # type: ignore[union-attr]
    assert (verdicts["paused-neighbour"]["verdict"], verdicts["paused-neighbour"]["clause"]) == (
        "NON-STRICT",
        "LINK-4",
    ), output
    assert verdicts["flood-pairs"]["verdict"] == "PASS", output
    assert any(
        "every pair is killed, none stopped" in line for line in verdicts["flood-pairs"]["transcript"]
    ), output
    assert status == 3, output


def test_one_silent_ask_does_not_spend_the_wait_for_a_flood(tmp_path: Path) -> None:
    """A herd that leaves a WHATSAT for a client it does not hold unanswered and floods a moment
    after the reply: the first ask of a neighbour meets the silence and, with the reply timeout
    as long as the propagation time, takes all of it. The record arrives meanwhile; later asks
    are short and a last look after the propagation time sees it (no false FLOOD-1)."""
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "unknown_client_silent_late_flood.py"),
        "--timeout",
        "3",
        "--propagation",
        "3",
        "--only",
        "flood-all",
    )
    (flood_all,) = [entry for entry in document["checks"] if entry["check"] == "flood-all"]  # type: ignore[union-attr]
    assert flood_all["verdict"] == "PASS", output
    assert status == 0, output
