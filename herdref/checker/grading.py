"""Grading a failed check by SPEC.md's levels and profiles (section 1.1).

Rules:

* Every clause carries a level (MUST, SHOULD, ...) and a profile tag (``core``, ``strict``,
  ``catchup``, ``herdref``). They are read from SPEC.md at run time when it can be found (the
  same paragraphs the reports take clause texts from), else from :data:`BUILTIN_CLAUSE_TAGS`,
  which a unit test keeps in step with SPEC.md.
* A check can be graded against the ``lenient`` profile (the default: "A checker that does not
  know which profile a server claims SHOULD grade against lenient and report a broken
  strict-only clause like a broken SHOULD") or the ``strict`` one.
* A failure is strict-only when its clause is tagged ``strict`` (unless the check tests that
  clause's lenient alternative, which binds in every profile), or when the check tests the
  ``Strict:`` part of a ``core`` clause (e.g. AT-2's nine digits).
* Verdicts: a strict-only failure is NON-STRICT under lenient and judged by its level under
  strict; otherwise a broken MUST is FAIL and a broken SHOULD is NON-STRICT, as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = [
    "BUILTIN_CLAUSE_TAGS",
    "SPEC_PROFILES",
    "ClauseTag",
    "SpecProfile",
    "clause_paragraphs",
    "clause_tags",
    "failure_verdict",
    "is_strict_only",
    "parse_clause_tags",
]

SpecProfile = Literal["lenient", "strict"]
SPEC_PROFILES: Final = ("lenient", "strict")

#: SPEC.md clauses open a paragraph: ``**LEX-1** · MUST · core — White space is ...``.
_CLAUSE_RE: Final = re.compile(r"^\*\*([A-Z]+-[0-9]+)\*\*\s*(.*)$")
#: ``· MUST · core — text`` -> level, profile tag, text.
HEADER_RE: Final = re.compile(r"^·\s*([A-Za-z][A-Za-z ]*?)\s*·\s*(.+?)\s*—\s*(.*)$")


@dataclass(frozen=True, slots=True)
class ClauseTag:
    #: MUST, MUST NOT, SHOULD, SHOULD NOT, MAY or definition.
    level: str
    #: core, strict, catchup or herdref.
    profile: str


def _tag(level: str, profile: str) -> ClauseTag:
    return ClauseTag(level, profile)


_MUST_CORE = _tag("MUST", "core")
_MUST_STRICT = _tag("MUST", "strict")
_MUST_CATCHUP = _tag("MUST", "catchup")
_MUST_HERDREF = _tag("MUST", "herdref")

#: Level and profile of every clause, as SPEC.md states them (for an installed herdref without
#: SPEC.md); ``tests/unit/test_validate_grading.py`` compares this table with SPEC.md.
BUILTIN_CLAUSE_TAGS: Final[dict[str, ClauseTag]] = {
    "SCOPE-1": _MUST_CORE,
    "SCOPE-2": _tag("definition", "core"),
    **{f"LEX-{n}": _MUST_CORE for n in range(1, 7)},
    "FRAME-1": _MUST_CORE,
    "FRAME-2": _MUST_CORE,
    "FRAME-3": _MUST_STRICT,
    "FRAME-4": _MUST_CORE,
    "FRAME-5": _MUST_CORE,
    "FRAME-6": _MUST_CORE,
    **{f"IAMAT-{n}": _MUST_CORE for n in (1, 2, 3, 4, 7)},
    "IAMAT-5": _MUST_STRICT,
    "IAMAT-6": _tag("MUST NOT", "core"),
    **{f"AT-{n}": _MUST_CORE for n in (1, 2, 3)},
    **{f"WHATSAT-{n}": _MUST_CORE for n in range(1, 9)},
    "ERR-1": _MUST_CORE,
    "ERR-2": _MUST_STRICT,
    "ERR-3": _MUST_CORE,
    "ERR-4": _MUST_CORE,
    **{f"FLOOD-{n}": _MUST_CORE for n in (1, 2, 4, 5, 6, 8)},
    "FLOOD-3": _MUST_STRICT,
    "FLOOD-7": _tag("SHOULD", "core"),
    "STATE-1": _MUST_CORE,
    "STATE-2": _tag("MAY", "core"),
    "STATE-3": _tag("definition", "core"),
    "PEER-1": _MUST_CATCHUP,
    "PEER-2": _MUST_CATCHUP,
    "PEER-3": _MUST_HERDREF,
    "PEER-4": _MUST_HERDREF,
    **{f"CATCHUP-{n}": _MUST_CATCHUP for n in range(1, 5)},
    "LINK-1": _MUST_HERDREF,
    "LINK-2": _MUST_CORE,
    "LINK-3": _MUST_HERDREF,
    "LINK-4": _MUST_CORE,
    "LINK-5": _MUST_HERDREF,
    "PLACES-1": _MUST_HERDREF,
    **{f"PLACES-{n}": _MUST_CORE for n in range(2, 7)},
    "PLACES-7": _tag("MAY", "herdref"),
    **{f"LIMIT-{n}": _MUST_HERDREF for n in (1, 2, 3, 5, 6, 7)},
    "LIMIT-4": _MUST_CORE,
    "LOG-1": _MUST_CORE,
    "LOG-2": _tag("SHOULD", "herdref"),
    "CONF-1": _MUST_HERDREF,
    "CONF-2": _MUST_HERDREF,
}


def _spec_text(spec_path: Path | None) -> str | None:
    candidates = [spec_path] if spec_path else []
    candidates.append(Path(__file__).resolve().parents[2] / "SPEC.md")
    candidates.append(Path.cwd() / "SPEC.md")
    for path in candidates:
        if path is not None and path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    return None


def clause_paragraphs(spec_path: Path | None = None) -> dict[str, str]:
    """Clause ID -> the rest of its paragraph (``· MUST · core — text ...``), joined into one
    line, from SPEC.md (``spec_path``, else the checkout's, else the working directory's);
    empty if SPEC.md is not there."""
    text = _spec_text(spec_path)
    if text is None:
        return {}
    paragraphs: dict[str, str] = {}
    clause: str | None = None
    for raw_line in [*text.splitlines(), ""]:
        line = raw_line.strip()
        match = _CLAUSE_RE.match(line)
        if match is not None:
            clause = match.group(1)
            paragraphs[clause] = match.group(2)
        elif clause is not None and line:
            paragraphs[clause] += " " + line
        else:
            clause = None
    return paragraphs


def parse_clause_tags(paragraphs: dict[str, str]) -> dict[str, ClauseTag]:
    """The level and profile tag in each clause's header (``· MUST · core — ...``)."""
    tags = {}
    for clause, paragraph in paragraphs.items():
        match = HEADER_RE.match(paragraph)
        if match is not None:
            tags[clause] = ClauseTag(match.group(1), match.group(2))
    return tags


