"""What a run has learned about the herd, shared by its checks as the dialect is (issue 11).

A check that finds something every later check would otherwise pay for again records it here,
with the words of its evidence; later checks then judge at once instead of waiting out a
timeout that cannot succeed, and say why:

* ``does_not_flood``: flood-all found that a record never left the server it was reported to
  (FLOOD-1). A wait for a record to spread ends after one look.
* ``one_command_per_connection``: the herd answers the first command on a connection and never
  a second (FRAME-3 lenient: closed after it, only at EOF, or the rest ignored). A check that
  needs a second command on one connection is UNSUPPORTED with this reason, not a wait for a
  reply that will never come, and not a failure of its own clause.
* ``floods_forever``: flood-storm saw records circle the herd (FLOOD-2). Every check that
  needs two servers is BLOCKED by it; where the checker runs the servers, the run then keeps
  only the first server running, alone (``alone``; the others, ``kept_down``, stay stopped, so
  no flood can circulate), and the checks that talk to one server and kill none are judged
  on it. One of them that needs another server is UNSUPPORTED, naming it.
* ``malformed_at``: at-reply-format found the AT reply malformed (AT-1), yet carrying the
  location and client time the client sent. The checks whose property does not depend on the
  line's shape (``Check.reads_malformed_at``: which record a server holds, the time
  difference's sign and form, the echoed fields, whether an IAMAT was answered, '?' replies,
  WHATSAT and Places answers) are then judged instead of BLOCKED, reading each
  malformed line for the report it carries (:mod:`herdref.checker.checks.at_lines`); AT-1
  itself stays named once, by at-reply-format.
* ``odd_times_flood_forever``: flood-odd-time saw a record whose client time is an odd form
  the herd takes (``nan``: LEX-6 lenient) circle the herd (FLOOD-2). The herd was started
  again without it; invalid-time then sends none of the forms the course leaves open, which
  would start the storm again.
* ``long_lines_fail``: long-lines saw a valid long IAMAT go unanswered or answered with other
  fields (ERR-4). A check that then finds a flooded record cut short (its line not read whole)
  is BLOCKED by long-lines instead of naming the same defect again; so is a check whose line
  got the wrong answer while longer than any long-lines saw answered (``longest_line_answered``,
  in octets without the LF): that the herd cuts such lines is named, what it does with the
  line's content cannot be told.
* ``records_unreadable``: whatsat-reply saw the WHATSAT reply's AT line carry neither the
  location and client time of the stored record (a line rebuilt from the WHATSAT's own fields:
  WHATSAT-5). No WHATSAT can then show which record a server holds: every check that reads
  records that way is BLOCKED by whatsat-reply at its first read, instead of waiting out the
  propagation time and ending UNSUPPORTED.
* ``stopped_neighbour_blocks``: paused-neighbour saw a stopped (SIGSTOPped) neighbour hold up
  replies or floods (LINK-4's Strict part). flood-pairs then kills every pair it takes down
  instead of stopping it, and the stateful run stops no server: the course's fault model is a
  server that goes down, which such a herd may meet and still be right.
* ``no_error_reply``: error-reply saw no invalid line of four kinds get a '?' reply (ERR-1).
  The checks of each kind of invalid line are then BLOCKED by it at a line that gets no '?'
  either, and still judge a line the herd takes as valid.
* ``short_lines_fail``: invalid-field-count saw a line with too few fields for its command not
  refused (ERR-3; a herd that reads fields before it counts them drops the connection). An
  unknown command word on a line of fewer than four fields that fails the same way is then
  sent again with four fields: refused right, the word is not what fails, and invalid-command
  is BLOCKED by invalid-field-count instead of naming the field count a second time.
* ``radius_unanswered``: invalid-radius saw a WHATSAT with an invalid radius left without any
  reply. limits-edges' valid decimal radius that gets none, where 50.5 gets none either, is then
  BLOCKED by it.
* ``decimal_radius_unanswered``: the radius invalid-radius saw left without any reply was a
  decimal (``0.0``, ``50.5``: a herd that turns it into an integer with ``int()`` and dies).
  limits-edges' decimal radius that gets no reply is then BLOCKED by it at once.
* ``relay_takes_older``: flood-older-ignored saw a server replace a client's record with an
  older one sent as a neighbour floods it (FLOOD-2). newer-by-value's evidence that a server
  took the newer of two reports and then held the older again is that defect at work (its own
  flood coming back): newer-by-value is then BLOCKED by flood-older-ignored there, not a second
  FAIL of the same defect.
* ``relayed_spacing``: flood-all saw every server hold the record, some with the line's white
  space changed (a trailing space, doubled spaces: FLOOD-5), named there. Every WHATSAT's first
  line is then read with its white space squeezed, and flood-all's FAIL no longer blocks the
  checks that need flooding: each judges its own property (FLOOD-2, LINK-2 ...) past it.
* ``relayed_lines_changed``: flood-all saw a server hold another AT line than the origin's
  for the record (FLOOD-5), not only in its white space. Which server a neighbour's WHATSAT line
  names then says nothing of the WHATSAT (the relay changed the line): whatsat-origin-named is
  BLOCKED by flood-all.
* ``links_not_reopened``: a server restarted by a check did not get its links back (LINK-2:
  its records reached no neighbour, or theirs never reached it), named by that check. A later
  check that restarts a server notes the same missing reconnection instead of failing on it a
  second time (the herd stays as the first restart left it: no check can mend its links), and
  judges its own property.
* ``origin_record_missing``: origin-holds-record saw a server answer an IAMAT and hold no
  record of it (STATE-1: it keeps a record only when a neighbour sends it back). A check that
  finds no record at the server a client just reported to is then BLOCKED by it, instead of
  UNSUPPORTED or FLAKY as the flood's round trip goes.
* ``records_kept_while_connected``: origin-holds-record saw a server show a client's record
  on the IAMAT's own connection and not on a new one once that closed (STATE-1: a herd that
  deletes the record when its client disconnects). No WHATSAT on a connection of its own then
  shows a record, so every check that reads one is BLOCKED by origin-holds-record, with that
  evidence, rather than UNSUPPORTED with words about reaching Places.
* ``repeat_unanswered``: a valid IAMAT whose client time an earlier IAMAT of the run had carried
  (a duplicate, or another client's time) got no reply (IAMAT-4: a herd that drops every
  time it has seen, whatever the client). A later check whose IAMAT with a repeated time gets
  no reply is BLOCKED by the check that named it, not a second IAMAT-4 FAIL.
* ``far_time_unanswered``: iamat-any-time saw a valid client time far from the clock get no
  reply at all (IAMAT-6: a herd that converts the time to a date, which fails past the year
  9999, and dies of it). invalid-time's odd forms that fail the same conversion (``inf``,
  ``nan``) and get no reply either are then that defect again: BLOCKED by iamat-any-time, not
  a second FAIL (ERR-4).
* ``request_misplaced``: whatsat-location-forms saw the Places request for a record stored in
  an unusual form or quadrant centred elsewhere, while one for an ordinary location was not
  (PLACES-2). places-radius-metres' own records in other quadrants, asked for elsewhere too,
  are then that defect again: BLOCKED by whatsat-location-forms, not a second FAIL.
* ``unknown_client_kills``: unknown-client saw a server exit on a WHATSAT for a client no
  server knows (WHATSAT-4, ERR-4). The checks that wait for a record to arrive ask for it with
  WHATSATs, which are WHATSATs for a client unknown there until it arrives: a server that dies
  during such a check after being sent one is then that defect again (the checker's own poll
  killed it), and the check is BLOCKED by unknown-client instead of naming a missing flood or
  a death of its own.
* ``neighbour_death_kills``: a server exited right after a check killed its neighbour (LINK-4,
  named by that check: herdref.checker.aftermath). Every later check that kills a server
  meets it again, and is BLOCKED by the first instead of naming it again.
* ``at_lines_flood_forever``: an AT line a check sent as a neighbour does went round the herd
  without end (FLOOD-2; herdref.checker.checks.storm_watch). The herd was started again
  fresh; the later checks that send AT lines of their own (flood-at-from-client,
  flood-malformed-at) would start the storm again, and are BLOCKED by that check.
* ``promote``: a check asks the runner to judge another one next, ahead of its place, because
  what it saw makes that one the check that names the defect (flood-storm saw no neighbour
  send a record: flood-all is judged at once, and the checks that need flooding to work come
  after it and are BLOCKED by its FAIL instead of each waiting for the flood).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from herdref.checker.silent_lines import SilentLines

__all__ = ["Fact", "Promotion", "RunKnowledge"]

#: What a check can learn: kept by the runner only when the check's verdict is a failure of
#: the herd (FAIL or NON-STRICT), so that a failure that does not come back on replay (FLAKY)
#: teaches the run nothing, and the replay itself judges without it.
Fact = Literal[
    "does_not_flood",
    "one_command_per_connection",
    "floods_forever",
    "malformed_at",
    "odd_times_flood_forever",
    "long_lines_fail",
    "records_unreadable",
    "stopped_neighbour_blocks",
    "no_error_reply",
    "radius_unanswered",
    "decimal_radius_unanswered",
    "short_lines_fail",
    "relay_takes_older",
    "links_not_reopened",
    "origin_record_missing",
    "records_kept_while_connected",
    "repeat_unanswered",
    "far_time_unanswered",
    "request_misplaced",
    "relayed_spacing",
    "relayed_lines_changed",
    "unknown_client_kills",
    "neighbour_death_kills",
    "at_lines_flood_forever",
]


@dataclass(frozen=True, slots=True)
class Promotion:
    """Judge ``check`` next; the checks in ``ahead_of`` (which ran before it in the usual order)
    now need it, so that its failure BLOCKS them."""

    check: str
    ahead_of: tuple[str, ...] = ()


@dataclass(slots=True)
class RunKnowledge:
    does_not_flood: str | None = None
    one_command_per_connection: str | None = None
    floods_forever: str | None = None
    malformed_at: str | None = None
    odd_times_flood_forever: str | None = None
    long_lines_fail: str | None = None
    records_unreadable: str | None = None
    stopped_neighbour_blocks: str | None = None
    no_error_reply: str | None = None
    radius_unanswered: str | None = None
    decimal_radius_unanswered: str | None = None
    short_lines_fail: str | None = None
    relay_takes_older: str | None = None
    links_not_reopened: str | None = None
    origin_record_missing: str | None = None
    records_kept_while_connected: str | None = None
    repeat_unanswered: str | None = None
    far_time_unanswered: str | None = None
    request_misplaced: str | None = None
    relayed_spacing: str | None = None
    relayed_lines_changed: str | None = None
    unknown_client_kills: str | None = None
    neighbour_death_kills: str | None = None
    at_lines_flood_forever: str | None = None
    #: The check that taught each fact (the first one: its words are the ones kept).
    learned_by: dict[str, str] = field(default_factory=dict)
    #: With ``long_lines_fail``: the longest line (octets, LF excluded) long-lines saw answered
    #: before that failure (0: none).
    longest_line_answered: int = 0
    #: The one server left running after a flood storm, and the servers kept stopped.
    alone: str | None = None
    kept_down: frozenset[str] = frozenset()
    #: Invalid lines left unanswered for a whole reply timeout, by kind: kept from every
    #: attempt, whatever its verdict (a silence is a measurement, not a failure):
    #: herdref.checker.silent_lines.
    silent_lines: SilentLines = field(default_factory=SilentLines)
    #: Promotions not yet taken by the runner, oldest first.
    promotions: list[Promotion] = field(default_factory=list)
    #: Prerequisites added by promotions: check name -> the promoted checks it now needs.
    added_requires: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def learn(self, facts: dict[Fact, str], *, longest_line_answered: int = 0, check: str = "") -> None:
        """Keep ``facts`` (each with the words of its evidence), learned by ``check``; the first
        words stay. With a first ``long_lines_fail``, the longest line answered before it."""
        if "long_lines_fail" in facts and self.long_lines_fail is None:
            self.longest_line_answered = longest_line_answered
        for fact, evidence in facts.items():
            if getattr(self, fact) is None:
                setattr(self, fact, evidence)
                self.learned_by[fact] = check

    def line_too_long(self, line: bytes) -> bool:
        """Whether ``line`` (its LF, or CR LF, excluded) is longer than any line long-lines
        saw answered, on a herd long-lines failed on: a wrong answer to it may be the cut."""
        length = len(line.removesuffix(b"\n").removesuffix(b"\r"))
        return self.long_lines_fail is not None and length > self.longest_line_answered

    def promote(self, check: str, *, ahead_of: tuple[str, ...] = ()) -> None:
        """Ask the runner to judge ``check`` next (once; a later ask for it is ignored)."""
        if all(promotion.check != check for promotion in self.promotions):
            self.promotions.append(Promotion(check, ahead_of))

    def requires(self, check: str, declared: tuple[str, ...]) -> tuple[str, ...]:
        """``declared`` plus what promotions made ``check`` need."""
        return (*declared, *self.added_requires.get(check, ()))

    def take_promotion(self) -> Promotion | None:
        """The oldest promotion not yet taken; its ``ahead_of`` checks now need it."""
        if not self.promotions:
            return None
        promotion = self.promotions.pop(0)
        for name in promotion.ahead_of:
            self.added_requires[name] = (*self.added_requires.get(name, ()), promotion.check)
        return promotion

    def read_past(self, prerequisite: str, *, reads_malformed_at: bool) -> bool:
        """Whether the failed ``prerequisite`` no longer blocks a check that reads malformed AT
        lines: at-reply-format failed for a malformed line that still carries its report
        (``malformed_at``), which such a check reads for what else it shows; or any check,
        where flood-all failed for relayed lines whose white space alone changed."""
        if prerequisite == "flood-all":
            return self.relayed_spacing is not None  # read squeezed (see relayed_spacing)
        return prerequisite == "at-reply-format" and reads_malformed_at and self.malformed_at is not None

    def judged_alone(self, prerequisite: str, *, destructive: bool, clause: str) -> bool:
        """Whether the failed ``prerequisite`` no longer blocks a check (``destructive``, of
        ``clause``) because the herd now runs one server alone: a storm blocks what needs two
        servers (the flooding and link clauses, and whatever kills or restarts servers), not
        what one server does with a client's lines."""
        return (
            prerequisite == "flood-storm"
            and self.alone is not None
            and not destructive
            and clause.split("-", maxsplit=1)[0] not in ("FLOOD", "LINK")
        )
