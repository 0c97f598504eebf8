"""``grades.csv``: one row per submission, in submission order, rewritten after each one ends
(so a batch stopped half way leaves the rows it finished)."""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from herdref.grading.batch import SubmissionResult
from herdref.grading.points import COLUMNS

__all__ = ["CSV_COLUMNS", "batch_max_score", "grade_rows", "write_grades_csv"]

_COUNT_COLUMNS: Final = (*COLUMNS.values(), "other")
CSV_COLUMNS: Final = (
    "submission",
    "status",
    "score",
    "max_score",
    *_COUNT_COLUMNS,
    "elapsed_s",
    "exit_status",
    "broken_clauses",
    "note",
)


def batch_max_score(results: Iterable[SubmissionResult]) -> float | None:
    """The max_score most graded submissions share: what a submission without a report (it
    never started, timed out) is out of."""
    counts = Counter(result.score.max_score for result in results if result.score is not None)
    return counts.most_common(1)[0][0] if counts else None


def _number(value: float) -> str:
    return f"{value:g}"


def grade_rows(results: list[SubmissionResult]) -> list[dict[str, str]]:
    fallback = batch_max_score(results)
    rows = []
    for result in sorted(results, key=lambda result: result.submission):
        row = {column: "" for column in CSV_COLUMNS}
        row.update(
            submission=result.submission,
            status=result.status,
            elapsed_s=f"{result.elapsed_s:.1f}",
            exit_status="" if result.exit_status is None else str(result.exit_status),
            note=result.note,
        )
        if result.score is not None:
            row.update(
                score=_number(result.score.score),
                max_score=_number(result.score.max_score),
                broken_clauses=" ".join(result.score.broken_clauses),
                **{column: str(result.score.counts.get(column, 0)) for column in _COUNT_COLUMNS},
            )
        else:
            row.update(
                score="0",
                max_score="" if fallback is None else _number(fallback),
                **{column: "0" for column in _COUNT_COLUMNS},
            )
        rows.append(row)
    return rows


def write_grades_csv(path: Path, results: list[SubmissionResult]) -> None:
    """Write the table atomically (a reader never sees half a file)."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(grade_rows(results))
    os.replace(partial, path)
