"""Grading by SPEC levels and profiles (SPEC 1.1): the built-in clause table agrees with SPEC.md,
and a failure is FAIL or NON-STRICT by its clause's tag and the profile graded against."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from herdref.checker.checks import CHECKS
from herdref.checker.grading import (
    BUILTIN_CLAUSE_TAGS,
    ClauseTag,
    clause_paragraphs,
    clause_tags,
    failure_verdict,
    is_strict_only,
    parse_clause_tags,
)
from herdref.checker.machine import lenient_iamat_violations
from herdref.checker.report import terminal_summary
from herdref.checker.runner import Outcome
from herdref.model import Violation

SPEC_PATH = Path(__file__).resolve().parents[2] / "SPEC.md"


def test_builtin_table_matches_spec_md() -> None:
    from_spec = parse_clause_tags(clause_paragraphs(SPEC_PATH))
    # Every clause header in SPEC.md is parsed (none slips past the header pattern).
    headers = re.findall(r"^\*\*([A-Z]+-[0-9]+)\*\*", SPEC_PATH.read_text(encoding="utf-8"), re.MULTILINE)
    assert sorted(from_spec) == sorted(set(headers))
    assert from_spec == BUILTIN_CLAUSE_TAGS


def test_every_check_names_a_clause_with_a_tag() -> None:
    assert {item.clause for item in CHECKS} <= set(BUILTIN_CLAUSE_TAGS)


def test_tags_are_read_from_the_given_spec(tmp_path: Path) -> None:
    spec = tmp_path / "SPEC.md"
    spec.write_text(
        "**AT-2** · MUST · strict — The time difference ...\n\n**NEW-1** · SHOULD · core — Text.\n",
        encoding="utf-8",
    )
    tags = clause_tags(spec)
    assert tags["AT-2"] == ClauseTag("MUST", "strict")
    assert tags["NEW-1"] == ClauseTag("SHOULD", "core")
    # Clauses the given file does not state come from the built-in table.
    assert tags["FLOOD-1"] == BUILTIN_CLAUSE_TAGS["FLOOD-1"]


@pytest.mark.parametrize(
    ("clause", "strict_part", "profile", "verdict"),
    [
        ("IAMAT-5", None, "lenient", "NON-STRICT"),  # strict clause, lenient grading: a warning
        ("IAMAT-5", None, "strict", "FAIL"),
        ("ERR-2", None, "lenient", "NON-STRICT"),
        ("FRAME-3", None, "strict", "FAIL"),
        ("IAMAT-5", False, "lenient", "FAIL"),  # the lenient alternative binds in every profile
        ("AT-2", True, "lenient", "NON-STRICT"),  # the "Strict:" part of a core clause
        ("AT-2", True, "strict", "FAIL"),
        ("AT-1", None, "lenient", "FAIL"),  # core clauses are unchanged
        ("AT-1", None, "strict", "FAIL"),
    ],
)
def test_a_must_failure_is_graded_by_tag_and_profile(
    clause: str, strict_part: bool | None, profile: str, verdict: str
) -> None:
    strict_only = is_strict_only(clause, BUILTIN_CLAUSE_TAGS, own_clause=clause, strict_part=strict_part)
    assert failure_verdict("MUST", clause, BUILTIN_CLAUSE_TAGS, profile, strict_only=strict_only) == verdict  # type: ignore[arg-type]


def test_a_failure_naming_another_clause_follows_that_clause() -> None:
    # limits-edges tests WHATSAT-2's strict part, but a server that died broke ERR-4 (core).
    assert not is_strict_only("ERR-4", BUILTIN_CLAUSE_TAGS, own_clause="WHATSAT-2", strict_part=True)
    assert is_strict_only("ERR-2", BUILTIN_CLAUSE_TAGS, own_clause="FRAME-1", strict_part=None)


def test_should_stays_non_strict_and_spec_level_caps_the_check() -> None:
    tags = {**BUILTIN_CLAUSE_TAGS, "X-1": ClauseTag("SHOULD", "core")}
    assert failure_verdict("SHOULD", "FRAME-6", tags, "strict", strict_only=False) == "NON-STRICT"
    assert failure_verdict("MUST", "X-1", tags, "strict", strict_only=False) == "NON-STRICT"
    assert failure_verdict("MUST", "IAMAT-6", tags, "lenient", strict_only=False) == "FAIL"  # MUST NOT


_RECEIVED_NS = (1_700_000_001_000_000_000, 1_700_000_001_001_000_000)
_SENT = (b"kiwi", b"+34.068930-118.445127", b"1700000000.959498503")
_STRICT = [Violation("AT-1", "does not echo")]


def _judge(reply: bytes, strict: list[Violation] = _STRICT) -> tuple[list[Violation], bool]:
    return lenient_iamat_violations("Bailey", _SENT, reply, received_ns=_RECEIVED_NS, strict=strict)


def test_stateful_lenient_judge_names_a_numeric_echo_iamat_5() -> None:
    float_time = repr(float(_SENT[2])).encode()
    # A float echo and four digits of time difference: numerically equal, a strict deviation.
    violations, strict_only = _judge(b"AT Bailey +0.0405 kiwi +34.06893-118.445127 %s\r\n" % float_time)
    assert strict_only and [violation.clause for violation in violations] == ["IAMAT-5"]
    # Exact echo but six digits: strict-only, and the strict judge's clause (AT-2) is kept.
    at2 = [Violation("AT-2", "not nine digits")]
    assert _judge(b"AT Bailey +0.040501 kiwi +34.068930-118.445127 1700000000.959498503\n", at2) == (
        at2,
        True,
    )


@pytest.mark.parametrize(
    "reply",
    [
        b"AT Bailey +0.040501497 kiwi +34.068930-118.445127 1700000000.5\n",  # another time
        b"AT Bailey +0.040501497 kiwi +34.068930-117.445127 1700000000.959498503\n",  # another place
        b"AT Bailey +0.040501497 KIWI +34.068930-118.445127 1700000000.959498503\n",  # client ID
        b"AT Bailey +9.040501497 kiwi +34.068930-118.445127 1700000000.959498503\n",  # wrong diff
        b"AT Bailey 0.040501497 kiwi +34.068930-118.445127 1700000000.959498503\n",  # no sign
        b"AT Other +0.040501497 kiwi +34.068930-118.445127 1700000000.959498503\n",  # server
    ],
)
def test_stateful_lenient_judge_keeps_real_failures(reply: bytes) -> None:
    assert _judge(reply) == (_STRICT, False)


def test_stateful_lenient_judge_has_nothing_to_rejudge_without_a_violation() -> None:
    assert _judge(b"AT Bailey +0.040501497 kiwi +34.068930-118.445127 1700000000.959498503\n", []) == (
        [],
        False,
    )


def test_terminal_summary_states_the_profile_and_the_strict_deviations() -> None:
    outcomes = [
        Outcome(
            "echo-exact", "IAMAT-5", "MUST", "echo", "NON-STRICT", 0.1, summary="changed", strict_only=True
        ),
        Outcome("frame-single-write", "FRAME-6", "SHOULD", "one write", "NON-STRICT", 0.1, summary="split"),
    ]
    text = terminal_summary(outcomes, target="t", left_out=[], framing="f", elapsed_s=1.0)
    assert "SPEC profile graded against: lenient" in text
    assert "strict deviations (allowed by the lenient profile, SPEC 1.1): IAMAT-5" in text
    assert "clauses broken (SHOULD only): FRAME-6" in text
    assert "--- NON-STRICT echo-exact (IAMAT-5, MUST, strict profile only)" in text
    strict_text = terminal_summary(
        outcomes[1:], target="t", left_out=[], framing="f", elapsed_s=1.0, spec_profile="strict"
    )
    assert "SPEC profile graded against: strict" in strict_text
    assert "strict deviations" not in strict_text


def test_every_check_of_a_strict_part_names_a_clause_that_states_one() -> None:
    """A check that grades a core clause's ``Strict:`` part (NON-STRICT under lenient) stands
    on a clause whose SPEC.md text states that part, so SPEC and checker agree (SPEC 1.1)."""
    paragraphs = clause_paragraphs(SPEC_PATH)
    strict_checks = [item for item in CHECKS if item.strict_part]
    assert {item.name for item in strict_checks} >= {
        "lex-unicode-space",
        "places-bound-zero",
        "flood-at-from-client",
        "limits-edges",
        "skew-nine-digits",
    }
    for item in strict_checks:
        assert "Strict:" in paragraphs[item.clause] or "strict:" in paragraphs[item.clause], item.name
        assert item.profile == "strict"


def test_a_violation_hypothesis_was_handling_is_found_behind_its_flaky_error() -> None:
    # FlakyStrategyDefinition is raised while the herd's HerdViolation is being handled (the
    # failure moved to another step while shrinking): the violation is the failure to report.
    from hypothesis.errors import FlakyStrategyDefinition

    from herdref.checker.machine import HerdViolation
    from herdref.checker.stateful_run import _violation_in_context

    violation = HerdViolation([Violation("FLOOD-1", "Clark never got the record")])

    def shrink_step() -> None:
        try:
            raise violation
        except HerdViolation:
            raise FlakyStrategyDefinition("Inconsistent data generation!") from None

    with pytest.raises(FlakyStrategyDefinition) as flaky:
        shrink_step()
    assert _violation_in_context(flaky.value) is violation
    assert _violation_in_context(FlakyStrategyDefinition("no failure behind it")) is None
