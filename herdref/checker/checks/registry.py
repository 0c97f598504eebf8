"""The check registry: what each check declares, and how checks are chosen for a run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal

from herdref.checker.grading import BUILTIN_CLAUSE_TAGS
from herdref.checker.target import CheckBlocked, CheckContext, CheckFailed

__all__ = [
    "CHECKS",
    "DIALECT_CHECK",
    "Check",
    "CheckBlocked",
    "CheckFailed",
    "Level",
    "Profile",
    "check",
    "select_checks",
]

Level = Literal["MUST", "SHOULD"]


Profile = Literal["quick", "full"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    clause: str
    level: Level
    title: str
    run: Callable[[CheckContext], None]
    destructive: bool = False
    #: Run in the quick profile too (the ten-pair sweep and long runs are full-profile only).
    quick: bool = True
    needs_fixture: bool = False
    #: Left out of the full profile, which runs a check that covers it.
    quick_only: bool = False
    #: Checks the catch-up extension (CATCHUP-1): only for herds that claim it.
    catch_up: bool = False
    #: True: tests the ``Strict:`` part of a core clause; False: tests a strict clause's lenient
    #: alternative (binds in every profile); None: as SPEC.md tags the clause (SPEC 1.1).
    strict_part: bool | None = None
    #: Checks that must not have failed for this one to judge anything (h2spec/Autobahn style):
    #: when one of them FAILs (or is itself BLOCKED or ERROR), this check is BLOCKED and names
    #: it, instead of failing for the same reason. A prerequisite that was not run blocks
    #: nothing. By default a check needs the dialect step and a well-formed AT reply (AT-1).
    requires: tuple[str, ...] = ("dialect", "at-reply-format")
    #: Judged, not BLOCKED, when at-reply-format failed only for a malformed AT line that still
    #: carries the report sent (RunKnowledge.malformed_at): the check's property does not depend
    #: on the line's shape, and it reads such lines for the report they carry (checks.at_lines).
    reads_malformed_at: bool = False

    @property
    def profile(self) -> str:
        """The SPEC profile (1.1) of what this check tests: ``strict`` when it tests a strict
        clause or a ``Strict:`` part, ``catchup`` for the extension, else ``core``."""
        if self.catch_up:
            return "catchup"
        tag = BUILTIN_CLAUSE_TAGS.get(self.clause)
        if self.strict_part or (self.strict_part is None and tag is not None and tag.profile == "strict"):
            return "strict"
        return "core"


#: The dialect step: how the herd frames IAMAT and WHATSAT; every other check talks in it.
DIALECT_CHECK: Final = "dialect"

CHECKS: list[Check] = []


def check(
    name: str,
    clause: str,
    level: Level,
    title: str,
    *,
    destructive: bool = False,
    quick: bool = True,
    needs_fixture: bool = False,
    quick_only: bool = False,
    catch_up: bool = False,
    strict_part: bool | None = None,
    requires: tuple[str, ...] = (DIALECT_CHECK, "at-reply-format"),
    reads_malformed_at: bool = False,
) -> Callable[[Callable[[CheckContext], None]], Callable[[CheckContext], None]]:
    def register(function: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
        CHECKS.append(
            Check(
                name,
                clause,
                level,
                title,
                function,
                destructive,
                quick,
                needs_fixture,
                quick_only,
                catch_up,
                strict_part,
                requires,
                reads_malformed_at,
            )
        )
        return function

    return register


def select_checks(
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    profile: Profile = "full",
    destructive_allowed: bool = True,
    destructive_reason: str = "kills or pauses servers: not done to an attached herd",
    catch_up: bool = False,
    strict_only_last: bool = False,
) -> tuple[list[Check], list[tuple[Check, str]]]:
    """The checks to run, and those left out with the reason. ``only``/``skip`` match a check
    name or a clause ID (``FLOOD-1``) or a clause family (``FLOOD``). With
    ``strict_only_last`` (the lenient profile), the checks that judge only herdref's own
    choices or a SHOULD run after the others: on a slow herd the run's budget goes first to
    what the course requires (issue 11: flood-at-from-client's 10 s wait for a flood the course
    does not ask for left flood-pairs and the stateful run unjudged)."""
    only_set, skip_set = set(only), set(skip)

    def matches(item: Check, keys: set[str]) -> bool:
        return bool({item.name, item.clause, item.clause.split("-")[0]} & keys)

    chosen: list[Check] = []
    left_out: list[tuple[Check, str]] = []
    for item in CHECKS:
        if item.name == DIALECT_CHECK:
            chosen.append(item)  # every other check talks in the dialect it finds
            continue
        if only_set and not matches(item, only_set):
            continue
        if matches(item, skip_set):
            continue
        if item.catch_up and not catch_up:
            left_out.append((item, "the catch-up extension is not claimed (--catch-up)"))
            continue
        if item.destructive and not destructive_allowed:
            left_out.append((item, destructive_reason))
            continue
        if profile == "quick" and not item.quick and not (only_set and matches(item, only_set)):
            left_out.append((item, "full profile only"))
            continue
        if profile == "full" and item.quick_only and not (only_set and item.name in only_set):
            continue
        chosen.append(item)
    if strict_only_last:
        chosen = _strict_only_last(chosen)
    return _after_prerequisites(chosen), left_out


def _strict_only_last(chosen: list[Check]) -> list[Check]:
    """``chosen`` with the strict-only and SHOULD checks moved to the end, in their order; one
    that another check needs stays in place (paused-neighbour, which flood-pairs needs)."""

    def minor(item: Check) -> bool:
        return item.strict_part is True or item.level == "SHOULD"

    needed = {name for item in chosen if not minor(item) for name in item.requires}
    last = [item for item in chosen if minor(item) and item.name not in needed]
    return [item for item in chosen if item not in last] + last


def _after_prerequisites(chosen: list[Check]) -> list[Check]:
    """``chosen`` in registration order, except that a check runs after every chosen check it
    requires, so a prerequisite registered later (at-reply-format for a framing check) has a
    verdict by the time it can block."""
    names = {item.name for item in chosen}
    placed: set[str] = set()
    ordered: list[Check] = []
    waiting = list(chosen)
    while waiting:
        ready = next(
            (item for item in waiting if all(name in placed or name not in names for name in item.requires)),
            waiting[0],  # a cycle of prerequisites: registration order breaks it
        )
        waiting.remove(ready)
        ordered.append(ready)
        placed.add(ready.name)
    return ordered
