"""Reports of a validate run: the terminal summary, JSON and JUnit XML (the HTML page is
:mod:`herdref.checker.report_html`).

Rules:

* Every report opens with the diagnosis: the defects found, one line each, in the order to fix
  them (:func:`herdref.checker.diagnosis.diagnose`), then the checks.
* Every report states herdref's version, the date, the herd's topology and (JSON, JUnit, HTML)
  what each verdict means.

* Every report carries, for each check, its clause, level and verdict; for each failure what
  was expected, what was seen, the wire transcript and a command that replays it.
* Every report states the SPEC profile graded against (SPEC 1.1); a NON-STRICT failure that
  breaks only what the strict profile asks is called a strict deviation.
* Clause titles come from SPEC.md when it can be found at run time (a source checkout); an
  installed herdref shows the clause ID alone. Nothing is fetched from the network.
* The HTML page has no external assets (inline CSS only) so it can be attached anywhere.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final
from xml.etree import ElementTree

from herdref.checker.diagnosis import VERDICT_MEANINGS, diagnose
from herdref.checker.grading import HEADER_RE, clause_paragraphs
from herdref.checker.runner import Outcome

__all__ = [
    "VERDICT_COLOURS",
    "VERDICT_ORDER",
    "clause_titles",
    "first_sentence",
    "framing_styles",
    "summary_counts",
    "terminal_summary",
    "topology_line",
    "write_json",
    "write_junit",
]

#: The colour each verdict is printed in on a terminal (the rest are printed plain).
VERDICT_COLOURS: Final = {
    "PASS": "green",
    "FAIL": "red",
    "ERROR": "red",
    "NON-STRICT": "yellow",
    "FLAKY": "yellow",
}
#: ``paint(text, colour)``: the caller's way to colour text (or leave it plain).
Paint = Callable[[str, str], str]


def _plain(text: str, colour: str) -> str:
    return text


VERDICT_ORDER: Final = ("FAIL", "ERROR", "NON-STRICT", "FLAKY", "BLOCKED", "UNSUPPORTED", "SKIPPED", "PASS")
#: A full stop, then white space and a capital letter, not after "e.g." or "i.e.".
_SENTENCE_END_RE: Final = re.compile(r"(?<!e\.g\.)(?<!i\.e\.)(?<=\.)\s+(?=[A-Z`])")


def clause_titles(spec_path: Path | None = None) -> dict[str, str]:
    """Clause ID -> its text with the level and profile at the end, parsed from SPEC.md
    (:func:`herdref.checker.grading.clause_paragraphs`); empty if SPEC.md is not there."""
    titles = clause_paragraphs(spec_path)
    for key, text in titles.items():
        # "· MUST · core — White space is ..." -> "White space is ... (MUST, core)"
        match = HEADER_RE.match(text)
        if match is not None:
            titles[key] = f"{match.group(3)} ({match.group(1)}, {match.group(2)})"
    return titles


#: The framing probes, by the style of delivery each one tries.
FRAMING_CHECKS: Final = {
    "frame-half-close": "LF+half-close",
    "frame-keep-open": "kept-open",
    "frame-crlf": "CRLF",
    "frame-no-final-newline": "no-final-LF",
    "frame-pipelined": "two-per-packet",
}


#: The framing probes whose NON-STRICT still means the style was answered: what they report
#: then is a strict deviation in the reply (a '?' copy that keeps the CR, ERR-2), not a
#: command left unanswered. The others' style is itself the strict-only part (FRAME-3).
_ANSWERED_WHEN_NON_STRICT: Final = frozenset({"frame-half-close", "frame-crlf", "frame-no-final-newline"})


def framing_styles(outcomes: Iterable[Outcome]) -> dict[str, str]:
    """Which delivery styles the target answered ("yes", "NO", or the verdict otherwise)."""
    words = {"PASS": "yes", "FAIL": "NO", "NON-STRICT": "NO"}
    return {
        FRAMING_CHECKS[outcome.check]: (
            "yes (not strictly)"
            if outcome.verdict == "NON-STRICT" and outcome.check in _ANSWERED_WHEN_NON_STRICT
            else words.get(outcome.verdict, outcome.verdict.lower())
        )
        for outcome in outcomes
        if outcome.check in FRAMING_CHECKS
    }


def first_sentence(text: str) -> str:
    """The first sentence of a clause text (at most 240 characters)."""
    return _SENTENCE_END_RE.split(text, maxsplit=1)[0][:240]


def summary_counts(outcomes: Iterable[Outcome]) -> Counter[str]:
    return Counter(outcome.verdict for outcome in outcomes)


def topology_line(topology: Mapping[str, Any]) -> str:
    """``A 127.0.0.1:12000, B 127.0.0.1:12001; links A-B`` (the topology in one line)."""
    servers = ", ".join(f"{name} {address}" for name, address in topology.get("servers", {}).items())
    links = ", ".join("-".join(pair) for pair in topology.get("links", []))
    return f"{servers}; links {links or 'none'}"


def terminal_summary(
    outcomes: list[Outcome],
    *,
    target: str,
    left_out: list[tuple[str, str]],
    framing: str,
    elapsed_s: float,
    titles: dict[str, str] | None = None,
    spec_profile: str = "lenient",
    facts: Mapping[str, Any] | None = None,
    paint: Paint = _plain,
) -> str:
    """The summary printed at the end of a run: the defects in the order to fix them, then
    every check, then each defect's evidence. ``paint`` colours the verdicts."""

    def shade(name: str, width: int = 0) -> str:
        return (
            paint(f"{name:<{width}}", VERDICT_COLOURS[name])
            if name in VERDICT_COLOURS
            else f"{name:<{width}}"
        )

    facts = facts or {}
    version = f" {facts['herdref_version']}" if "herdref_version" in facts else ""
    lines = [f"herdref{version} validate: {target}"]
    if "date" in facts:
        lines.append(f"date: {facts['date']}")
    if "topology" in facts:
        lines.append(f"topology: {topology_line(facts['topology'])}")
    lines += [f"SPEC profile graded against: {spec_profile}", f"framing used: {framing}"]
    styles = framing_styles(outcomes)
    if styles:
        lines.append(
            "framing styles answered: " + ", ".join(f"{style} {verdict}" for style, verdict in styles.items())
        )
    defects = diagnose(outcomes)
    lines += ["", "defects, in the order to fix them:" if defects else "no defect found"]
    # Up front too, not only under the verdicts: a run whose budget left MUST checks unjudged
    # is incomplete, and its defects (or "no defect found") are no whole verdict on the herd.
    unjudged_count = sum(
        outcome.budget_spent and outcome.level == "MUST" and outcome.verdict in ("SKIPPED", "UNSUPPORTED")
        for outcome in outcomes
    )
    if unjudged_count:
        lines.insert(
            -1,
            f"the run is incomplete: {unjudged_count} MUST check(s) were not judged for lack of time "
            "(listed at the end; raise --budget)",
        )
    lines += [f"  {rank}. {defect.line(shade(defect.verdict))}" for rank, defect in enumerate(defects, 1)]
    lines.append("")
    width = max((len(outcome.check) for outcome in outcomes), default=10)
    for outcome in outcomes:
        said = outcome.summary if outcome.verdict != "PASS" else outcome.title
        if outcome.verdict == "PASS" and outcome.budget_spent:
            said += " (cut short by the time budget: passed what it ran)"
        lines.append(
            f"  {shade(outcome.verdict, 11)} {outcome.check:<{width}}  {outcome.clause:<10} "
            f"{outcome.level:<6} {outcome.duration_s:6.2f}s  {said}"
        )
    for name, reason in left_out:
        lines.append(f"  {'SKIPPED':<11} {name:<{width}}  {reason}")
    by_name = {outcome.check: outcome for outcome in outcomes}
    for defect in defects:
        outcome = by_name[defect.check]
        lines += [
            "",
            f"--- {shade(outcome.verdict)} {outcome.check} ({outcome.clause}, {outcome.level}"
            f"{', strict profile only' if outcome.strict_only else ''})",
            f"    {outcome.summary}",
        ]
        clause_text = (titles or {}).get(outcome.clause)
        if clause_text:
            lines.append(f"    {outcome.clause}: {first_sentence(clause_text)}")
        if outcome.expected or outcome.seen:
            lines += [f"    expected: {outcome.expected}", f"    seen:     {outcome.seen[:500]}"]
        if outcome.minimal:
            lines.append("    minimal sequence:")
            lines += [f"      {step}" for step in outcome.minimal]
        if outcome.replay:
            lines.append(f"    replay:   {outcome.replay}")
    counts = summary_counts(outcomes)
    tally = ", ".join(f"{counts[name]} {shade(name)}" for name in VERDICT_ORDER if counts[name])
    failing = sorted({outcome.clause for outcome in outcomes if outcome.verdict == "FAIL"})
    lines += ["", f"{len(outcomes)} checks in {elapsed_s:.1f} s: {tally or 'nothing run'}"]
    if failing:
        lines.append(f"clauses broken (MUST): {', '.join(failing)}")
    non_strict = [outcome for outcome in outcomes if outcome.verdict == "NON-STRICT"]
    deviations = sorted({outcome.clause for outcome in non_strict if outcome.strict_only})
    if deviations:
        lines.append(
            f"strict deviations (allowed by the {spec_profile} profile, SPEC 1.1): {', '.join(deviations)}"
        )
    should = sorted({outcome.clause for outcome in non_strict if not outcome.strict_only})
    if should:
        lines.append(f"clauses broken (SHOULD only): {', '.join(should)}")
    spent = [outcome for outcome in outcomes if outcome.budget_spent and outcome.level == "MUST"]
    # A check cut short after judging part of its work (the stateful run's PASS for the steps
    # it ran) was judged, only not wholly: saying "not judged" would contradict its verdict.
    unjudged = [outcome.check for outcome in spent if outcome.verdict in ("SKIPPED", "UNSUPPORTED")]
    cut = [outcome.check for outcome in spent if outcome.verdict not in ("SKIPPED", "UNSUPPORTED")]
    if unjudged:
        lines.append(
            f"not judged for lack of time (MUST, the run is incomplete): {', '.join(unjudged)}; "
            "raise --budget or --check-budget"
        )
    if cut:
        lines.append(
            f"cut short by the time budget, judged on what they ran (MUST, the run is incomplete): "
            f"{', '.join(cut)}; raise --budget or --check-budget"
        )
    return "\n".join(lines)


