"""Reports: clause texts from SPEC.md, the terminal summary, JSON, JUnit XML and HTML; each opens
with the defects in the order to fix them and states the version, date, topology and legend."""

from __future__ import annotations

import html
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from herdref.checker.diagnosis import VERDICT_MEANINGS
from herdref.checker.report import clause_titles, framing_styles, terminal_summary, write_json, write_junit
from herdref.checker.report_html import TRANSCRIPT_HEAD, TRANSCRIPT_TAIL, write_html
from herdref.checker.runner import Outcome

SPEC = """# Spec

**LEX-1** · MUST · core — White space is exactly the six octets SP, HT, LF, VT, FF and CR.
Other octets are never white space.

**FLOOD-2** · MUST · core — A record replaces the stored one only when newer.

Some prose that is not a clause.
"""


@pytest.fixture
def outcomes() -> list[Outcome]:
    return [
        Outcome("echo-exact", "IAMAT-5", "MUST", "echo", "PASS", 0.01),
        Outcome(
            "lex-unicode-space",
            "LEX-1",
            "MUST",
            "spaces",
            "FAIL",
            0.02,
            summary="U+00A0 split a client ID",
            expected="AT S +0.1 a\\xa0b ...",
            seen="b'? IAMAT ...'",
            transcript=["+0.000s S > b'IAMAT a\\xc2\\xa0b ...'"],
            minimal=["state.iamat(server='S')"],
            replay="herdref validate --only lex-unicode-space",
        ),
        Outcome("frame-single-write", "FRAME-6", "SHOULD", "one write", "NON-STRICT", 0.1, summary="split"),
        Outcome(
            "places-radius-metres", "PLACES-2", "MUST", "metres", "UNSUPPORTED", 0.0, summary="no fixture"
        ),
    ]


FACTS = {
    "herdref_version": "9.8.7",
    "date": "2026-03-01 09:05:07 UTC",
    "topology": {"servers": {"A": "127.0.0.1:4001", "B": "127.0.0.1:4002"}, "links": [["A", "B"]]},
}


@pytest.fixture
def blocking_run() -> list[Outcome]:
    """A run where a flood failure blocks two checks and an echo deviation blocks none."""
    return [
        Outcome("echo-exact", "IAMAT-5", "MUST", "echo", "NON-STRICT", 0.1, summary="echo changed"),
        Outcome(
            "flood-all",
            "FLOOD-1",
            "MUST",
            "floods",
            "FAIL",
            2.0,
            summary="Bailey never got the AT",
            transcript=[f"+{step:.3f}s Hill < b'AT Hill +0.1 c{step} ...'" for step in range(300)],
        ),
        Outcome("flood-newest-wins", "FLOOD-2", "MUST", "newest", "BLOCKED", 0.0, blocked_by="flood-all"),
        Outcome("paused-neighbour", "LINK-4", "MUST", "paused", "BLOCKED", 0.0, blocked_by="flood-all"),
        Outcome("lex-unicode-space", "LEX-1", "MUST", "spaces", "PASS", 0.0),
        Outcome("flood-pairs", "FLOOD-1", "MUST", "pairs", "SKIPPED", 0.0, summary="full profile only"),
    ]


def test_clause_titles_are_parsed_from_spec(tmp_path: Path) -> None:
    spec = tmp_path / "SPEC.md"
    spec.write_text(SPEC)
    titles = clause_titles(spec)
    assert titles["LEX-1"].endswith("Other octets are never white space. (MUST, core)")
    assert titles["FLOOD-2"] == "A record replaces the stored one only when newer. (MUST, core)"


def test_terminal_summary_lists_failures_with_replay(outcomes: list[Outcome]) -> None:
    text = terminal_summary(
        outcomes,
        target="t",
        left_out=[("flood-pairs", "full profile only")],
        framing="f",
        elapsed_s=1,
        titles={"LEX-1": "White space is exactly six octets. Nothing else."},
    )
    assert "    LEX-1: White space is exactly six octets.\n" in text
    assert "clauses broken (MUST): LEX-1" in text
    assert "clauses broken (SHOULD only): FRAME-6" in text
    assert "replay:   herdref validate --only lex-unicode-space" in text
    assert "state.iamat(server='S')" in text
    assert "SKIPPED     flood-pairs" in text
    assert "4 checks in 1.0 s: 1 FAIL, 1 NON-STRICT, 1 UNSUPPORTED, 1 PASS" in text
    assert "\x1b[" not in text  # no colour unless the caller paints


