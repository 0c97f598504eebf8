"""What a report says first: the defects found, in the order to fix them, and the facts every
report carries (the verdicts' legend, herdref's version, the date, the herd's topology).

Rules:

* A defect is a check whose verdict is FAIL, FLAKY, NON-STRICT or ERROR: one line each.
* Order: the defect that blocks the most checks comes first (a BLOCKED check names the
  prerequisite that failed in ``blocked_by``; a chain of BLOCKED checks counts for the defect at
  its root), because fixing it lets those checks judge the herd. Ties: FAIL (a broken MUST)
  before FLAKY before NON-STRICT (a SHOULD or a strict deviation) before ERROR (the checker's
  own fault, which the student cannot fix), then the order the checks ran.
* Checks are grouped by the SPEC.md section of the clause they report on (the family before the
  dash: ``FLOOD-2`` is section 8), in the section order of SPEC.md.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from herdref.checker.runner import Outcome
from herdref.herd.config import HerdConfig

__all__ = [
    "DEFECT_VERDICTS",
    "SPEC_SECTIONS",
    "VERDICT_MEANINGS",
    "Defect",
    "by_section",
    "diagnose",
    "meta_label",
    "report_facts",
    "spec_section",
    "topology",
]

#: What each verdict means, in the order a reader meets them (the README's table says the same;
#: ``tests/unit/test_report_diagnosis.py`` keeps the two in step).
VERDICT_MEANINGS: Final[dict[str, str]] = {
    "PASS": "the herd did what the clause asks",
    "FAIL": "a MUST clause of the SPEC profile is broken (the report shows expected, seen, "
    "transcript, replay)",
    "NON-STRICT": "only a SHOULD clause, or a part only the strict profile asks (e.g. byte-exact "
    "echo), is broken: a strict deviation",
    "FLAKY": "failed once, passed when replayed",
    "BLOCKED": (
        "not run because a check it depends on failed, or not judged because what it saw is spoilt "
        "by a defect another check already failed on (the report names that one)"
    ),
    "UNSUPPORTED": "the checker could not observe the property (e.g. the herd's Places requests "
    "never reached the fixture)",
    "SKIPPED": "not run: left out by `--only`/`--skip`, the quick profile, or an extension the herd "
    "does not claim",
    "ERROR": "the checker itself failed; says nothing about the herd",
}

#: The verdicts that are a defect to report, most serious first (the tie-break of the order).
DEFECT_VERDICTS: Final = ("FAIL", "FLAKY", "NON-STRICT", "ERROR")

#: Clause family -> its SPEC.md section (``tests/unit/test_report_diagnosis.py`` compares this
#: with SPEC.md's headings, so an installed herdref without SPEC.md groups the same way).
SPEC_SECTIONS: Final[dict[str, str]] = {
    "SCOPE": "1. Scope and conformance",
    "LEX": "2. Lexical rules",
    "FRAME": "3. Framing and connections",
    "IAMAT": "4. IAMAT",
    "AT": "5. AT lines",
    "WHATSAT": "6. WHATSAT and its reply",
    "ERR": "7. Invalid lines",
    "FLOOD": "8. Flooding between servers",
    "STATE": "9. State",
    "CATCHUP": "10. The catch-up extension",
    "PEER": "10. The catch-up extension",
    "LINK": "11. Links and reconnection",
    "PLACES": "12. Places",
    "LIMIT": "13. Limits",
    "LOG": "14. Logs and the herd file",
    "CONF": "14. Logs and the herd file",
}
_OTHER_SECTION: Final = "Other"

#: Human labels for the keys of a report's header (the JSON keeps the keys).
_META_LABELS: Final = {
    "target": "Herd under test",
    "herdref_version": "herdref version",
    "date": "Date (UTC)",
    "spec_profile": "SPEC profile graded against",
    "profile": "Run profile",
    "framing": "Framing used",
    "elapsed_s": "Time taken (s)",
    "places_fixture": "Places fixture",
    "server_output": "Server output kept in",
    "error": "Error",
}


def meta_label(key: str) -> str:
    """The label a person reads for a header key (``spec_profile`` -> "SPEC profile graded
    against"); an unknown key is spelt out from its words."""
    return _META_LABELS.get(key, key.replace("_", " ").capitalize())


@dataclass(frozen=True, slots=True)
class Defect:
    """One line of the diagnosis: a check that found a defect, and the checks it blocked."""

    check: str
    verdict: str
    clause: str
    level: str
    summary: str
    #: The checks that could not judge the herd because of this one (BLOCKED, transitively).
    blocks: tuple[str, ...] = field(default_factory=tuple)

    @property
    def anchor(self) -> str:
        """The id of the check's evidence (its section in the HTML report)."""
        return self.check

    def line(self, verdict: str = "") -> str:
        """The defect in one line, as the terminal summary prints it (``verdict``: the verdict
        as it should be shown, e.g. in colour)."""
        said = self.summary or "failed"
        text = f"{verdict or self.verdict} {self.check} ({self.clause}, {self.level}): {said}"
        if self.blocks:
            text += f" [blocks {len(self.blocks)}: {', '.join(self.blocks)}]"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "verdict": self.verdict,
            "clause": self.clause,
            "level": self.level,
            "summary": self.summary,
            "blocks": list(self.blocks),
            "evidence": f"#{self.anchor}",
        }


