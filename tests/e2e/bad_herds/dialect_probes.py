"""Raw-TCP probes of the herds with no bug: each dialect herd's own framing (``TRAIT_PROBES``,
``seen`` True when the trait shows; ``_base.py`` gives False unless it shares the trait) and
that the herd is otherwise correct when spoken to in that framing (:func:`correct_in_framing`).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from tests.e2e.bad_herds.probe_kit import (
    QUIET_S,
    Evidence,
    Herd,
    Transcript,
    fake_server,
    first_line,
    herd,
    line_done,
    python_for,
    read_reply,
    wait_for,
    whatsat_done,
)
from tests.e2e.bad_herds.probes import LOCATION, json_of, now, places_expected

Probe = Callable[[Path, Path], Evidence]
TRAIT_PROBES: dict[str, Probe] = {}


def trait(function: Probe) -> Probe:
    TRAIT_PROBES[function.__name__] = function
    return function


def start(h: Herd, *names: str, single_process: bool = False) -> None:
    if single_process:
        h.start(*names, command=[*python_for(h.script), str(h.script), "--config", str(h.config)])
    else:
        h.start(*names)


def correct_in_framing(
    script: Path,
    directory: Path,
    *,
    places: bool = True,
    single_process: bool = False,
    stray_at_eof: bytes = b"",
) -> Evidence:
    """Whether the herd, spoken to one command per connection with a half-close (the graders'
    way, which every dialect here accepts), answers IAMAT, floods, answers WHATSAT with the
    stored line and Places' JSON, and answers '?' where it must. ``seen`` True: all correct.
    ``stray_at_eof``: what the herd writes for the empty read at the client's EOF right after
    a one-line reply that has no LF (its dialect), taken off that reply before it is judged."""
    with herd(script, directory) as h:
        start(h, "A", "B", single_process=single_process)
        t = Transcript()
        problems: list[str] = []
        client_time = now()
        before = Decimal(time.time_ns()).scaleb(-9)
        reply = h.iamat("A", b"dialect", LOCATION, client_time, t).removesuffix(stray_at_eof)
        after = Decimal(time.time_ns()).scaleb(-9)
        fields = reply.split(b" ")
        if fields[:2] != [b"AT", b"A"] or fields[3:] != [b"dialect", LOCATION, client_time]:
            problems.append("the AT reply does not name A and echo the IAMAT")
        else:
            diff = Decimal(fields[2].decode())
            exact = Decimal(client_time.decode())
            if fields[2][:1] not in b"+-" or not before - exact - 1 <= diff <= after - exact + 1:
                problems.append(f"time difference {fields[2]!r} is not R - T")
        if not places:
            t.append("(no Places: WHATSAT cannot show the flood, so propagation is not probed)")
        elif h.wait_record("B", b"dialect", t, expect=reply) != reply:
            problems.append("B never returns A's AT line")
        if places:
            whole = h.whatsat("B", b"dialect", b"10", b"3", t)
            if json_of(whole) != places_expected(h, 3):
                problems.append("the WHATSAT JSON is not the fixture's answer cut to 3")
        unknown = first_line(h.exchange("A", b"FOO bar\n", t, complete=line_done).data)
        if unknown.removesuffix(stray_at_eof).strip() != b"? FOO bar":
            problems.append("an unknown command does not get '? FOO bar'")
        if not h.whatsat("A", b"nobody", b"10", b"1", t).startswith(b"? "):
            problems.append("WHATSAT for an unknown client does not get '?'")
        t.extend(f"problem: {problem}" for problem in problems)
        return t.evidence(not problems, "correct in its own framing")


# ---- traits ------------------------------------------------------------------------------


@trait
def dialect_no_final_lf(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"IAMAT nolf " + LOCATION + b" " + now() + b"\n", t)
        seen = reply.data.startswith(b"AT ") and not reply.data.endswith(b"\n") and reply.closed
        return t.evidence(seen, "the AT reply has no final LF and the server closes")


def _kept_open(h: Herd, payload: bytes, t: Transcript) -> tuple[bytes, bool]:
    """Send ``payload`` without half-closing; what comes back in QUIET_S and whether it closed."""
    with h.connect("A") as sock:
        t.sent("A", payload)
        sock.sendall(payload)
        reply = read_reply(sock, timeout_s=QUIET_S)
    t.got("A", reply.data + (b" <EOF>" if reply.closed else b" <still open>"))
    return reply.data, reply.closed


@trait
def dialect_close_after_reply(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        data, closed = _kept_open(h, b"IAMAT close " + LOCATION + b" " + now() + b"\n", t)
        return t.evidence(data.startswith(b"AT ") and closed, "the server closes after one reply")


@trait
def dialect_first_command_only(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        first = b"IAMAT first " + LOCATION + b" " + now() + b"\n"
        data, closed = _kept_open(h, first + b"IAMAT second " + LOCATION + b" " + now() + b"\n", t)
        return t.evidence(
            data.startswith(b"AT ") and data.count(b"AT ") == 1 and b" first " in data and not closed,
            "one AT reply, to the first command; the second is ignored and the connection stays open",
        )


@trait
def dialect_one_command_never_closes(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        first = b"IAMAT first " + LOCATION + b" " + now() + b"\n"
        data, closed = _kept_open(h, first + b"IAMAT second " + LOCATION + b" " + now() + b"\n", t)
        half = h.exchange("A", b"IAMAT half " + LOCATION + b" " + now() + b"\n", t, timeout_s=QUIET_S)
        return t.evidence(
            data.startswith(b"AT ")
            and data.count(b"AT ") == 1
            and b" first " in data
            and not closed
            and half.data.startswith(b"AT ")
            and not half.closed,
            "one AT reply, to the first command; the second gets nothing and the connection stays "
            "open, after a half-close too",
        )


@trait
def dialect_crlf_replies(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        at = h.exchange("A", b"IAMAT crlf " + LOCATION + b" " + now() + b"\n", t, complete=line_done).data
        whole = h.exchange("A", b"WHATSAT crlf 10 1\r\n", t).data
        seen = (
            at.endswith(b"\r\n") and whole.endswith(b"\r\n\r\n") and b"\n" not in whole.replace(b"\r\n", b"")
        )
        return t.evidence(seen, "every reply line ends with CRLF")


@trait
def dialect_crlf_single_line(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        at = h.exchange("A", b"IAMAT crlf1 " + LOCATION + b" " + now() + b"\n", t, complete=line_done).data
        error = h.exchange("A", b"NOPE\n", t, complete=line_done).data
        seen = at.endswith(b"\r\n") and error == b"? NOPE\r\n"
        return t.evidence(seen, "the AT reply and the '?' reply end with CRLF")


@trait
def dialect_read_to_eof(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        with h.connect("A") as sock:
            line = b"IAMAT eof " + LOCATION + b" " + now() + b"\n"
            t.sent("A", line)
            sock.sendall(line)
            early = read_reply(sock, complete=line_done, timeout_s=QUIET_S)
            t.got("A (before half-close)", early.data)
            sock.shutdown(socket.SHUT_WR)
            late = read_reply(sock)
            t.got("A (after half-close)", late.data)
        seen = not early.data and late.data.startswith(b"AT ")
        return t.evidence(seen, "no reply before the half-close, the AT reply after it")


@trait
def dialect_error_copy_keeps_lf(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"FOO bar\n", t)
        seen = reply.data == b"? FOO bar\n\n"
        return t.evidence(seen, "the '?' copy keeps the line's LF: the reply ends in an empty line")


@trait
def dialect_whatsat_no_empty_line(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"short", LOCATION, now(), t)
        reply = h.whatsat("A", b"short", b"10", b"1", t)
        seen = reply.startswith(b"AT ") and reply.endswith(b"}\n") and not reply.endswith(b"\n\n")
        return t.evidence(seen, "the WHATSAT reply ends '}' LF, without the empty line")


@trait
def dialect_new_api_error_refused(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"newapi", LOCATION, now(), t)
        h.whatsat("A", b"newapi", b"10", b"1", t)
        posts = [request for request in h.fixture.requests() if request.get("method") == "POST"]
        t.append(f"fixture saw {len(posts)} POST request(s)")
        return t.evidence(bool(posts), "WHATSAT asks Nearby Search (New) with a POST")


@trait
def dialect_one_line_blank_answered(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"\nIAMAT blank " + LOCATION + b" " + now() + b"\n", t)
        return t.evidence(reply.data == b"? \n" and reply.closed, "a blank first line gets '? ', then close")


@trait
def dialect_never_closes(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"IAMAT open " + LOCATION + b" " + now() + b"\n", t, timeout_s=QUIET_S)
        return t.evidence(reply.data.startswith(b"AT ") and not reply.closed, "answered, never closed")


@trait
def dialect_never_closes_blank_answered(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        payload = b"\n \nIAMAT blank " + LOCATION + b" " + now() + b"\n"
        reply = h.exchange("A", payload, t, timeout_s=QUIET_S)
        lines = reply.data.split(b"\n")
        return t.evidence(
            lines[:2] == [b"? ", b"? "] and lines[2].startswith(b"AT ") and not reply.closed,
            "'? ' for each blank line, then the AT reply; never closed",
        )


@trait
def dialect_close_left_to_gc(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        replies = [
            h.exchange("A", b"IAMAT gc%d " % index + LOCATION + b" " + now() + b"\n", t, timeout_s=QUIET_S)
            for index in range(2)
        ]
        answered = all(reply.data.startswith(b"AT ") for reply in replies)
        closed = [reply.closed for reply in replies]
        return t.evidence(
            answered and closed == [True, False], "both answered; the first closed, the second left open"
        )


@trait
def dialect_error_no_lf_kept_open(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"IAMAT nolf\n", t, timeout_s=QUIET_S)
        return t.evidence(
            reply.data == b"? IAMAT nolf" and not reply.closed,
            "'?' copy without LF, the connection left open",
        )


def _flood_format(
    script: Path, directory: Path, shape: Callable[[bytes, bytes], bool], note: str
) -> Evidence:
    with herd(script, directory) as h, fake_server(h.ports["B"]) as b:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"format", LOCATION, now(), t)
        wait_for(lambda: bool(b.lines()))
        t.got("B (fake)", b"\n".join(b.lines()))
        client_at = h.exchange(
            "A", b"AT Z +0.5 planted " + LOCATION + b" " + now() + b"\n", t, timeout_s=QUIET_S
        )
        seen = bool(b.lines()) and shape(b.lines()[0], reply) and client_at.data.startswith(b"? ")
        return t.evidence(seen, note)


def _json_flood(line: bytes, reply: bytes) -> bool:
    try:
        return bool(json.loads(line).get("line", "").encode("latin-1") == reply)
    except (ValueError, AttributeError):
        return False


@trait
def dialect_json_floods(script: Path, directory: Path) -> Evidence:
    return _flood_format(script, directory, _json_flood, "floods are JSON objects; a client's AT gets '?'")


@trait
def dialect_flood_lines(script: Path, directory: Path) -> Evidence:
    def flood_line(line: bytes, reply: bytes) -> bool:
        return line == b"FLOOD A " + reply

    return _flood_format(script, directory, flood_line, "floods are FLOOD lines; a client's AT gets '?'")


@trait
def dialect_sender_last_field(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h, fake_server(h.ports["B"]) as b:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"format", LOCATION, now(), t)
        wait_for(lambda: bool(b.lines()))
        t.got("B (fake)", b"\n".join(b.lines()))
        h.exchange("A", b"AT Z +0.5 planted " + LOCATION + b" " + now() + b"\n", t, timeout_s=QUIET_S)
        kept = first_line(h.whatsat("A", b"planted", b"10", b"1", t))
        seen = bool(b.lines()) and b.lines()[0] == reply + b" A" and kept == b"AT Z +0.5 planted " + LOCATION
        return t.evidence(seen, "floods carry the sender last; a six-field AT line is kept without its time")


@trait
def dialect_reply_after_flood(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h, fake_server(h.ports["B"]) as b:
        h.start("A")
        t = Transcript()
        replies = [h.iamat("A", b"each%d" % count, LOCATION, now(), t) for count in range(2)]
        wait_for(lambda: b.connections >= 2 and len(b.lines()) >= 2, QUIET_S)
        t.got("B (fake)", b"\n".join(b.lines()))
        t.append(f"B (fake) accepted {b.connections} connections")
        # Two connections of their own: the fake may read them in either order.
        seen = b.connections == 2 and sorted(b.lines()) == sorted(replies)
        return t.evidence(seen, "one connection per flood")


@trait
def dialect_single_process(script: Path, directory: Path) -> Evidence:
    names = ("A", "B", "C", "D", "E")
    links = (("A", "B"), ("A", "C"), ("D", "B"), ("D", "C"), ("D", "E"), ("C", "E"))
    with herd(script, directory, names=names, links=links) as h:
        t = Transcript()
        start(h, *names, single_process=True)
        t.append(f"one process ({len(h.processes)}) listens on the five ports {sorted(h.ports.values())}")
        reply = h.iamat("A", b"single", LOCATION, now(), t)
        shown = h.wait_record("E", b"single", t, expect=reply)
        return t.evidence(
            len(h.processes) == 1 and shown == reply, "one process serves the herd, A's record at E"
        )


@trait
def google_hardcoded(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"google", LOCATION, now(), t)
        h.whatsat("A", b"google", b"10", b"1", t)
        t.append(f"fixture saw {len(h.fixture.requests())} requests")
        return t.evidence(not h.fixture.requests(), "WHATSAT does not ask the fixture at $PLACES_URL")


@trait
def dialect_raw_https_places(script: Path, directory: Path) -> Evidence:
    # Like google_hardcoded: its requests never reach $PLACES_URL (they go to Google's host over
    # raw TLS; validate's --redirect-google shows that the fixture answers them).
    return google_hardcoded(script, directory)


@trait
def dialect_raw_https_absolute_target(script: Path, directory: Path) -> Evidence:
    # Like dialect_raw_https_places: its requests go to Google's host, never to $PLACES_URL.
    return google_hardcoded(script, directory)


@trait
def dialect_raw_https_chunk_after_word(script: Path, directory: Path) -> Evidence:
    # Like dialect_raw_https_places: its requests go to Google's host, never to $PLACES_URL.
    return google_hardcoded(script, directory)


@trait
def dialect_bound_zero_asks_after_close(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        line = h.iamat("A", b"zero", LOCATION, now(), t)
        # Counted while the connection is still open (no half-close either): the herd asks
        # Places once the client has gone, which may be before a reader of the reply is done.
        with h.connect("A") as sock:
            request = b"WHATSAT zero 10 0\n"
            t.sent("A", request)
            sock.sendall(request)
            reply = read_reply(sock, complete=whatsat_done).data
            t.got("A", reply)
            at_reply_time = len(h.fixture.requests())
        wait_for(lambda: bool(h.fixture.requests()))
        t.append(f"fixture saw {at_reply_time} request(s) at the reply, {len(h.fixture.requests())} after")
        empty = json_of(reply) == {"html_attributions": [], "results": [], "status": "OK"}
        seen = (
            reply.startswith(line + b"\n") and empty and at_reply_time == 0 and len(h.fixture.requests()) == 1
        )
        return t.evidence(seen, "bound 0 answered at once, its Places request made after the close")


@trait
def dialect_time_needs_fraction(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        whole = h.iamat("A", b"whole", LOCATION, b"%d" % time.time(), t)
        with_fraction = h.iamat("A", b"fraction", LOCATION, now(), t)
        seen = whole.startswith(b"? ") and with_fraction.startswith(b"AT ")
        return t.evidence(seen, "an integer client time gets '?', one with a fraction an AT line")


@trait
def no_places_lenient(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"lenient", LOCATION, now(), t)
        zero = h.whatsat("A", b"lenient", b"10", b"0", t)
        five = h.whatsat("A", b"lenient", b"10", b"5", t)
        seen = zero.startswith(b"? ") and five.startswith(b"? ") and not h.fixture.requests()
        return t.evidence(seen, "bound 0 refused, Places unreachable: '?' both times")


def at_lines(data: bytes) -> list[bytes]:
    """The complete AT lines in ``data`` (LF or CRLF ended)."""
    ended = data.replace(b"\r\n", b"\n").split(b"\n")[:-1]
    return [line for line in ended if line.startswith(b"AT ")]


def floods_through_its_own_herd(script: Path, directory: Path) -> Evidence:
    """Whether a record from an IAMAT at A crosses A -> B -> C (C a fake that records), A and B
    both running ``script``: a herd whose one bug is elsewhere still floods among its own
    servers, so a checker sees that bug alone. The IAMAT ends with CRLF, which every herd here
    reads (the Twisted one reads nothing else)."""
    with (
        herd(script, directory, names=("A", "B", "C"), links=(("A", "B"), ("B", "C"))) as h,
        fake_server(h.ports["C"]) as c,
    ):
        h.start("A", "B")
        t = Transcript()
        client_time = now()
        line = b"IAMAT relay " + LOCATION + b" " + client_time + b"\r\n"
        h.exchange("A", line, t, complete=lambda data: bool(at_lines(data)))

        def same_time(text: bytes) -> bool:
            try:
                return abs(Decimal(text.decode()) - Decimal(client_time.decode())) < Decimal("1e-6")
            except ArithmeticError:
                return False

        def relayed() -> bool:
            # The record (client and time, numerically), not the reply's bytes: a herd whose one
            # bug is the reply's shape (at_reply_repeats_command) still floods a right AT line.
            return any(
                fields[:2] == [b"AT", b"A"] and fields[3:4] == [b"relay"] and same_time(fields[-1])
                for fields in (line.split() for line in c.lines())
            )

        wait_for(relayed)
        t.got("C (fake)", b"\n".join(c.lines()))
        return t.evidence(relayed(), "A's record reaches C through B")


# The lab-host variant differs from dialect_single_process only in the addresses it binds, which
# the probe (on loopback) cannot tell apart: the same trait shows it.
TRAIT_PROBES["dialect_single_process_lab_host"] = dialect_single_process


@trait
def dialect_stray_error_at_eof(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        with h.connect("A") as sock:
            line = b"IAMAT stray " + LOCATION + b" " + now() + b"\n"
            t.sent("A", line)
            sock.sendall(line)
            sock.shutdown(socket.SHUT_WR)
            reply = read_reply(sock)
            t.got("A", reply.data)
        first, _, rest = reply.data.partition(b"\n")
        return t.evidence(
            first.startswith(b"AT ") and rest == b"? ", "the AT reply, then '? ' for the EOF read"
        )


@trait
def dialect_no_final_lf_stray_error(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        client_time = now()
        with h.connect("A") as sock:
            line = b"IAMAT glued " + LOCATION + b" " + client_time + b"\n"
            t.sent("A", line)
            sock.sendall(line)
            sock.shutdown(socket.SHUT_WR)
            reply = read_reply(sock)
            t.got("A", reply.data)
        return t.evidence(
            reply.data.startswith(b"AT ")
            and b"\n" not in reply.data
            and reply.data.endswith(b" glued " + LOCATION + b" " + client_time + b"?"),
            "the AT reply without its LF, then '?' for the EOF read, glued to it",
        )


@trait
def dialect_places_query_float_forms(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"forms", LOCATION, now(), t)
        h.whatsat("A", b"forms", b"10", b"1", t)
        requests = h.fixture.requests()
        t.append(f"fixture saw: {[request['raw_query'] for request in requests]}")
        query = requests[-1]["query"] if requests else {}
        seen = query.get("radius") == "10000.0" and str(query.get("location", "")).startswith("+")
        return t.evidence(seen, "radius=10000.0 and the location's '+' kept")
