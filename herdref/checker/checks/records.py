"""What a server's held record is, next to the record sent: a copy, an older record, or the
record with its line cut short (how require_flood reads what each server answers WHATSAT with)."""

from __future__ import annotations

from herdref.checker.checks.registry import CheckBlocked, CheckFailed
from herdref.checker.target import CheckContext
from herdref.model.judge import decimal_value, is_location, location_close, split_at_fields, time_close

__all__ = ["carries_fields", "cut_record", "judge_cut", "older_record"]


def carries_fields(held: bytes, location: bytes, client_time: bytes) -> bool:
    """Whether the AT-shaped line ``held`` has the ``location`` or the ``client_time`` of a line
    sent (as sent, or numerically within the graders' tolerance): a line that has neither is no
    record of it (e.g. what a server answers WHATSAT with for a client it knows nothing of)."""
    return any(
        field in (location, client_time)
        or time_close(client_time, field)
        or location_close(location, field, float_forms=True)
        for field in held.split()
    )


def older_record(held: bytes, line: bytes) -> bool:
    """Whether the AT line ``held`` is an earlier record of the same client: a record (its
    location a location) whose client time is older than ``line``'s beyond the graders'
    tolerance. The same record with its time re-printed through a float is not older (that is
    FLOOD-5's), and a line rebuilt from the WHATSAT's own arguments (radius and bound where the
    location and time belong) is no record at all."""
    held_fields, line_fields = split_at_fields(held), split_at_fields(line)
    if held_fields is None or line_fields is None or held_fields.client_id != line_fields.client_id:
        return False
    if not is_location(held_fields.location) or cut_record(held, line):
        # A cut record is this one, its line cut short on the way: not an older one.
        return False
    held_time, line_time = decimal_value(held_fields.client_time), decimal_value(line_fields.client_time)
    return (
        held_time is not None
        and line_time is not None
        and held_time < line_time
        and not time_close(line_fields.client_time, held_fields.client_time)
    )


def cut_record(held: bytes, line: bytes) -> bool:
    """Whether the AT line ``held`` is the record ``line`` with its line cut short on its way: the
    same client and location, and a client time that is, as a number, a prefix of ``line``'s (the
    whole seconds at least) but further from it than the graders' tolerance. A herd that takes
    one read of a fixed size, e.g. 100 octets, for a whole line stores ``1796405651.41`` of
    ``1796405651.4109886``, or ``1796410024.0`` once it re-prints a time cut to ``1796410024.``
    through a float. Such a record is no older record (FLOOD-2 did not keep an earlier one): the
    line that carried it was not read whole (FRAME-1)."""
    held_fields, line_fields = split_at_fields(held), split_at_fields(line)
    if (
        held_fields is None
        or line_fields is None
        or held_fields.client_id != line_fields.client_id
        or not location_close(line_fields.location, held_fields.location, float_forms=True)
    ):
        return False
    sent, kept = line_fields.client_time, held_fields.client_time
    point = sent.find(b".")
    # Within the graders' tolerance it may as well be the time re-printed through a float (a
    # prefix too, more often than not): FLOOD-5's business, not a cut.
    if point < 0 or time_close(sent, kept):
        return False
    prefixes = [sent[:point]] + [sent[:end] for end in range(point + 2, len(sent))]
    return any(time_close(prefix, kept) for prefix in prefixes)


def judge_cut(
    context: CheckContext, seen: dict[str, bytes | None], line: bytes, *, judge_lines: bool
) -> None:
    """The servers of ``seen`` (name: the AT line it answers WHATSAT with) that hold the record
    ``line`` cut short. Judging arrival only, the record did arrive (noted). Judging the line,
    a cut line is named once: where long-lines saw the herd fail on a long line (the run
    learned it), this check is BLOCKED by it; else it fails FRAME-1, a line being every octet up
    to its LF (one read of a fixed size is no line)."""
    cut = {name: got for name, got in sorted(seen.items()) if got is not None and cut_record(got, line)}
    if not cut:
        return
    name, got = next(iter(cut.items()))
    held, sent = split_at_fields(got), split_at_fields(line)
    assert held is not None and sent is not None  # cut_record read both
    what = (
        f"{', '.join(cut)} {'holds' if len(cut) == 1 else 'hold'} the record with its client time cut "
        f"short: {held.client_time.decode()} of {sent.client_time.decode()} (the AT line is "
        f"{len(line) + 1} octets with its LF)"
    )
    if not judge_lines:
        context.transcript.note(f"{what}: it arrived (the line it came in was not read whole)")
        return
    known = context.target.knowledge.long_lines_fail
    if known is not None:
        raise CheckBlocked(
            "long-lines",
            f"{what}: the line that carried it was not read whole, and long-lines failed on long lines "
            f"already ({known})",
        )
    raise CheckFailed(
        f"{what}: the line that carried it was not read whole (a line is every octet up to its LF)",
        expected=repr(line),
        seen=f"{name}: {got!r}",
        clause="FRAME-1",
    )
