"""Reports: clause texts from SPEC.md, the terminal summary, JSON, JUnit XML and HTML."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from herdref.checker.report import clause_titles, terminal_summary, write_html, write_json, write_junit
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
