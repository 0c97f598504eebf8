"""Reports of a validate run: the terminal summary, JSON, JUnit XML and one self-contained HTML
page.

Rules:

* Every report carries, for each check, its clause, level and verdict; for each failure what
  was expected, what was seen, the wire transcript and a command that replays it.
* Every report states the SPEC profile graded against (SPEC 1.1); a NON-STRICT failure that
  breaks only what the strict profile asks is called a strict deviation.
* Clause titles come from SPEC.md when it can be found at run time (a source checkout); an
  installed herdref shows the clause ID alone. Nothing is fetched from the network.
* The HTML page has no external assets (inline CSS only) so it can be attached anywhere.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final
from xml.etree import ElementTree

from herdref.checker.grading import HEADER_RE, clause_paragraphs
from herdref.checker.runner import Outcome

__all__ = [
    "clause_titles",
    "framing_styles",
    "summary_counts",
    "terminal_summary",
    "write_html",
    "write_json",
    "write_junit",
]

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


def framing_styles(outcomes: Iterable[Outcome]) -> dict[str, str]:
    """Which delivery styles the target answered ("yes", "NO", or the verdict otherwise)."""
    words = {"PASS": "yes", "FAIL": "NO", "NON-STRICT": "NO"}
    return {
        FRAMING_CHECKS[outcome.check]: words.get(outcome.verdict, outcome.verdict.lower())
        for outcome in outcomes
        if outcome.check in FRAMING_CHECKS
    }


def _first_sentence(text: str) -> str:
    return _SENTENCE_END_RE.split(text, maxsplit=1)[0][:240]


def summary_counts(outcomes: Iterable[Outcome]) -> Counter[str]:
    return Counter(outcome.verdict for outcome in outcomes)


def terminal_summary(
    outcomes: list[Outcome],
    *,
    target: str,
    left_out: list[tuple[str, str]],
    framing: str,
    elapsed_s: float,
    titles: dict[str, str] | None = None,
    spec_profile: str = "lenient",
) -> str:
    """The summary printed at the end of a run."""
    lines = [
        f"herdref validate: {target}",
        f"SPEC profile graded against: {spec_profile}",
        f"framing used: {framing}",
    ]
    styles = framing_styles(outcomes)
    if styles:
        lines.append(
            "framing styles answered: " + ", ".join(f"{style} {verdict}" for style, verdict in styles.items())
        )
    lines.append("")
    width = max((len(outcome.check) for outcome in outcomes), default=10)
    for outcome in outcomes:
        lines.append(
            f"  {outcome.verdict:<11} {outcome.check:<{width}}  {outcome.clause:<10} {outcome.level:<6} "
            f"{outcome.duration_s:6.2f}s  {outcome.summary if outcome.verdict != 'PASS' else outcome.title}"
        )
    for name, reason in left_out:
        lines.append(f"  {'SKIPPED':<11} {name:<{width}}  {reason}")
    failures = [
        outcome for outcome in outcomes if outcome.verdict in ("FAIL", "NON-STRICT", "FLAKY", "ERROR")
    ]
    for outcome in failures:
        lines += [
            "",
            f"--- {outcome.verdict} {outcome.check} ({outcome.clause}, {outcome.level}"
            f"{', strict profile only' if outcome.strict_only else ''})",
            f"    {outcome.summary}",
        ]
        clause_text = (titles or {}).get(outcome.clause)
        if clause_text:
            lines.append(f"    {outcome.clause}: {_first_sentence(clause_text)}")
        if outcome.expected or outcome.seen:
            lines += [f"    expected: {outcome.expected}", f"    seen:     {outcome.seen[:500]}"]
        if outcome.minimal:
            lines.append("    minimal sequence:")
            lines += [f"      {step}" for step in outcome.minimal]
        if outcome.replay:
            lines.append(f"    replay:   {outcome.replay}")
    counts = summary_counts(outcomes)
    tally = ", ".join(f"{counts[verdict]} {verdict}" for verdict in VERDICT_ORDER if counts[verdict])
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
    return "\n".join(lines)


def _document(outcomes: list[Outcome], meta: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    counts = summary_counts(outcomes)
    return {
        **meta,
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
    for key, value in meta.items():
        if key != "server_output_tails":
            ElementTree.SubElement(properties, "property", name=key, value=str(value))
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


_STYLE: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;width:100%}
td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}
.FAIL{color:#b00020;font-weight:bold}.NON-STRICT{color:#b36b00;font-weight:bold}.FLAKY{color:#7a3db8}
.PASS{color:#1b7e2e}.UNSUPPORTED,.SKIPPED,.BLOCKED{color:#666}.ERROR{color:#b00020}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}
section{border:1px solid #ddd;border-radius:6px;padding:0 1em;margin:1em 0}code{background:#f0f0f0}
"""


