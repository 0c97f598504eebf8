"""The HTML report: one self-contained page a student reads top to bottom.

Rules:

* The page opens with the diagnosis: the defects found, one line each, in the order to fix them
  (:func:`herdref.checker.diagnosis.diagnose`), each linked to its evidence; then the table of
  checks grouped by SPEC section (a header row per section, as Autobahn's report groups its
  cases); then each defect's evidence; then the run's facts (herdref version, date, topology)
  and what each verdict means.
* The page stays small: a long wire transcript (a flood check's can pass 300 lines) is folded
  in a closed ``<details>`` and cut to its first and last lines, saying how many were left out
  (the JSON report keeps them all); server output is folded too.
* No external assets (inline CSS only, no script) so it can be attached anywhere.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from herdref.checker.diagnosis import VERDICT_MEANINGS, Defect, by_section, diagnose, meta_label
from herdref.checker.report import VERDICT_ORDER, first_sentence, summary_counts
from herdref.checker.runner import Outcome

__all__ = ["TRANSCRIPT_HEAD", "TRANSCRIPT_OPEN_MAX", "TRANSCRIPT_TAIL", "write_html"]

#: A transcript of at most this many lines is shown whole and open.
TRANSCRIPT_OPEN_MAX: Final = 40
#: A longer one keeps its first and last lines (where a flood starts, and where it was judged).
TRANSCRIPT_HEAD: Final = 25
TRANSCRIPT_TAIL: Final = 15
#: A single line longer than this (a WHATSAT reply's JSON) is cut, saying by how much.
_LINE_MAX: Final = 400

_STYLE: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
table{border-collapse:collapse;width:100%}
td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th.section{background:#eef;font-size:15px;padding-top:.8em}
.FAIL{color:#b00020;font-weight:bold}.NON-STRICT{color:#b36b00;font-weight:bold}.FLAKY{color:#7a3db8}
.PASS{color:#1b7e2e}.UNSUPPORTED,.SKIPPED,.BLOCKED{color:#666}.ERROR{color:#b00020}
#diagnosis{border:2px solid #b00020;border-radius:6px;padding:.2em 1em;margin:1em 0}
#diagnosis.clean{border-color:#1b7e2e}#diagnosis li{margin:.3em 0}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}
section.evidence{border:1px solid #ddd;border-radius:6px;padding:0 1em;margin:1em 0}
code{background:#f0f0f0}summary{cursor:pointer;font-weight:bold}dt{font-weight:bold}
"""

_escape = html.escape


def _verdict(name: str) -> str:
    return f"<span class='{name}'>{name}</span>"


def _diagnosis(defects: Sequence[Defect], outcomes: Sequence[Outcome], error: str) -> str:
    if error and not defects:
        # The run stopped before judging the herd (unreachable, bad template, port in use).
        return (
            "<section id='diagnosis'><h2>The herd was not checked</h2>"
            f"<p class='ERROR'>{_escape(error)}</p></section>"
        )
    if not defects:
        ran = sum(outcome.verdict not in ("SKIPPED", "BLOCKED") for outcome in outcomes)
        return (
            "<section id='diagnosis' class='clean'><h2>No defect found</h2>"
            f"<p>Every one of the {ran} checks that ran passed or could not judge this herd "
            "(see the table).</p></section>"
        )
    items = []
    for defect in defects:
        blocks = (
            f" <small>Blocks {len(defect.blocks)} check{'s' if len(defect.blocks) != 1 else ''}: "
            f"{_escape(', '.join(defect.blocks))}.</small>"
            if defect.blocks
            else ""
        )
        items.append(
            f"<li>{_verdict(defect.verdict)} <a href='#{_escape(defect.anchor)}'>{_escape(defect.check)}</a>"
            f" ({_escape(defect.clause)}, {_escape(defect.level)}): "
            f"{_escape(defect.summary or 'failed')}{blocks}</li>"
        )
    count = len(defects)
    return (
        f"<section id='diagnosis'><h2>{count} defect{'s' if count != 1 else ''} found, "
        "in the order to fix them</h2>"
        f"<ol>{''.join(items)}</ol></section>"
    )


def _check_table(outcomes: Sequence[Outcome], titles: Mapping[str, str], evidence: set[str]) -> str:
    rows = []
    for section, members in by_section(outcomes).items():
        counts = summary_counts(members)
        tally = ", ".join(f"{counts[name]} {name}" for name in VERDICT_ORDER if counts[name])
        rows.append(
            f"<tr><th class='section' colspan='6'>{_escape(section)} <small>({tally})</small></th></tr>"
        )
        for outcome in members:
            name = _escape(outcome.check)
            check = f"<a href='#{name}'>{name}</a>" if outcome.check in evidence else name
            said = outcome.summary or outcome.title
            if outcome.verdict == "BLOCKED" and outcome.blocked_by:
                blocker = _escape(outcome.blocked_by)
                link = f"<a href='#{blocker}'>{blocker}</a>" if outcome.blocked_by in evidence else blocker
                said_html = f"blocked by {link}" + (f": {_escape(said)}" if said else "")
            else:
                said_html = _escape(said)
            clause_text = first_sentence(titles.get(outcome.clause, ""))
            rows.append(
                f"<tr id='row-{name}'><td class='{outcome.verdict}'>{outcome.verdict}</td><td>{check}</td>"
                f"<td title='{_escape(clause_text)}'>{_escape(outcome.clause)}</td>"
                f"<td>{_escape(outcome.level)}</td><td>{outcome.duration_s:.2f}&nbsp;s</td>"
                f"<td>{said_html}</td></tr>"
            )
    return (
        "<h2>Checks by SPEC section</h2><table><tr><th>Verdict</th><th>Check</th><th>Clause</th>"
        f"<th>Level</th><th>Time</th><th>Summary</th></tr>{''.join(rows)}</table>"
    )