def test_terminal_summary_opens_with_the_defects_in_the_order_to_fix_them(
    blocking_run: list[Outcome],
) -> None:
    text = terminal_summary(blocking_run, target="t", left_out=[], framing="f", elapsed_s=1, facts=FACTS)
    lines = text.splitlines()
    assert lines[0] == "herdref 9.8.7 validate: t"
    assert "date: 2026-03-01 09:05:07 UTC" in lines
    assert "topology: A 127.0.0.1:4001, B 127.0.0.1:4002; links A-B" in lines
    start = lines.index("defects, in the order to fix them:")
    assert lines[start + 1 : start + 3] == [
        "  1. FAIL flood-all (FLOOD-1, MUST): Bailey never got the AT "
        "[blocks 2: flood-newest-wins, paused-neighbour]",
        "  2. NON-STRICT echo-exact (IAMAT-5, MUST): echo changed",
    ]
    table = next(index for index, line in enumerate(lines) if line.startswith("  PASS "))
    assert start < table
    # The evidence follows in the same order.
    assert text.index("--- FAIL flood-all") < text.index("--- NON-STRICT echo-exact")


def test_terminal_summary_paints_verdicts_when_asked(blocking_run: list[Outcome]) -> None:
    codes = {"red": "31", "yellow": "33", "green": "32"}

    def paint(text: str, colour: str) -> str:
        return f"\x1b[{codes[colour]}m{text}\x1b[0m"

    text = terminal_summary(blocking_run, target="t", left_out=[], framing="f", elapsed_s=1, paint=paint)
    assert "  1. \x1b[31mFAIL\x1b[0m flood-all" in text
    assert "  \x1b[32mPASS       \x1b[0m lex-unicode-space" in text
    assert "\x1b[33mNON-STRICT\x1b[0m echo-exact" in text
    # BLOCKED and SKIPPED stay plain.
    assert "  BLOCKED     flood-newest-wins" in text


def test_json_and_junit_reports(tmp_path: Path, outcomes: list[Outcome]) -> None:
    write_json(tmp_path / "r.json", outcomes, {"target": "t"}, {"LEX-1": "White space."})
    document = json.loads((tmp_path / "r.json").read_text())
    assert [entry["clause_text"] for entry in document["checks"]] == ["", "White space.", "", ""]
    assert document["counts"]["FAIL"] == 1
    assert [entry["verdict"] for entry in document["checks"]] == ["PASS", "FAIL", "NON-STRICT", "UNSUPPORTED"]
    write_junit(tmp_path / "r.xml", outcomes, {"target": "t"})
    suite = ElementTree.parse(tmp_path / "r.xml").getroot()
    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    failure = suite.find("testcase[@name='lex-unicode-space']/failure")
    assert failure is not None and "[FAIL LEX-1 MUST]" in (failure.get("message") or "")
    # NON-STRICT is a warning in CI, not a failure: a passing test case whose output says so.
    lenient = suite.find("testcase[@name='frame-single-write']")
    assert lenient is not None and lenient.find("failure") is None
    warning = lenient.find("system-out")
    assert warning is not None and (warning.text or "").startswith("NON-STRICT: [FRAME-6 SHOULD] split")


