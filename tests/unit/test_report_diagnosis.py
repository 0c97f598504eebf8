"""The diagnosis every report opens with: the defects in the order to fix them (what blocks the
most checks first), the SPEC sections the checks are grouped by, the verdicts' legend and the
run's facts (version, date, topology)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from herdref.checker.diagnosis import (
    SPEC_SECTIONS,
    VERDICT_MEANINGS,
    by_section,
    diagnose,
    meta_label,
    report_facts,
    spec_section,
)
from herdref.checker.runner import Outcome
from herdref.herd.config import load_preset

ROOT = Path(__file__).parents[2]


def _outcome(check: str, clause: str, verdict: str, blocked_by: str = "") -> Outcome:
    return Outcome(check, clause, "MUST", check, verdict, 0.0, summary=f"{check} said", blocked_by=blocked_by)  # type: ignore[arg-type]


def test_the_defect_that_blocks_most_checks_comes_first() -> None:
    outcomes = [
        _outcome("echo-exact", "IAMAT-5", "NON-STRICT"),
        _outcome("at-reply-format", "AT-2", "FAIL"),
        _outcome("unknown-client", "WHATSAT-4", "ERROR"),
        _outcome("flood-no-loop", "FLOOD-3", "FLAKY"),
        _outcome("flood-all", "FLOOD-1", "FAIL"),
        _outcome("flood-newest-wins", "FLOOD-2", "BLOCKED", blocked_by="flood-all"),
        # A chain: blocked by a check that is itself blocked counts for the defect at its root.
        _outcome("flood-pairs", "FLOOD-1", "BLOCKED", blocked_by="flood-newest-wins"),
        _outcome("restart-reconnect", "LINK-2", "BLOCKED", blocked_by="flood-no-loop"),
        _outcome("lex-unicode-space", "LEX-1", "PASS"),
        _outcome("stateful", "FLOOD-1", "SKIPPED"),
    ]
    defects = diagnose(outcomes)
    # Two blocked, then one blocked, then by severity: FAIL, NON-STRICT, ERROR (not the herd's).
    assert [defect.check for defect in defects] == [
        "flood-all",
        "flood-no-loop",
        "at-reply-format",
        "echo-exact",
        "unknown-client",
    ]
    assert defects[0].blocks == ("flood-newest-wins", "flood-pairs")
    assert defects[0].line() == (
        "FAIL flood-all (FLOOD-1, MUST): flood-all said [blocks 2: flood-newest-wins, flood-pairs]"
    )
    assert defects[0].as_json()["evidence"] == "#flood-all"
    assert defects[2].blocks == () and defects[2].line().endswith("at-reply-format said")


def test_a_clean_run_has_no_defect() -> None:
    assert diagnose([_outcome("a", "LEX-1", "PASS"), _outcome("b", "LINK-2", "UNSUPPORTED")]) == []


def test_checks_are_grouped_by_spec_section_in_spec_order() -> None:
    outcomes = [
        _outcome("flood-all", "FLOOD-1", "PASS"),
        _outcome("echo", "IAMAT-5", "PASS"),
        _outcome("lex", "LEX-1", "PASS"),
        _outcome("flood-newest", "FLOOD-2", "PASS"),
        _outcome("odd", "NOPE-1", "PASS"),
    ]
    groups = by_section(outcomes)
    assert list(groups) == ["2. Lexical rules", "4. IAMAT", "8. Flooding between servers", "Other"]
    assert [outcome.check for outcome in groups["8. Flooding between servers"]] == [
        "flood-all",
        "flood-newest",
    ]
    assert spec_section("PEER-3") == spec_section("CATCHUP-1") == "10. The catch-up extension"


def test_the_built_in_sections_are_spec_md_headings() -> None:
    """``## 8. Flooding between servers (FLOOD)`` -> FLOOD: "8. Flooding between servers"; a
    heading without families names its one family (``## 4. IAMAT``)."""
    headings = re.findall(r"^## (\d+\. [^(\n]+?)(?: \(([A-Z, ]+)\))?$", (ROOT / "SPEC.md").read_text(), re.M)
    from_spec = {}
    for title, families in headings:
        for family in families.split(", ") if families else [title.split(". ", 1)[1].split()[0].upper()]:
            from_spec[family] = title
    from_spec["SCOPE"] = next(title for title, _ in headings if title.startswith("1. "))
    assert from_spec == SPEC_SECTIONS


def test_the_legend_is_the_readme_table() -> None:
    text = (ROOT / "README.md").read_text().split("| Verdict | Meaning |", 1)[1]
    rows = {}
    for line in text.splitlines()[2:]:
        if not line.startswith("|"):
            break
        verdict, meaning = (cell.strip() for cell in line.strip("|").split("|"))
        rows[verdict] = meaning
    assert rows == VERDICT_MEANINGS


def test_report_facts_state_version_date_and_topology() -> None:
    config = load_preset()
    facts = report_facts(
        config, version="1.2.3", now=datetime.datetime(2026, 3, 1, 9, 5, 7, tzinfo=datetime.UTC)
    )
    assert facts["herdref_version"] == "1.2.3" and facts["date"] == "2026-03-01 09:05:07 UTC"
    servers = facts["topology"]["servers"]
    assert servers == {name: f"{address.host}:{address.port}" for name, address in config.servers.items()}
    links = facts["topology"]["links"]
    assert {frozenset(pair) for pair in links} == set(config.links) and len(links) == len(config.links)
    assert "topology" not in report_facts(None, version="1")


def test_header_labels_are_words_not_json_keys() -> None:
    assert meta_label("spec_profile") == "SPEC profile graded against"
    assert meta_label("elapsed_s") == "Time taken (s)"
    assert meta_label("some_new_key") == "Some new key"