def _document(outcomes: list[Outcome], meta: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    counts = summary_counts(outcomes)
    return {
        **meta,
        "legend": VERDICT_MEANINGS,
        "defects": [defect.as_json() for defect in diagnose(outcomes)],
        "framing_styles": framing_styles(outcomes),
        "counts": {verdict: counts[verdict] for verdict in VERDICT_ORDER},
        "checks": [
            {**asdict(outcome), "clause_text": titles.get(outcome.clause, "")} for outcome in outcomes
        ],
    }


def write_json(
    path: Path, outcomes: list[Outcome], meta: dict[str, Any], titles: dict[str, str] | None = None
) -> None:
    path.write_text(json.dumps(_document(outcomes, meta, titles or {}), indent=2) + "\n", encoding="utf-8")


def _junit_properties(outcomes: list[Outcome], meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The run's facts as flat name/value pairs: each server and the links of the topology,
    each defect in the order to fix it, each verdict's meaning."""
    pairs: list[tuple[str, str]] = []
    for key, value in meta.items():
        if key == "topology":
            pairs += [(f"topology.server.{name}", address) for name, address in value["servers"].items()]
            pairs.append(("topology.links", ", ".join("-".join(pair) for pair in value["links"])))
        elif key != "server_output_tails":
            pairs.append((key, str(value)))
    pairs += [(f"defect.{rank}", defect.line()) for rank, defect in enumerate(diagnose(outcomes), 1)]
    pairs += [(f"verdict.{verdict}", meaning) for verdict, meaning in VERDICT_MEANINGS.items()]
    return pairs


def write_junit(path: Path, outcomes: list[Outcome], meta: dict[str, Any]) -> None:
    counts = summary_counts(outcomes)
    suite = ElementTree.Element(
        "testsuite",
        name="herdref-validate",
        tests=str(len(outcomes)),
        # A CI run fails on a broken MUST only: NON-STRICT (a strict-only deviation under the
        # lenient profile) is a passing test case that carries a warning in its output.
        failures=str(counts["FAIL"]),
        skipped=str(counts["UNSUPPORTED"] + counts["BLOCKED"] + counts["SKIPPED"]),
        errors=str(counts["ERROR"]),
        time=f"{sum(outcome.duration_s for outcome in outcomes):.3f}",
    )
    properties = ElementTree.SubElement(suite, "properties")
    for name, value in _junit_properties(outcomes, meta):
        ElementTree.SubElement(properties, "property", name=name, value=value)
    tails = meta.get("server_output_tails", {})
    if tails:
        ElementTree.SubElement(suite, "system-out").text = "\n".join(
            f"--- {name}\n{text}" for name, text in tails.items()
        )
    for outcome in outcomes:
        case = ElementTree.SubElement(
            suite, "testcase", classname=outcome.clause, name=outcome.check, time=f"{outcome.duration_s:.3f}"
        )
        body = "\n".join(
            [
                f"expected: {outcome.expected}",
                f"seen: {outcome.seen}",
                f"replay: {outcome.replay}",
                *outcome.transcript,
            ]
        )
        if outcome.verdict == "NON-STRICT":
            ElementTree.SubElement(
                case, "system-out"
            ).text = f"NON-STRICT: [{outcome.clause} {outcome.level}] {outcome.summary}\n{body}"
        elif outcome.verdict == "FAIL":
            failure = ElementTree.SubElement(
                case,
                "failure",
                message=f"[{outcome.verdict} {outcome.clause} {outcome.level}] {outcome.summary}",
            )
            failure.text = body
        elif outcome.verdict == "ERROR":
            ElementTree.SubElement(case, "error", message=f"[ERROR] {outcome.summary}").text = body
        elif outcome.verdict in ("UNSUPPORTED", "BLOCKED", "SKIPPED"):
            reason = outcome.summary
            if outcome.verdict == "BLOCKED" and outcome.blocked_by and outcome.blocked_by not in reason:
                reason = (
                    f"{reason} (blocked by {outcome.blocked_by})"
                    if reason
                    else f"blocked by {outcome.blocked_by}"
                )
            ElementTree.SubElement(case, "skipped", message=f"{outcome.verdict}: {reason}")
        elif outcome.verdict == "FLAKY":
            ElementTree.SubElement(case, "system-out").text = f"FLAKY: failed once, passed on replay\n{body}"
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