def _root_of(name: str, blocked_by: Mapping[str, str]) -> str:
    """The check at the end of a chain of BLOCKED checks (a cycle ends where it closes)."""
    seen = {name}
    while name in blocked_by and blocked_by[name] not in seen:
        name = blocked_by[name]
        seen.add(name)
    return name


def diagnose(outcomes: Iterable[Outcome]) -> list[Defect]:
    """The defects found, in the order a student should fix them (this module's rules)."""
    outcomes = list(outcomes)
    blocked_by = {
        outcome.check: outcome.blocked_by
        for outcome in outcomes
        if outcome.verdict == "BLOCKED" and outcome.blocked_by
    }
    blocks: dict[str, list[str]] = {}
    for name in blocked_by:
        blocks.setdefault(_root_of(name, blocked_by), []).append(name)
    found = [(index, outcome) for index, outcome in enumerate(outcomes) if outcome.verdict in DEFECT_VERDICTS]
    found.sort(
        key=lambda item: (
            -len(blocks.get(item[1].check, ())),
            DEFECT_VERDICTS.index(item[1].verdict),
            item[0],
        )
    )
    return [
        Defect(
            outcome.check,
            outcome.verdict,
            outcome.clause,
            outcome.level,
            outcome.summary,
            tuple(blocks.get(outcome.check, ())),
        )
        for _, outcome in found
    ]


def spec_section(clause: str) -> str:
    """The SPEC.md section of a clause ID (``FLOOD-2`` -> "8. Flooding between servers")."""
    return SPEC_SECTIONS.get(clause.split("-", 1)[0], _OTHER_SECTION)


def by_section(outcomes: Iterable[Outcome]) -> dict[str, list[Outcome]]:
    """The outcomes grouped by SPEC section, sections in SPEC order, checks in run order."""
    order = list(dict.fromkeys([*SPEC_SECTIONS.values(), _OTHER_SECTION]))
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(spec_section(outcome.clause), []).append(outcome)
    return {section: groups[section] for section in order if section in groups}


def topology(config: HerdConfig) -> dict[str, Any]:
    """The herd's servers (name -> host:port) and links (pairs, in herd-file order)."""
    names = list(config.servers)
    links = sorted(
        (sorted(pair, key=names.index) for pair in config.links),
        key=lambda pair: [names.index(name) for name in pair],
    )
    return {
        "servers": {name: f"{address.host}:{address.port}" for name, address in config.servers.items()},
        "links": [list(pair) for pair in links],
    }


def report_facts(
    config: HerdConfig | None, *, version: str, now: datetime.datetime | None = None
) -> dict[str, Any]:
    """What every report states besides the checks: herdref's version (``herdref.__version__``,
    which the caller passes: the public API reaches the node, which the checker must not), the
    date (UTC, to the second) and, when the herd file is known, the topology."""
    moment = now or datetime.datetime.now(datetime.UTC)
    facts: dict[str, Any] = {
        "herdref_version": version,
        "date": moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
    if config is not None:
        facts["topology"] = topology(config)
    return facts
