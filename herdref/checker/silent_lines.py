"""Invalid lines a herd leaves unanswered: seen once for the whole reply timeout, the same
kind of line is waited for briefly from then on (issue 11).

A herd whose handler dies on a kind of invalid line (a time that is no number, an unknown
command word) leaves every such line unanswered on a connection it keeps open, and several
checks send one: each waited the whole reply timeout for a '?' that never came (frame-crlf,
lex-extra-space, error-reply, invalid-time and error-echo-raw on a student herd: 35 s of its
run's 50 s budget, and 40 checks went unjudged). The first silence is waited out in full and
recorded here with its words; a later line of the same kind waits only the replay's silence
(``Target.replay_silence_s``), its transcript saying which check showed the whole silence.

A line's kind is what makes it invalid, not who sent it: its words with the client ID, and a
valid location or client time, put in general terms (``IAMAT <id> <location> never``). White
space and line ends are not part of it: a line written oddly that the herd leaves unanswered is
unanswered written plainly too, or is the odd-writing check's own evidence, which waits in full
the first time either way. Once two kinds were left unanswered in full, a line of a new kind is
waited for 2 s (a '?' comes at once where it comes at all), not the whole reply timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from herdref.protocol import ProtocolError, parse_line

__all__ = ["SilentLines", "line_kind"]

#: A location and a time that are valid: a field is put in general terms when the line with
#: it in their place is still a valid IAMAT.
_VALID_LOCATION = b"+34.068930-118.445127"
_VALID_TIME = b"1621464827.959498503"


def line_kind(payload: bytes) -> bytes:
    """What makes ``payload`` the line it is, without its client ID or its valid fields."""
    words = payload.split()
    if len(words) < 2:
        return b" ".join(words)
    kind = [words[0], b"<id>", *words[2:]]
    if words[0] == b"IAMAT" and len(words) == 4:
        if _valid(b"IAMAT id %s %s" % (words[2], _VALID_TIME)):
            kind[2] = b"<location>"
        if _valid(b"IAMAT id %s %s" % (_VALID_LOCATION, words[3])):
            kind[3] = b"<time>"
    return b" ".join(kind)


def _valid(line: bytes) -> bool:
    try:
        return parse_line(line) is not None
    except ProtocolError:
        return False


@dataclass(slots=True)
class SilentLines:
    """The kinds of invalid line the herd left unanswered for a whole reply timeout, each with
    the words of the first time it did."""

    evidence: dict[bytes, str] = field(default_factory=dict)

    def seen_silent(self, payload: bytes) -> str | None:
        """The words of an earlier whole silence for a line of ``payload``'s kind, if any."""
        return self.evidence.get(line_kind(payload))

    def record(self, payload: bytes, *, check: str, waited_s: float) -> None:
        """``check`` sent ``payload`` and waited ``waited_s`` (the whole reply timeout) for a
        reply in silence, the connection left open."""
        line = payload.strip()
        self.evidence.setdefault(
            line_kind(payload),
            f"{check} waited the whole {waited_s:g} s reply timeout in silence for {line!r}, "
            "the connection left open",
        )
