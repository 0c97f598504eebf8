"""Points: a submission's score, computed from its ``herdref validate`` JSON report alone.

Rules:

* Each check is worth the points its entry in the points file names, looked up by check name
  (``flood-all``), then clause ID (``FLOOD-1``), then clause family (``FLOOD``); otherwise
  ``default`` (one point).
* Each verdict earns a share of those points (``[credit]``): PASS and FLAKY everything, FAIL
  and BLOCKED nothing; NON-STRICT everything when the report was graded against the lenient SPEC
  profile (a strict deviation is allowed there, SPEC 1.1) and nothing under strict.
* Some verdicts leave the check out of ``max_score``: SKIPPED (not run), ERROR (the checker's
  own fault, not the herd's) and UNSUPPORTED (the checker could not observe the property).
  A verdict this module does not know is left out too, and counted in the ``other`` column.
* BLOCKED stays in ``max_score``: a check blocked by a broken prerequisite is lost to the herd,
  otherwise breaking the basics would raise the percentage.

:func:`score_report` is the one place that computes a score: ``herdref grade`` calls it, and a
test recomputes every grade from the JSON reports with it.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = [
    "COLUMNS",
    "EXCLUDE",
    "KNOWN_VERDICTS",
    "Points",
    "PointsError",
    "Score",
    "load_points",
    "parse_points",
    "score_report",
]

#: The share of a check's points a verdict earns that leaves the check out of max_score.
EXCLUDE: Final = "exclude"

#: Verdict -> the grades.csv column that counts it.
COLUMNS: Final = {
    "PASS": "pass",
    "FAIL": "fail",
    "NON-STRICT": "non_strict",
    "FLAKY": "flaky",
    "BLOCKED": "blocked",
    "UNSUPPORTED": "unsupported",
    "ERROR": "error",
    "SKIPPED": "skipped",
}
KNOWN_VERDICTS: Final = tuple(COLUMNS)

_DEFAULT_CREDIT: Final[dict[str, float | str]] = {
    "PASS": 1.0,
    "FLAKY": 1.0,
    "FAIL": 0.0,
    "BLOCKED": 0.0,
    "UNSUPPORTED": EXCLUDE,
    "ERROR": EXCLUDE,
    "SKIPPED": EXCLUDE,
}
#: NON-STRICT's credit by the report's SPEC profile, unless the points file sets it.
_NON_STRICT_CREDIT: Final = {"lenient": 1.0, "strict": 0.0}


class PointsError(ValueError):
    """A points file that cannot be used (the message names the key)."""


@dataclass(frozen=True, slots=True)
class Points:
    #: Points of a check the table does not name.
    default: float = 1.0
    #: Check name, clause ID or clause family -> points.
    table: dict[str, float] = field(default_factory=dict)
    #: Verdict -> share of the points earned, or EXCLUDE.
    credit: dict[str, float | str] = field(default_factory=dict)

    def points_of(self, check: str, clause: str) -> float:
        family = clause.partition("-")[0]
        for key in (check, clause, family):
            if key in self.table:
                return self.table[key]
        return self.default

    def credit_of(self, verdict: str, spec_profile: str) -> float | str:
        if verdict in self.credit:
            return self.credit[verdict]
        if verdict == "NON-STRICT":
            return _NON_STRICT_CREDIT.get(spec_profile, 0.0)
        return _DEFAULT_CREDIT.get(verdict, EXCLUDE)


@dataclass(frozen=True, slots=True)
class Score:
    score: float
    max_score: float
    #: grades.csv column -> number of checks ("other" for verdicts not in COLUMNS).
    counts: dict[str, int]
    #: Clauses with a FAIL or NON-STRICT check, sorted.
    broken_clauses: list[str]
    #: (check, clause, verdict, points earned, points possible or None when left out).
    per_check: list[tuple[str, str, str, float, float | None]]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PointsError(f"{where} must be a number >= 0, not {value!r}")
    return float(value)


def parse_points(document: dict[str, Any]) -> Points:
    """Points from a parsed points file (``default``, ``[points]``, ``[credit]``)."""
    unknown = sorted(set(document) - {"default", "points", "credit"})
    if unknown:
        raise PointsError(f"unknown key `{unknown[0]}` (expected default, [points], [credit])")
    default = _number(document.get("default", 1), "default")
    table_raw = document.get("points", {})
    if not isinstance(table_raw, dict):
        raise PointsError("[points] must be a table of check, clause or family = points")
    table = {str(key): _number(value, f"[points] {key}") for key, value in table_raw.items()}
    credit_raw = document.get("credit", {})
    if not isinstance(credit_raw, dict):
        raise PointsError("[credit] must be a table of VERDICT = share")
    credit: dict[str, float | str] = {}
    for verdict, value in credit_raw.items():
        if verdict not in KNOWN_VERDICTS:
            raise PointsError(f"[credit] unknown verdict `{verdict}` (one of {', '.join(KNOWN_VERDICTS)})")
        if value == EXCLUDE:
            credit[verdict] = EXCLUDE
            continue
        share = _number(value, f"[credit] {verdict}")
        if share > 1:
            raise PointsError(f'[credit] {verdict} must be between 0 and 1 or "exclude", not {value!r}')
        credit[verdict] = share
    return Points(default=default, table=table, credit=credit)


def load_points(path: Path | None) -> Points:
    """The points file at ``path``; one point per check when None."""
    if path is None:
        return Points()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PointsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PointsError(f"{path}: not TOML: {exc}") from exc
    try:
        return parse_points(document)
    except PointsError as exc:
        raise PointsError(f"{path}: {exc}") from exc


def score_report(document: dict[str, Any], points: Points) -> Score:
    """The score of one validate JSON report (its ``checks`` and ``spec_profile``).

    Raises PointsError when the document is not a validate report.
    """
    checks = document.get("checks")
    if not isinstance(checks, list):
        raise PointsError("not a herdref validate report: no list of checks")
    spec_profile = str(document.get("spec_profile", "lenient"))
    counts: Counter[str] = Counter({column: 0 for column in (*COLUMNS.values(), "other")})
    score = max_score = 0.0
    broken: set[str] = set()
    per_check: list[tuple[str, str, str, float, float | None]] = []
    for entry in checks:
        if not isinstance(entry, dict) or not isinstance(entry.get("verdict"), str):
            raise PointsError(f"not a herdref validate report: a check entry is {entry!r:.80}")
        verdict, check, clause = entry["verdict"], str(entry.get("check", "")), str(entry.get("clause", ""))
        counts[COLUMNS.get(verdict, "other")] += 1
        if verdict in ("FAIL", "NON-STRICT"):
            broken.add(clause)
        share = points.credit_of(verdict, spec_profile)
        if share == EXCLUDE:
            per_check.append((check, clause, verdict, 0.0, None))
            continue
        points_of = points.points_of(check, clause)
        worth = points_of * float(share)
        score += worth
        max_score += points_of
        per_check.append((check, clause, verdict, worth, points_of))
    return Score(
        score=round(score, 6),
        max_score=round(max_score, 6),
        counts=dict(counts),
        broken_clauses=sorted(broken),
        per_check=per_check,
    )