def clause_tags(spec_path: Path | None = None) -> dict[str, ClauseTag]:
    """Clause tags from SPEC.md, the built-in table filling in what SPEC.md does not state."""
    return {**BUILTIN_CLAUSE_TAGS, **parse_clause_tags(clause_paragraphs(spec_path))}


def is_strict_only(
    clause: str, tags: Mapping[str, ClauseTag], *, own_clause: str, strict_part: bool | None
) -> bool:
    """Whether a failure of ``clause`` breaks only what the strict profile asks.

    ``strict_part`` is the check's own statement about its clause ``own_clause``: True when it
    tests the clause's ``Strict:`` part, False when it tests what binds in every profile (a
    strict clause's lenient alternative), None to follow the clause's tag. A failure naming
    another clause always follows that clause's tag.
    """
    if clause == own_clause and strict_part is not None:
        return strict_part
    tag = tags.get(clause)
    return tag is not None and tag.profile == "strict"


def failure_verdict(
    check_level: str,
    clause: str,
    tags: Mapping[str, ClauseTag],
    spec_profile: SpecProfile,
    *,
    strict_only: bool,
) -> Literal["FAIL", "NON-STRICT"]:
    """FAIL or NON-STRICT for a failure that reproduced (SPEC 1.1)."""
    if strict_only and spec_profile == "lenient":
        return "NON-STRICT"
    tag = tags.get(clause)
    # The SPEC is the authority on the level: a check never grades harder than its clause.
    clause_level_must = tag is None or tag.level.startswith("MUST")
    return "FAIL" if check_level == "MUST" and clause_level_must else "NON-STRICT"