def _clip(line: str) -> str:
    if len(line) <= _LINE_MAX:
        return line
    return f"{line[:_LINE_MAX]} … ({len(line) - _LINE_MAX} more characters)"


def _transcript(lines: Sequence[str]) -> str:
    """The wire transcript, whole and open when short, else folded and cut to its ends."""
    if not lines:
        return "<p><i>No wire transcript recorded.</i></p>"
    if len(lines) <= TRANSCRIPT_OPEN_MAX:
        body = "\n".join(_clip(line) for line in lines)
        return (
            f"<details open><summary>Wire transcript ({len(lines)} lines)</summary>"
            f"<pre>{_escape(body)}</pre></details>"
        )
    left_out = len(lines) - TRANSCRIPT_HEAD - TRANSCRIPT_TAIL
    shown = [
        *lines[:TRANSCRIPT_HEAD],
        f"… {left_out} lines left out here (the JSON report, --json, keeps every line) …",
        *lines[-TRANSCRIPT_TAIL:],
    ]
    body = "\n".join(_clip(line) for line in shown)
    return (
        f"<details><summary>Wire transcript ({len(lines)} lines, first {TRANSCRIPT_HEAD} and last "
        f"{TRANSCRIPT_TAIL} shown)</summary><pre>{_escape(body)}</pre></details>"
    )


def _evidence(outcome: Outcome, rank: int, titles: Mapping[str, str]) -> str:
    clause_text = titles.get(outcome.clause, "(clause text not available: SPEC.md not found)")
    minimal = (
        "<h4>Minimal sequence</h4><pre>" + _escape("\n".join(outcome.minimal)) + "</pre>"
        if outcome.minimal
        else ""
    )
    seen = _clip(outcome.seen)
    return (
        f"<section class='evidence' id='{_escape(outcome.check)}'><h3>{rank}. {_verdict(outcome.verdict)}: "
        f"{_escape(outcome.check)}</h3>"
        f"<p><b>{_escape(outcome.clause)}</b> ({_escape(outcome.level)}): {_escape(clause_text)}</p>"
        f"<p>{_escape(outcome.summary)}</p>"
        f"<p><b>Expected:</b> <code>{_escape(outcome.expected)}</code><br>"
        f"<b>Seen:</b> <code>{_escape(seen)}</code></p>{minimal}"
        f"{_transcript(outcome.transcript)}"
        f"<h4>Replay</h4><pre>{_escape(outcome.replay)}</pre></section>"
    )


def _facts(meta: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{_escape(meta_label(key))}</th><td>{_escape(str(value))}</td></tr>"
        for key, value in meta.items()
        if key not in ("topology", "server_output_tails")
    )
    topology = meta.get("topology")
    servers = ""
    if topology:
        links = [tuple(pair) for pair in topology.get("links", [])]
        server_rows = "".join(
            f"<tr><td>{_escape(name)}</td><td>{_escape(address)}</td><td>"
            + _escape(", ".join(b if a == name else a for a, b in links if name in (a, b)) or "none")
            + "</td></tr>"
            for name, address in topology.get("servers", {}).items()
        )
        servers = (
            "<h3>Topology</h3><table><tr><th>Server</th><th>Address</th><th>Talks with</th></tr>"
            f"{server_rows}</table>"
        )
    return f"<h2>About this run</h2><table>{rows}</table>{servers}"


def _legend() -> str:
    entries = "".join(
        f"<dt class='{verdict}'>{verdict}</dt><dd>{_escape(meaning)}</dd>"
        for verdict, meaning in VERDICT_MEANINGS.items()
    )
    return f"<h2 id='legend'>What the verdicts mean</h2><dl>{entries}</dl>"


def _server_output(tails: Mapping[str, str]) -> str:
    if not tails:
        return ""
    parts = "".join(
        f"<details><summary>{_escape(name)}</summary><pre>{_escape(text or '(no output)')}</pre></details>"
        for name, text in tails.items()
    )
    return f"<h2>Server output (end)</h2>{parts}"


def write_html(path: Path, outcomes: list[Outcome], meta: dict[str, Any], titles: dict[str, str]) -> None:
    counts = summary_counts(outcomes)
    defects = diagnose(outcomes)
    by_name = {outcome.check: outcome for outcome in outcomes}
    evidence = "".join(
        _evidence(by_name[defect.check], rank, titles) for rank, defect in enumerate(defects, 1)
    )
    tally = " · ".join(
        f"<span class='{verdict}'>{counts[verdict]} {verdict}</span>"
        for verdict in VERDICT_ORDER
        if counts[verdict]
    )
    byline = " · ".join(
        _escape(text)
        for key, text in (
            ("target", str(meta.get("target"))),
            ("herdref_version", f"herdref {meta.get('herdref_version')}"),
            ("date", str(meta.get("date"))),
        )
        if key in meta
    )
    error = str(meta.get("error") or "")
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>herdref validate report</title>"
        f"<style>{_STYLE}</style></head><body><h1>herdref validate report</h1>"
        f"<p>{byline}</p><p>{tally or 'No check ran.'} (<a href='#legend'>what these mean</a>)</p>"
        f"{_diagnosis(defects, outcomes, error)}"
        f"{_check_table(outcomes, titles, {defect.check for defect in defects})}"
        f"{'<h2>Evidence</h2>' + evidence if evidence else ''}"
        f"{_facts(meta)}{_legend()}{_server_output(meta.get('server_output_tails', {}))}"
        "</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
