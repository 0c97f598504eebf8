"""Points: lookup order, verdict credit by SPEC profile, verdicts not known yet, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from herdref.grading.points import EXCLUDE, Points, PointsError, load_points, parse_points, score_report


def report(*checks: tuple[str, str, str], spec_profile: str = "lenient") -> dict[str, object]:
    return {
        "spec_profile": spec_profile,
        "checks": [
            {"check": check, "clause": clause, "verdict": verdict} for check, clause, verdict in checks
        ],
    }


def test_default_is_one_point_per_check_and_blocked_stays_in_max_score() -> None:
    score = score_report(
        report(
            ("a", "LEX-1", "PASS"),
            ("b", "LEX-2", "FAIL"),
            ("c", "FLOOD-1", "BLOCKED"),
            ("d", "FLOOD-2", "FLAKY"),
        ),
        Points(),
    )
    assert (score.score, score.max_score) == (2, 4)
    assert score.counts["pass"] == 1 and score.counts["fail"] == 1 and score.counts["blocked"] == 1
    assert score.broken_clauses == ["LEX-2"]


@pytest.mark.parametrize(("spec_profile", "expected"), [("lenient", 1.0), ("strict", 0.0)])
def test_non_strict_is_worth_full_points_under_lenient_only(spec_profile: str, expected: float) -> None:
    score = score_report(report(("a", "IAMAT-5", "NON-STRICT"), spec_profile=spec_profile), Points())
    assert (score.score, score.max_score) == (expected, 1.0)
    assert score.broken_clauses == ["IAMAT-5"]


def test_skipped_error_unsupported_and_unknown_verdicts_leave_max_score() -> None:
    score = score_report(
        report(
            ("a", "LEX-1", "PASS"),
            ("b", "PLACES-2", "UNSUPPORTED"),
            ("c", "CATCHUP-1", "SKIPPED"),
            ("d", "FLOOD-1", "ERROR"),
            ("e", "FLOOD-3", "SOMETHING-NEW"),
        ),
        Points(),
    )
    assert (score.score, score.max_score) == (1, 1)
    assert [score.counts[column] for column in ("unsupported", "skipped", "error", "other")] == [1, 1, 1, 1]
    assert [possible for *_, possible in score.per_check] == [1.0, None, None, None, None]


def test_points_are_looked_up_by_check_then_clause_then_family() -> None:
    points = parse_points({"default": 2, "points": {"flood-all": 10, "FLOOD-1": 5, "FLOOD": 3}})
    assert points.points_of("flood-all", "FLOOD-1") == 10
    assert points.points_of("flood-pairs", "FLOOD-1") == 5
    assert points.points_of("flood-no-loop", "FLOOD-2") == 3
    assert points.points_of("skew", "AT-2") == 2


def test_credit_can_be_set_per_verdict() -> None:
    points = parse_points({"credit": {"NON-STRICT": 0.5, "UNSUPPORTED": 0, "BLOCKED": EXCLUDE}})
    score = score_report(
        report(("a", "AT-2", "NON-STRICT"), ("b", "PLACES-2", "UNSUPPORTED"), ("c", "LEX-1", "BLOCKED")),
        points,
    )
    assert (score.score, score.max_score) == (0.5, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("defualt = 1\n", "unknown key `defualt`"),
        ("default = -1\n", "default must be a number >= 0"),
        ('[points]\nflood-all = "x"\n', "[points] flood-all must be a number"),
        ("[credit]\nPASSED = 1\n", "unknown verdict `PASSED`"),
        ("[credit]\nPASS = 2\n", "between 0 and 1"),
        ("[points\n", "not TOML"),
    ],
)
def test_a_bad_points_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "points.toml"
    path.write_text(text)
    with pytest.raises(PointsError) as caught:
        load_points(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize("document", [{}, {"checks": "x"}, {"checks": [{"check": "a"}]}, {"checks": [3]}])
def test_a_document_that_is_not_a_report_is_refused(document: dict[str, object]) -> None:
    with pytest.raises(PointsError, match="not a herdref validate report"):
        score_report(document, Points())
