"""The corpus of herds in this folder as data: what manifest.toml says of each, how to run
``herdref validate`` on one, and whether its report agrees with the manifest.

Used by ``sweep.py`` (every herd, any profile, a table) and by ``tests/e2e/test_validate.py``
(every herd, the quick profile, one test each), so both judge a report the same way.

A report agrees with its herd's entry when:

* every herd: no ERROR (the checker's own fault), and a BLOCKED check names a prerequisite that
  FAILed, was BLOCKED or ERRORed;
* ``verdict = "FAIL"``: exactly one FAIL, by the entry's ``check`` under its ``clause``;
* ``verdict = "NON-STRICT"``: no FAIL, and the entry's check reports its clause NON-STRICT;
* ``verdict = "FLAKY"``: the entry's check reports its clause FLAKY, and nothing else FAILs;
* ``verdict = "0 FAIL"`` (the base herd and every dialect): no FAIL and no FLAKY;
* and beyond those: no NON-STRICT but the entry's own and those its ``non_strict`` list names
  (a dialect's strict-only deviations, each reported once by its own check).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.bad_herds.probe_kit import python_for
from tests.e2e.bad_herds.warm_validate import WarmValidate

HERDS = Path(__file__).resolve().parent
MANIFEST = HERDS / "manifest.toml"

#: Verdicts that say the herd broke something (FAIL, NON-STRICT, FLAKY) or the checker did (ERROR).
REPORTED = ("FAIL", "NON-STRICT", "FLAKY", "ERROR")


@dataclass(frozen=True)
class CorpusHerd:
    name: str
    file: str
    kind: str
    clause: str
    verdict: str
    description: str
    launch: str
    per_server: bool = True
    #: The check that must name the defect (defects only).
    check: str | None = None
    #: Checks that kill, pause or restart servers which this herd's defect needs (the quick
    #: test run leaves the others out).
    needs: tuple[str, ...] = ()
    #: Strict-only deviations (check names) the herd shows besides its own: reported NON-STRICT.
    non_strict: tuple[str, ...] = ()
    #: A second defect, independent of the first, that its own check must name (FAIL) too:
    #: ``(check, clause)``. Herds whose first defect is a malformed AT line (AT-1) carry one, to
    #: show that the checks which read such lines still judge the rest (issue 11).
    second: tuple[str, str] | None = None
    #: Words a check's summary or transcript must hold (check name -> words): what a report
    #: must say about this herd, beyond its verdicts.
    says: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return HERDS / self.file


def load_corpus() -> dict[str, CorpusHerd]:
    entries: dict[str, dict[str, Any]] = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["herds"]
    return {
        name: CorpusHerd(
            name=name,
            file=entry["file"],
            kind=entry["kind"],
            clause=entry["clause"],
            verdict=entry["verdict"],
            description=entry["description"],
            launch=entry["launch"],
            per_server=entry.get("per_server", True),
            check=entry.get("check"),
            needs=tuple(entry.get("needs", ())),
            non_strict=tuple(entry.get("non_strict", ())),
            second=(entry["second_check"], entry["second_clause"]) if "second_check" in entry else None,
            says=dict(entry.get("says", {})),
        )
        for name, entry in entries.items()
    }


@dataclass
class CorpusRun:
    herd: CorpusHerd
    returncode: int | None
    report: dict[str, Any]
    output: str
    elapsed_s: float
    #: Why there is no report (a timeout, a crash), else "".
    trouble: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def checks(self) -> list[dict[str, Any]]:
        checks = self.report.get("checks", [])
        return checks if isinstance(checks, list) else []

    def reported(self) -> list[str]:
        """Each FAIL, NON-STRICT, FLAKY and ERROR as ``VERDICT check CLAUSE``."""
        return [
            f"{entry['verdict']} {entry['check']} {entry['clause']}"
            for entry in self.checks
            if entry["verdict"] in REPORTED
        ]


def validate_command(herd: CorpusHerd, herd_file: Path, report: Path, options: Sequence[str]) -> list[str]:
    """The ``herdref validate`` command line that checks ``herd`` on the herd file ``herd_file``."""
    python = " ".join(python_for(herd.path))
    launch = herd.launch.replace("{python}", python).replace("{herd}", str(herd.path))
    command = [sys.executable, "-m", "herdref", "validate", "--quiet", "--json", str(report)]
    command += ["--launch", launch, "--config", str(herd_file)]
    if not herd.per_server:
        command += ["--connect-host", "127.0.0.1"]
    return command + list(options)


def run_validate(
    herd: CorpusHerd,
    herd_file: Path,
    folder: Path,
    options: Sequence[str],
    *,
    budget_s: float,
    warm: WarmValidate | None = None,
) -> CorpusRun:
    """Run ``herdref validate`` on ``herd`` (report in ``folder``) and judge its report; in a
    process forked from ``warm`` when given, else in a new interpreter."""
    report = folder / "report.json"
    command = validate_command(herd, herd_file, report, options)
    started = time.monotonic()
    returncode: int | None = None
    output = trouble = ""
    try:
        if warm is not None:
            completed = warm.run(command[3:], cwd=HERDS, timeout=budget_s)  # after "python3 -m herdref"
        else:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=budget_s, cwd=HERDS, check=False
            )
        returncode, output = completed.returncode, completed.stdout + completed.stderr
    except subprocess.TimeoutExpired as expired:
        trouble = f"validate ran over {budget_s:g} s"
        output = str(expired.stdout or "") + str(expired.stderr or "")
    elapsed = time.monotonic() - started
    document: dict[str, Any] = {}
    if report.exists():
        document = json.loads(report.read_text(encoding="utf-8"))
    elif not trouble:
        trouble = (output.strip().splitlines() or ["validate wrote no report"])[-1]
    run = CorpusRun(herd, returncode, document, output, elapsed, trouble)
    run.problems = judge(herd, run.checks) + ([trouble] if trouble else [])
    return run


def judge(herd: CorpusHerd, checks: list[dict[str, Any]]) -> list[str]:
    """What in the report ``checks`` disagrees with the manifest's entry (empty: it agrees)."""
    problems: list[str] = []
    by_name = {entry["check"]: entry for entry in checks}

    def named(verdict: str) -> list[tuple[str, str]]:
        return [(entry["check"], entry["clause"]) for entry in checks if entry["verdict"] == verdict]

    fails, flaky, non_strict = named("FAIL"), named("FLAKY"), named("NON-STRICT")
    own = (herd.check or "", herd.clause)
    if own[0] + "-quick" in by_name:
        # The quick profile runs the short form of some checks (flood-pairs-quick for
        # flood-pairs): the same check, for the manifest.
        own = (own[0] + "-quick", own[1])
    if errors := named("ERROR"):
        problems.append(f"the checker's own error in {errors}")
    for entry in checks:
        if entry["verdict"] == "BLOCKED":
            blocker = by_name.get(entry.get("blocked_by") or "", {})
            if blocker.get("verdict") not in ("FAIL", "BLOCKED", "ERROR"):
                problems.append(
                    f"{entry['check']} BLOCKED by {entry.get('blocked_by')!r}, which did not fail"
                )
    unjudged = [entry["check"] for entry in checks if entry.get("budget_spent")]
    if unjudged:
        # Not the herd's doing: the run's time budget ran out (a loaded machine), so what these
        # checks would have said is unknown. Said as such, not as a missing verdict.
        problems.append(f"not judged, the run's time budget ran out: {unjudged}")
    if herd.verdict == "FAIL" and herd.second is not None:
        if sorted(fails) != sorted([own, herd.second]):
            problems.append(f"expected exactly the FAILs {own} and {herd.second}, got {fails or 'none'}")
    elif herd.verdict == "FAIL":
        if fails != [own]:
            problems.append(f"expected exactly one FAIL {own}, got {fails or 'none'}")
    elif fails:
        problems.append(f"expected no FAIL, got {fails}")
    if herd.verdict == "FLAKY" and own not in flaky:
        problems.append(f"expected FLAKY {own}, got FLAKY {flaky or 'none'}")
    if herd.verdict != "FLAKY" and flaky:
        problems.append(f"unexpected FLAKY {flaky}")
    if herd.verdict == "NON-STRICT" and own not in non_strict:
        problems.append(f"expected NON-STRICT {own}, got NON-STRICT {non_strict or 'none'}")
    allowed = {name + suffix for name in herd.non_strict for suffix in ("", "-quick")}
    allowed |= {own[0]} if herd.verdict == "NON-STRICT" else set()
    if extra := [item for item in non_strict if item[0] not in allowed]:
        problems.append(f"NON-STRICT not in the manifest: {extra}")
    # A deviation the manifest lists is looked for only where its check ran (the quick run
    # leaves some out).
    ran = {name for name, entry in by_name.items() if entry["verdict"] != "SKIPPED"}
    if missing := sorted((set(herd.non_strict) & ran) - {name for name, _ in non_strict}):
        problems.append(f"the manifest's non_strict not reported: {missing}")
    for check, words in herd.says.items():
        # The check as it ran: its quick form (flood-pairs-quick) where the other was SKIPPED.
        ran_as = [by_name[name] for name in (check, check + "-quick") if name in by_name]
        entry = next((ran for ran in ran_as if ran["verdict"] != "SKIPPED"), {})
        said = " ".join([str(entry.get("summary", "")), *entry.get("transcript", [])])
        if words not in said:
            problems.append(f"{check} does not say {words!r}")
    # One bug per herd: a herd whose bug is not about flooding floods among its servers, so that
    # a checker sees that bug alone (flood-all passes). Where the run cannot show it,
    # tests/e2e/test_bad_herds.py proves it with a probe of its own (FLOODS_UNSEEN).
    flood_all = by_name.get("flood-all", {}).get("verdict")
    if floods_intact(herd) and herd.name not in FLOODS_UNSEEN and flood_all != "PASS":
        problems.append(f"flood-all is {flood_all}: a herd whose one bug is elsewhere must flood")
    return problems


def floods_intact(herd: CorpusHerd) -> bool:
    """Whether ``herd``'s one bug is not about flooding or links (so its servers flood)."""
    return herd.kind == "defect" and not herd.clause.startswith(("FLOOD-", "LINK-"))


#: Herds whose bug is elsewhere but whose validate run cannot show their flooding (flood-all
#: BLOCKED or UNSUPPORTED by that bug): WHATSAT, the only way to see a record, kills the server
#: or answers with a line that shows no record (or the record is gone before it is asked for).
#: A probe shows they flood (test_bad_herds.py).
FLOODS_UNSEEN: frozenset[str] = frozenset(
    {
        "debug_text_to_client",
        "record_forgotten_on_close",
        "stale_kept_whatsat_line_rebuilt",
        "unknown_client_exits",
        "unknown_client_exits_slow_flood",
        "whatsat_line_from_arguments",
        "whatsat_line_from_iamat",
    }
)