def test_json_and_junit_carry_the_diagnosis_legend_and_facts(
    tmp_path: Path, blocking_run: list[Outcome]
) -> None:
    write_json(tmp_path / "r.json", blocking_run, {"target": "t", **FACTS})
    document = json.loads((tmp_path / "r.json").read_text())
    assert [defect["check"] for defect in document["defects"]] == ["flood-all", "echo-exact"]
    assert document["defects"][0]["blocks"] == ["flood-newest-wins", "paused-neighbour"]
    assert document["legend"] == VERDICT_MEANINGS
    assert document["herdref_version"] == "9.8.7" and document["date"] == FACTS["date"]
    assert document["topology"] == FACTS["topology"]
    write_junit(tmp_path / "r.xml", blocking_run, {"target": "t", **FACTS})
    suite = ElementTree.parse(tmp_path / "r.xml").getroot()
    properties = {item.get("name"): item.get("value") for item in suite.iter("property")}
    assert properties["herdref_version"] == "9.8.7" and properties["date"] == FACTS["date"]
    assert properties["topology.server.A"] == "127.0.0.1:4001"
    assert properties["topology.links"] == "A-B"
    assert (properties["defect.1"] or "").startswith("FAIL flood-all (FLOOD-1, MUST)")
    assert (properties["defect.2"] or "").startswith("NON-STRICT echo-exact")
    assert {name.split(".", 1)[1] for name in properties if name and name.startswith("verdict.")} == set(
        VERDICT_MEANINGS
    )


def test_junit_blocked_and_skipped_checks_are_skipped_cases_naming_why(tmp_path: Path) -> None:
    outcomes = [
        Outcome("flood-all", "FLOOD-1", "MUST", "floods", "FAIL", 0.1, summary="B never got it"),
        Outcome("flood-newest-wins", "FLOOD-2", "MUST", "newest", "BLOCKED", 0.0, blocked_by="flood-all"),
        Outcome("restart", "LINK-2", "MUST", "restart", "SKIPPED", 0.0, summary="single-process herd"),
        Outcome("judge", "AT-1", "MUST", "reply", "ERROR", 0.0, summary="checker fault"),
    ]
    write_junit(tmp_path / "r.xml", outcomes, {"target": "t"})
    suite = ElementTree.parse(tmp_path / "r.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == (
        "4",
        "1",
        "2",
        "1",
    )
    blocked = suite.find("testcase[@name='flood-newest-wins']/skipped")
    assert blocked is not None and blocked.get("message") == "BLOCKED: blocked by flood-all"
    skipped = suite.find("testcase[@name='restart']/skipped")
    assert skipped is not None and skipped.get("message") == "SKIPPED: single-process herd"
    assert suite.find("testcase[@name='judge']/error") is not None


def test_html_report_shows_clause_text_and_transcript(tmp_path: Path, outcomes: list[Outcome]) -> None:
    write_html(
        tmp_path / "r.html", outcomes, {"target": "t"}, {"LEX-1": "White space is exactly six octets."}
    )
    page = (tmp_path / "r.html").read_text()
    assert "White space is exactly six octets." in page
    assert "S &gt; b&#x27;IAMAT a\\xc2\\xa0b ...&#x27;" in page
    assert "herdref validate --only lex-unicode-space" in page
    assert "<script" not in page and "http" not in page.split("</style>")[0]


def test_html_report_opens_with_the_diagnosis_then_checks_by_section(
    tmp_path: Path, blocking_run: list[Outcome]
) -> None:
    write_html(tmp_path / "r.html", blocking_run, {"target": "t", "spec_profile": "lenient", **FACTS}, {})
    page = (tmp_path / "r.html").read_text()
    diagnosis = page.index("id='diagnosis'")
    assert diagnosis < page.index("Checks by SPEC section") < page.index("<section class='evidence'")
    # Each defect links to its evidence; the one that blocks the most comes first.
    assert page.index("href='#flood-all'") < page.index("href='#echo-exact'") < page.index("</ol>")
    assert "id='flood-all'" in page and "id='echo-exact'" in page
    assert "Blocks 2 checks: flood-newest-wins, paused-neighbour." in page
    # Section rows in SPEC order, each check under its own.
    sections = [
        page.index(f"colspan='6'>{name}") for name in ("2. Lexical", "4. IAMAT", "8. Flooding", "11. Links")
    ]
    assert sections == sorted(sections)
    assert sections[2] < page.index("id='row-flood-newest-wins'") < sections[3]
    # A BLOCKED row names and links the check that blocked it.
    assert "blocked by <a href='#flood-all'>flood-all</a>" in page
    # Labels a person reads, the facts and the legend.
    assert "<th>SPEC profile graded against</th>" in page and "<th>spec_profile</th>" not in page
    assert "herdref 9.8.7" in page and "2026-03-01 09:05:07 UTC" in page
    assert "<td>A</td><td>127.0.0.1:4001</td><td>B</td>" in page
    for verdict, meaning in VERDICT_MEANINGS.items():
        assert f"<dt class='{verdict}'>{verdict}</dt><dd>{html.escape(meaning)}</dd>" in page
    assert "SKIPPED" in page and "full profile only" in page


