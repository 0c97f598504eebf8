"""Gradescope's autograder ``results.json`` for one graded submission.

The format (Gradescope's "Autograder Specifications"): a top-level ``score``, ``output``,
``visibility``, ``stdout_visibility``, ``execution_time`` and ``tests``, each test with ``name``,
``score``, ``max_score``, ``status`` (``passed``/``failed``), ``output``, ``tags`` and
``visibility``. Scores come from :func:`herdref.grading.points.score_report`, as in
``grades.csv``; a check left out of ``max_score`` (SKIPPED, ERROR, UNSUPPORTED) is shown with
``max_score`` 0 so the student still sees why. The overall ``output`` opens, as every report
does, with the defects in the order to fix them (the JSON report's ``defects``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from herdref.checker.diagnosis import Defect
from herdref.grading.batch import SubmissionResult

__all__ = ["VISIBILITIES", "results_document", "write_results"]

VISIBILITIES: Final = ("visible", "hidden", "after_due_date", "after_published")
_PASSING: Final = ("PASS", "FLAKY")


def _check_output(entry: dict[str, Any], verdict: str, counted: bool) -> str:
    lines = [f"{verdict}: {entry.get('summary') or entry.get('title', '')}"]
    if not counted:
        lines.append(f"(not counted: {verdict} says nothing about the herd's conformance)")
    if entry.get("clause_text"):
        lines.append(f"{entry.get('clause')}: {entry['clause_text']}")
    if verdict not in _PASSING:
        for key in ("expected", "seen", "replay"):
            if entry.get(key):
                lines.append(f"{key}: {entry[key]}")
        transcript = entry.get("transcript") or []
        if transcript:
            lines.append("wire transcript (first 40 lines):")
            lines += [str(line) for line in transcript[:40]]
    return "\n".join(lines)


def _defect_lines(defects: list[dict[str, Any]]) -> list[str]:
    """The report's defects, in the order to fix them, one line each (as the terminal shows them)."""
    lines = [
        f"{rank}. "
        + Defect(
            str(entry.get("check", "")),
            str(entry.get("verdict", "")),
            str(entry.get("clause", "")),
            str(entry.get("level", "")),
            str(entry.get("summary", "")),
            tuple(str(name) for name in entry.get("blocks") or []),
        ).line()
        for rank, entry in enumerate(defects, 1)
    ]
    return ["", "Defects, in the order to fix them:", *lines] if lines else []


def results_document(
    result: SubmissionResult, *, log_tail: str, visibility: str = "visible"
) -> dict[str, Any]:
    """The results.json of ``result`` (``log_tail``: the end of validate's console output)."""
    document: dict[str, Any] = {
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "execution_time": round(result.elapsed_s),
    }
    if result.score is None or result.report is None:
        document.update(
            score=0,
            output=f"herdref could not grade this submission ({result.status}): {result.note}\n\n{log_tail}",
            tests=[],
        )
        return document
    entries = result.report.get("checks", [])
    tests = []
    for entry, (check, clause, verdict, earned, possible) in zip(
        entries, result.score.per_check, strict=True
    ):
        counted = possible is not None
        passed = verdict in _PASSING or (counted and earned >= (possible or 0))
        tests.append(
            {
                "name": f"{check} ({clause})",
                "score": earned,
                "max_score": possible if counted else 0,
                "status": "passed" if passed else "failed",
                "output": _check_output(entry, verdict, counted),
                "tags": [clause, str(entry.get("level", "")), verdict],
                "visibility": visibility,
            }
        )
    broken = ", ".join(result.score.broken_clauses) or "none"
    document.update(
        score=result.score.score,
        output="\n".join(
            [
                f"herdref validate: {result.score.score:g} of {result.score.max_score:g} points "
                f"(SPEC profile {result.report.get('spec_profile', 'lenient')}); clauses broken: {broken}",
                *_defect_lines(result.report.get("defects", [])),
            ]
        ),
        tests=tests,
    )
    return document


def write_results(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
