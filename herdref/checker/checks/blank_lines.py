"""frame-blank-lines: blank and white-space-only lines get no reply (SPEC FRAME-5).

Its exchanges go in the framing the herd answers IAMAT in (the dialect step's): a herd that
loses replies on the client's half-close (frame-half-close's FRAME-4) still shows here what a
blank line does to the commands after it on a connection it answers.
"""

from __future__ import annotations

from typing import Final

from herdref.checker.checks.helpers import alive_after, only_error_lines, show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.client import Exchange
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import looks_like_at
from herdref.protocol import WHITESPACE

#: How long a connection that carries only blank lines is watched for a reply: a herd that
#: keeps its side open (after the half-close, FRAME-4 lenient, or on a connection the check
#: keeps open) is judged in this time.
_BLANK_ONLY_WAIT_S: Final = 1.0


@check(
    "frame-blank-lines",
    "FRAME-5",
    "MUST",
    "blank and white-space-only lines get no reply",
    # After the blank lines it needs one AT-shaped reply (a malformed one, AT-1, is
    # at-reply-format's: only that one reply came is judged, so it reads past one). And a
    # herd may answer a blank line as an invalid one (FRAME-5: "no reply other than a `?`
    # reply"): one whose '?' writer never answers any invalid line (error-reply, ERR-1) and
    # drops the connection instead would fail here for that same defect, so it is BLOCKED.
    # Not frame-half-close: a herd that loses replies on half-close is asked on a connection it
    # answers, so a blank line's own defect is not hidden behind that one (a student herd).
    requires=("dialect", "at-reply-format", "error-reply"),
    reads_malformed_at=True,
)
def frame_blank_lines(context: CheckContext) -> None:
    name = context.target.names[0]
    # White space of SP, HT, VT, FF and CR, drawn from the run's seed (LEX-1).
    blank = context.variation.separator()
    # A connection that carries nothing but blank lines: no reply, and the server goes on.
    # On a connection the server keeps open a read ends once as many lines as it waits for are
    # in: a herd that answers each blank line ('? ', left open by A20) answers two here.
    # In the framing the herd answers IAMAT in: half-closed where it answers that way (EOF then
    # ends what it reads), kept open where it answers only so.
    half_close = context.target.dialect.iamat.half_close
    only_blank = context.raw(
        name, b"\n" + blank + b"\n", timeout_s=_BLANK_ONLY_WAIT_S, replies=2, half_close=half_close
    )
    one_line_each = context.target.dialect.single_shot
    # What a herd answers to a blank line the course leaves open (protocol notes A20): '? '
    # (and its copy) is a strict deviation (FRAME-5 lenient); any other reply is a failure.
    answered_blank = bool(only_blank.data.strip()) and not one_line_each
    if only_blank.data.strip() and not only_error_lines(only_blank.data):
        raise CheckFailed(
            "a connection that carried only blank lines got a reply",
            expected="no reply",
            seen=show(only_blank.received),
        )
    alive_after(context, name)
    client = context.client_id()
    # Three blank lines, then the IAMAT: its AT reply comes after whatever the blank lines got,
    # as many replies as the two blank lines above got for three (a herd that answers them and
    # writes the AT line later, after its floods, must not be read as giving only '? ').
    answers_to_two = sum(1 for line in only_blank.data.split(b"\n") if line.strip())

    def blank_lines_then_iamat(client: bytes, replies: int) -> Exchange:
        payload = b"\n" + blank + b"\n\r\nIAMAT %s %s %s\n" % (client, context.location(), context.now_time())
        return context.raw(name, payload, replies=replies, half_close=half_close)

    reply = blank_lines_then_iamat(client, 1 + (3 * answers_to_two + 1) // 2)
    if not half_close and not reply.closed and reply.data and only_error_lines(reply.data):
        # Kept open, the read ended at as many replies as the blank lines were expected to get,
        # all of them '?': the third blank line (a lone CR) got one the first two did not, and
        # the AT reply may be behind it. Asked again, read for as many as there can be.
        client = context.client_id()
        reply = blank_lines_then_iamat(client, 4)
    lines = reply.data.split(b"\n")
    if context.target.dialect.iamat.terminator == "none" and reply.data and lines[-1]:
        # The herd's replies end in nothing (AT-1 lenient, at-reply-format's business): the
        # last one ends where the octets do, on a connection the server keeps open too.
        lines.append(b"")
    if _at_after_unterminated_errors(lines) and only_error_lines(b"\n".join(lines[:-2])):
        # '? ' replies to the blank lines with no LF after them, so the AT line follows them on
        # one line: what a blank line gets is left open (A20), so only strict fails it.
        last = lines[-2]
        before_at = b"\n".join([*lines[:-2], last[: last.find(b"AT ")] if b"AT " in last else last])
        raise CheckFailed(
            f"blank lines were answered with no LF after each reply ({before_at!r} came before the "
            "AT line), so the AT line followed them on the same line (left open by the course, "
            "protocol notes A20)",
            expected="no reply to a blank line, then the AT line",
            seen=show(reply.received),
            strict_part=True,
        )
    at_last = len(lines) > 1 and lines[-1] == b"" and looks_like_at(lines[-2])
    if at_last and only_error_lines(b"\n".join(lines[:-2])):
        if len(lines) == 2 and not answered_blank:
            return  # one AT reply (its shape is at-reply-format's business, AT-1)
        answers = (only_blank.data if answered_blank else b"") + b"\n".join(lines[:-2]) + b"\n"
        raise CheckFailed(
            f"blank lines were answered {_quoted(_lines_with_lf(answers))} (left open by the course, "
            "protocol notes A20)",
            expected="no reply to a blank line",
            seen=show((only_blank.received if answered_blank else b"") + reply.received),
            strict_part=True,
        )
    copy_spans_blanks = client not in lines[0] and b"\n?" not in reply.data
    if reply.data.startswith(b"?") and client in reply.data and (one_line_each or copy_spans_blanks):
        # The blank lines and the IAMAT were one command (one command per connection, FRAME-3
        # lenient, or one read per command: one '?' whose copy spans them): leading white
        # space, which lex-extra-space judges (LEX-3); judged here too, it would be named twice.
        raise CheckUnsupported(
            "the herd takes all it reads at once for one command, so blank lines before a "
            "command are leading white space: lex-extra-space judges that (LEX-3)"
        )
    # One command per connection (FRAME-3 lenient), as the dialect step found: not merely a
    # server that closes after a half-closed exchange, which every strict herd does.
    if one_line_each and (reply.data.startswith(b"?") or (not reply.data and reply.closed)):
        # It read the first (blank) line as its one line and answered '? ' or nothing, and the
        # IAMAT after it was never answered: FRAME-5 asks that it be, but the course leaves
        # blank lines open (A20) and allows one command per connection (FRAME-3 lenient), so
        # only strict fails it. (What a '?' copies is error-echo-raw's.)
        raise CheckFailed(
            "the herd takes one line per connection and "
            + ("answered '? ' to a blank one" if reply.data else "closed after a blank one without a reply")
            + ": the IAMAT after the blank lines was never answered (the course leaves blank lines "
            "open, protocol notes A20)",
            expected="no reply to the blank lines, then the AT line",
            seen=show(reply.received or None)
            + (" (the server closed the connection)" if reply.closed else ""),
            strict_part=True,
        )
    raise CheckFailed(
        "blank lines before an IAMAT were answered"
        if any(looks_like_at(line) for line in lines)
        else "no AT reply after blank lines"
        + (" (the server closed the connection)" if reply.closed and not reply.data else ""),
        expected="exactly one AT line",
        seen=show(reply.received or None),
    )


def _lines_with_lf(data: bytes) -> list[bytes]:
    """``data`` cut after each LF, each line keeping it (a last one without LF kept as it is)."""
    parts = data.split(b"\n")
    return [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _quoted(lines: list[bytes]) -> str:
    """The replies to blank lines as they came, each distinct one quoted once, in order (what a
    blank line gets is judged on its octets: '?', '? ' and '? ' with a copy differ)."""
    seen: list[bytes] = []
    for line in lines:
        if line.strip() and line not in seen:
            seen.append(line)
    return " and ".join(repr(line) for line in seen) or "nothing"


def _at_after_unterminated_errors(lines: list[bytes]) -> bool:
    """The last line ends in the AT line, and all before it on that line is '?' replies that
    lacked their LF ('?' and white space only)."""
    if len(lines) < 2 or lines[-1] != b"":
        return False
    before, at, after = lines[-2].partition(b"AT ")
    return bool(at) and b"?" in before and not before.strip(b"?" + WHITESPACE) and looks_like_at(at + after)