def test_html_report_folds_and_cuts_a_long_transcript(tmp_path: Path, blocking_run: list[Outcome]) -> None:
    write_html(tmp_path / "r.html", blocking_run, {"target": "t"}, {})
    page = (tmp_path / "r.html").read_text()
    evidence = page[page.index("id='flood-all'") :]
    assert "<details><summary>Wire transcript (300 lines, first 25 and last 15 shown)" in evidence
    shown = [f"c{step} " for step in range(300) if f"c{step} ..." in evidence]
    assert shown == [f"c{step} " for step in [*range(TRANSCRIPT_HEAD), *range(300 - TRANSCRIPT_TAIL, 300)]]
    assert f"… {300 - TRANSCRIPT_HEAD - TRANSCRIPT_TAIL} lines left out here" in evidence
    # The 300 lines would take about 12 KB; the page stays far below the old 300-line page.
    assert len(page.encode()) < 12_000


def test_html_report_of_a_run_that_never_reached_the_herd_says_so_first(tmp_path: Path) -> None:
    skipped = [
        Outcome("flood-pairs", "FLOOD-1", "MUST", "pairs", "SKIPPED", 0.0, summary="full profile only")
    ]
    write_html(tmp_path / "r.html", skipped, {"target": "t", "error": "unreachable: Bailey exited"}, {})
    page = (tmp_path / "r.html").read_text()
    diagnosis = page[page.index("id='diagnosis'") : page.index("</section>")]
    assert "The herd was not checked" in diagnosis and "unreachable: Bailey exited" in diagnosis
    assert "No defect found" not in page


def test_framing_styles_say_a_style_answered_with_a_strict_deviation_was_answered() -> None:
    # A '?' reply to a CRLF line that keeps the CR (ERR-2 strict) is a CRLF line answered; a
    # single-shot herd's NON-STRICT keep-open (FRAME-3 strict) is a style it does not answer.
    styles = framing_styles(
        [
            Outcome("frame-crlf", "ERR-2", "MUST", "crlf", "NON-STRICT", 0.1, summary="CR kept"),
            Outcome("frame-keep-open", "FRAME-3", "MUST", "open", "NON-STRICT", 0.1, summary="single-shot"),
            Outcome("frame-no-final-newline", "FRAME-2", "MUST", "eof", "FAIL", 0.1, summary="no reply"),
            Outcome("frame-half-close", "FRAME-4", "MUST", "half", "PASS", 0.1),
        ]
    )
    assert styles == {
        "CRLF": "yes (not strictly)",
        "kept-open": "NO",
        "no-final-LF": "NO",
        "LF+half-close": "yes",
    }


def test_a_check_cut_short_after_passing_what_it_ran_is_not_called_unjudged() -> None:
    # A student herd's stateful run passed the 414 commands it sent before the run's budget
    # ended: the summary said "not judged for lack of time" under its PASS.
    summary = terminal_summary(
        [
            Outcome("stateful", "FLOOD-1", "MUST", "random", "PASS", 20.0, budget_spent=True),
            Outcome("flood-pairs", "FLOOD-1", "MUST", "pairs", "SKIPPED", 0.0, budget_spent=True),
        ],
        target="t",
        left_out=[],
        framing="f",
        elapsed_s=50.0,
    )
    assert "not judged for lack of time (MUST, the run is incomplete): flood-pairs;" in summary
    # Said up front as well, before the defects, and next to the PASS cut short.
    lines = summary.splitlines()
    incomplete = (
        "the run is incomplete: 1 MUST check(s) were not judged for lack of time "
        "(listed at the end; raise --budget)"
    )
    assert lines.index(incomplete) + 1 == lines.index("no defect found")
    assert "random (cut short by the time budget: passed what it ran)" in summary
    assert (
        "cut short by the time budget, judged on what they ran (MUST, the run is incomplete): stateful;"
        in summary
    )