def write_html(path: Path, outcomes: list[Outcome], meta: dict[str, Any], titles: dict[str, str]) -> None:
    escape = html.escape
    counts = summary_counts(outcomes)
    rows = []
    for outcome in outcomes:
        anchor = (
            f"<a href='#{escape(outcome.check)}'>{escape(outcome.check)}</a>"
            if outcome.failed
            else escape(outcome.check)
        )
        rows.append(
            f"<tr><td class='{outcome.verdict}'>{outcome.verdict}</td><td>{anchor}</td>"
            f"<td title='{escape(titles.get(outcome.clause, ''))}'>{escape(outcome.clause)}</td>"
            f"<td>{outcome.level}</td><td>{outcome.duration_s:.2f}s</td>"
            f"<td>{escape(outcome.summary or outcome.title)}</td></tr>"
        )
    sections = []
    for outcome in outcomes:
        if outcome.verdict not in ("FAIL", "NON-STRICT", "FLAKY", "ERROR"):
            continue
        clause_text = titles.get(outcome.clause, "(clause text not available: SPEC.md not found)")
        minimal = (
            "<h4>Minimal sequence</h4><pre>" + escape("\n".join(outcome.minimal)) + "</pre>"
            if outcome.minimal
            else ""
        )
        sections.append(
            f"<section id='{escape(outcome.check)}'><h3 class='{outcome.verdict}'>{outcome.verdict}: "
            f"{escape(outcome.check)}</h3>"
            f"<p><b>{escape(outcome.clause)}</b> ({outcome.level}): {escape(clause_text)}</p>"
            f"<p>{escape(outcome.summary)}</p>"
            f"<p><b>Expected:</b> <code>{escape(outcome.expected)}</code><br>"
            f"<b>Seen:</b> <code>{escape(outcome.seen)}</code></p>{minimal}"
            f"<h4>Wire transcript</h4><pre>{escape(chr(10).join(outcome.transcript))}</pre>"
            f"<h4>Replay</h4><pre>{escape(outcome.replay)}</pre></section>"
        )
    tally = " ".join(
        f"<span class='{verdict}'>{counts[verdict]} {verdict}</span>" for verdict in VERDICT_ORDER
    )
    tails = meta.get("server_output_tails", {})
    meta = {key: value for key, value in meta.items() if key != "server_output_tails"}
    tail_sections = "".join(
        f"<h4>{escape(name)}</h4><pre>{escape(text or '(no output)')}</pre>" for name, text in tails.items()
    )
    if tail_sections:
        sections.append(f"<section><h3>Server output (end)</h3>{tail_sections}</section>")
    meta_rows = "".join(
        f"<tr><th>{escape(str(key))}</th><td>{escape(str(value))}</td></tr>" for key, value in meta.items()
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>herdref validate report</title>"
        f"<style>{_STYLE}</style></head><body><h1>herdref validate</h1><table>{meta_rows}</table>"
        f"<p>{tally}</p><table><tr><th>Verdict</th><th>Check</th><th>Clause</th><th>Level</th><th>Time</th>"
        f"<th>Summary</th></tr>{''.join(rows)}</table>{''.join(sections)}</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
