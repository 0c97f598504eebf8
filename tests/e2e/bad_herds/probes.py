"""One raw-TCP probe per one-defect herd: ``DEFECT_PROBES[name](script, directory)`` runs the
herd script and returns the :class:`Evidence` of its bug (``seen`` True when the bug shows).

Each probe is written so that ``_base.py`` (the correct herd) gives ``seen`` False: the test
runs both, so a probe that cannot tell the bug from a correct herd fails.
"""

from __future__ import annotations

import ast
import contextlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

from herdref.places.fixture_data import MAX_RESULTS, generate_places, legacy_response, new_response
from tests.e2e.bad_herds.probe_kit import (
    CHAIN,
    QUIET_S,
    Evidence,
    Herd,
    Transcript,
    fake_server,
    first_line,
    herd,
    line_done,
    read_reply,
    wait_for,
    whatsat_done,
)

Probe = Callable[[Path, Path], Evidence]
DEFECT_PROBES: dict[str, Probe] = {}

LOCATION = b"+34.068930-118.445127"
TIME = b"1621464827.959498503"
#: The pause between the two writes of a split command: the input under test, not a wait for
#: the server (a server that reads lines must answer whatever the pause).
WRITE_GAP_S = 0.2


def probe(function: Probe) -> Probe:
    DEFECT_PROBES[function.__name__] = function
    return function


def now() -> bytes:
    return b"%.9f" % time.time()


def fields_of(line: bytes) -> list[bytes]:
    return line.split()


def json_of(reply: bytes) -> object:
    """The JSON text of a WHATSAT reply (after the first line, up to the first empty line);
    None when there is no such JSON object."""
    lines = reply.replace(b"\r\n", b"\n").split(b"\n")
    body = []
    for line in lines[1:]:
        if not line:
            break
        body.append(line)
    try:
        return json.loads(b"\n".join(body))
    except ValueError:
        return None


def places_expected(h: Herd, bound: int) -> object:
    """What the fixture answered to the herd's last request, cut to ``bound`` (PLACES-3)."""
    request = h.fixture.requests()[-1]
    if request.get("method") == "POST":  # Nearby Search (New): its JSON passed through
        body = request["json"]
        circle = body["locationRestriction"]["circle"]
        centre = circle["center"]
        places = generate_places(
            centre["latitude"], centre["longitude"], float(circle["radius"]), count=MAX_RESULTS
        )
        places = places[: body.get("maxResultCount", MAX_RESULTS)]
        return {"places": list(new_response(places)["places"])[:bound]}
    query = request["query"]
    latitude, longitude = (float(part) for part in query["location"].split(","))
    places = generate_places(latitude, longitude, float(query["radius"]), count=MAX_RESULTS)
    document = dict(legacy_response(places))
    document["results"] = document["results"][:bound]  # type: ignore[index]
    return document


def whatsat_json(h: Herd, name: str, client: bytes, bound: int, t: Transcript) -> tuple[object, object]:
    """(the JSON of a WHATSAT reply, what it should be) after an IAMAT for ``client``."""
    h.iamat(name, client, LOCATION, now(), t)
    reply = h.whatsat(name, client, b"10", str(bound).encode(), t)
    return json_of(reply), places_expected(h, bound) if h.fixture.requests() else None


# ---- framing -----------------------------------------------------------------------------


def _split_command_reply(script: Path, directory: Path, client: bytes) -> Evidence:
    """One IAMAT written in two writes with a pause between them: the evidence is that the
    reply is not one AT line (a server that answers the first piece alone)."""
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        with h.connect("A") as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            first, second = b"IAMAT " + client + b" +34.068930", b"-118.445127 " + now() + b"\n"
            t.sent("A", first)
            sock.sendall(first)
            time.sleep(WRITE_GAP_S)  # the input: a command split across two writes
            t.sent("A", second)
            try:
                sock.sendall(second)
            except OSError as exc:  # the server closed after the first piece
                t.append(f"second write: {type(exc).__name__}")
            reply = read_reply(sock, complete=line_done)
        t.got("A", reply.data)
        return t.evidence(not reply.data.startswith(b"AT "), "a command in two writes is not one AT reply")


@probe
def split_write_as_line(script: Path, directory: Path) -> Evidence:
    return _split_command_reply(script, directory, b"split")


@probe
def one_read_per_connection(script: Path, directory: Path) -> Evidence:
    return _split_command_reply(script, directory, b"one-read")


@probe
def line_limit_1k(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"c" * 2000, LOCATION, now(), t)
        return t.evidence(not reply.startswith(b"AT "), "a valid 2 KB IAMAT gets no AT reply")


@probe
def blank_lines_answered(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange(
            "A", b"\n" + b"IAMAT blank " + LOCATION + b" " + now() + b"\n", t, complete=line_done
        )
        return t.evidence(reply.data.startswith(b"? "), "a blank line is answered '? '")


@probe
def blank_lines_answered_without_lf(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange(
            "A", b"\n" + b"IAMAT blank " + LOCATION + b" " + now() + b"\n", t, complete=line_done
        )
        return t.evidence(reply.data.startswith(b"? AT "), "a blank line's '? ' reply has no LF after it")


@probe
def crlf_kept_in_time(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"IAMAT crlf " + LOCATION + b" " + now() + b"\r\n", t, complete=line_done)
        return t.evidence(reply.data.endswith(b"\r\n"), "the AT reply to a CRLF line ends in CRLF")


@probe
def blank_line_ends_connection(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange(
            "A", b"\n \t\nIAMAT blank " + LOCATION + b" " + now() + b"\n", t, complete=line_done
        )
        return t.evidence(not reply.data.startswith(b"AT "), "an IAMAT after blank lines is not answered")


@probe
def twisted_crlf_delimiter(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        crlf = h.exchange("A", b"IAMAT crlf " + LOCATION + b" " + now() + b"\r\n", t, complete=line_done)
        lf = h.iamat("A", b"lf", LOCATION, now(), t)
        seen = crlf.data.startswith(b"AT ") and not lf.startswith(b"AT ")
        return t.evidence(seen, "a CRLF line is answered, an LF line is not")


@probe
def eof_line_dropped(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"IAMAT eof " + LOCATION + b" " + now(), t)
        return t.evidence(not reply.data.startswith(b"AT "), "a last line ended by EOF is not answered")


@probe
def eof_flood_glued(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        # A record ended by LF reaches B: the links work, only the EOF-ended one is lost.
        control = h.iamat("A", b"lf", LOCATION, now(), t)
        spread = h.wait_record("B", b"lf", t, expect=control) == control
        reply = first_line(
            h.exchange("A", b"IAMAT eof " + LOCATION + b" " + now(), t, complete=line_done).data
        )
        arrived = reply.startswith(b"AT ") and h.wait_record("B", b"eof", t, expect=reply) == reply
        return t.evidence(
            spread and reply.startswith(b"AT ") and not arrived,
            "an IAMAT ended by EOF is answered, but its record never reaches B (one ended by LF does)",
        )


@probe
def half_close_loses_whatsat(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"slow", LOCATION, now(), t)
        h.fixture.set_fault("latency", latency_s=0.3)
        reply = h.whatsat("A", b"slow", b"10", b"2", t)
        return t.evidence(not reply.startswith(b"AT "), "a WHATSAT waiting for Places is lost on half-close")


@probe
def half_close_loses_replies(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        half_closed = h.exchange("A", b"IAMAT lost " + LOCATION + b" " + now() + b"\n", t)
        with h.connect("A") as sock:  # the same IAMAT on a connection kept open
            request = b"IAMAT kept " + LOCATION + b" " + now() + b"\n"
            t.sent("A", request)
            sock.sendall(request)
            kept_open = read_reply(sock, complete=line_done)
            t.got("A", kept_open.data)
        return t.evidence(
            half_closed.data == b"" and half_closed.closed and kept_open.data.startswith(b"AT A "),
            "an IAMAT followed by a half-close gets nothing; kept open, it gets its AT line",
        )


@probe
def eof_loses_replies_blank_line_drops(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        half_closed = h.exchange("A", b"IAMAT lost " + LOCATION + b" " + now() + b"\n", t)
        replies = []
        for request in (
            b"IAMAT kept " + LOCATION + b" " + now() + b"\n",
            b"\n \t\nIAMAT blank " + LOCATION + b" " + now() + b"\n",
        ):
            with h.connect("A") as sock:  # kept open: the framing this herd answers in
                t.sent("A", request)
                sock.sendall(request)
                replies.append(read_reply(sock, complete=line_done))
                t.got("A", replies[-1].data)
        kept_open, after_blank = replies
        return t.evidence(
            half_closed.data == b""
            and kept_open.data.startswith(b"AT A ")
            and not after_blank.data.startswith(b"AT "),
            "a half-closed IAMAT gets nothing; kept open, it gets its AT line, but not after blank lines",
        )


@probe
def half_close_cuts_whatsat(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"cut", LOCATION, now(), t)
        h.fixture.set_fault("latency", latency_s=0.3)
        reply = h.whatsat("A", b"cut", b"10", b"2", t)
        return t.evidence(
            reply.startswith(b"AT ") and reply.count(b"\n") == 1,
            "a half-closed WHATSAT gets its AT line only",
        )


@probe
def whatsat_reply_interleaved(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"asked", LOCATION, now(), t)
        h.fixture.set_fault("latency", latency_s=0.3)
        payload = b"WHATSAT asked 10 1\nIAMAT behind " + LOCATION + b" " + now() + b"\n"

        def both_whole(data: bytes) -> bool:
            return b"behind" in data and whatsat_done(data)

        reply = h.exchange("A", payload, t, complete=both_whole)
        lines = reply.data.split(b"\n")
        return t.evidence(
            len(lines) > 2 and b"asked" in lines[0] and b"behind" in lines[1] and lines[2].startswith(b"{"),
            "the IAMAT's AT line comes between the WHATSAT's AT line and its JSON",
        )


@probe
def neighbour_death_stops_server(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        control = h.iamat("A", b"linked", LOCATION, now(), t)
        h.wait_record("B", b"linked", t, expect=control)  # the link from A to B is up
        h.signal("B", signal.SIGKILL)
        t.append("B killed (SIGKILL)")
        process = h.processes["A"]
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=QUIET_S)
        t.append(f"A's process: exit status {process.poll()!r}")
        return t.evidence(process.poll() is not None, "A exits when its neighbour B is killed")


@probe
def flood_connection_drop_stops_server(script: Path, directory: Path) -> Evidence:
    # Unlike neighbour_death_stops_server (a persistent link): A outlives B's death while it has
    # flooded nothing to B, and dies of it once it holds the connection a flood left open.
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        h.signal("B", signal.SIGKILL)
        h.processes["B"].wait(timeout=QUIET_S)  # reaped before B is started again
        t.append("B killed (SIGKILL) before any record was flooded to it")
        process = h.processes["A"]
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=QUIET_S)
        outlived = process.poll() is None
        t.append(f"A's process: {'running' if outlived else f'exit status {process.poll()!r}'}")
        h.start("B")
        control = h.iamat("A", b"flooded", LOCATION, now(), t)
        h.wait_record("B", b"flooded", t, expect=control)
        h.signal("B", signal.SIGKILL)
        t.append("B killed (SIGKILL) after A flooded it a record")
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=QUIET_S)
        t.append(f"A's process: exit status {process.poll()!r}")
        return t.evidence(
            outlived and process.poll() is not None,
            "A outlives B's death with nothing flooded, and dies of it once it has flooded B a record",
        )


@probe
def at_line_acknowledged(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"AT B +0.5 acked " + LOCATION + b" " + now() + b"\n", t)
        return t.evidence(
            b"received updated location" in reply.data,
            "an AT line from a client gets words of the herd's own",
        )


@probe
def at_line_echoed(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        line = b"AT B +0.5 echoed " + LOCATION + b" " + now()
        reply = h.exchange("A", line + b"\n", t)
        return t.evidence(reply.data.startswith(line), "an AT line from a client gets itself back")


@probe
def split_reply(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        with h.connect("A") as sock:
            line = b"IAMAT pieces " + LOCATION + b" " + now() + b"\n"
            t.sent("A", line)
            sock.sendall(line)
            first = read_reply(sock, complete=bool)
        t.got("A (first read)", first.data)
        return t.evidence(not first.data.endswith(b"\n"), "the first read holds part of the reply")


@probe
def debug_text_to_client(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"debug", LOCATION, now(), t)
        return t.evidence(not reply.startswith(b"AT "), "something other than the reply comes first")


# ---- lexical rules and field checks ------------------------------------------------------


def _answered(script: Path, directory: Path, line: bytes, note: str, *, want_at: bool) -> Evidence:
    """Whether ``line`` is answered with an AT line (``want_at``) or with '?' (not ``want_at``)."""
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = first_line(h.exchange("A", line, t, complete=line_done).data)
        seen = reply.startswith(b"AT ") if want_at else reply.startswith(b"? ")
        return t.evidence(seen, note)


def _dropped(
    script: Path, directory: Path, line: bytes, note: str, *, client: bytes | None = None
) -> Evidence:
    """Whether ``line`` gets no reply and the server closes the connection (after an IAMAT of
    ``client``, when given, so that a WHATSAT has a record to look up)."""
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        if client is not None:
            h.iamat("A", client, LOCATION, now(), t)
        reply = h.exchange("A", line, t)
        return t.evidence(not reply.data and reply.closed, note)


@probe
def lowercase_commands(script: Path, directory: Path) -> Evidence:
    line = b"iamat lower " + LOCATION + b" " + now() + b"\n"
    return _answered(script, directory, line, "lower-case iamat gets an AT reply", want_at=True)


@probe
def command_word_prefix(script: Path, directory: Path) -> Evidence:
    line = b"IAMATX prefix " + LOCATION + b" " + now() + b"\n"
    return _answered(script, directory, line, "IAMATX gets an AT reply", want_at=True)


@probe
def no_error_for_field_count(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT extra " + LOCATION + b" " + now() + b" EXTRA\n"
    return _answered(script, directory, line, "an IAMAT with five fields gets an AT reply", want_at=True)


@probe
def error_text_extra_fields_taken(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        taken = h.iamat("A", b"extra", LOCATION, now() + b" EXTRA", t)
        refused = first_line(h.exchange("A", b"HELLO\n", t, complete=line_done).data)
        return t.evidence(
            taken.startswith(b"AT ") and bool(refused) and not refused.startswith(b"?"),
            "an IAMAT with five fields gets an AT line, an unknown command words of the herd's own",
        )


@probe
def extra_field_middle(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT middle EXTRA " + LOCATION + b" " + now() + b"\n"
    return _answered(script, directory, line, "an extra field in the middle gets an AT reply", want_at=True)


@probe
def exponent_time_accepted(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT exponent " + LOCATION + b" 1.6e9\n"
    return _answered(script, directory, line, "client time 1.6e9 gets an AT reply", want_at=True)


@probe
def fraction_bound_drops_connection(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"frac", LOCATION, now(), t)
        reply = h.exchange("A", b"WHATSAT frac 10 1.5\n", t)
        return t.evidence(not reply.data, "WHATSAT with bound 1.5 gets no reply at all")


@probe
def id_unicode_escape(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        client = rb"kiwi\x41"
        reply = fields_of(h.iamat("A", client, LOCATION, now(), t))
        return t.evidence(len(reply) == 6 and reply[3] != client, "client ID kiwi\\x41 is echoed altered")


@probe
def location_matched_not_to_end(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT alt +34.1-118.2-5.5 " + now() + b"\n"
    return _answered(script, directory, line, "location +34.1-118.2-5.5 gets an AT line", want_at=True)


@probe
def negative_latitude_refused(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT south -33.8688+151.2093 " + now() + b"\n"
    return _answered(script, directory, line, "location -33.8688+151.2093 gets '?'", want_at=False)


@probe
def bound_over_limit_exits(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"many", LOCATION, now(), t)
        h.exchange("A", b"WHATSAT many 10 21\n", t)
        try:
            status = h.processes["A"].wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = None
        t.append(f"A's exit status after bound 21: {status}")
        return t.evidence(status is not None, "a WHATSAT with bound 21 ends the server's process")


@probe
def radius_over_limit_exits(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"far", LOCATION, now(), t)
        h.exchange("A", b"WHATSAT far 51 5\n", t)
        try:
            status = h.processes["A"].wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = None
        t.append(f"A's exit status after radius 51: {status}")
        return t.evidence(status is not None, "a WHATSAT with radius 51 ends the server's process")


@probe
def at_reply_keeps_client_spacing(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        line = b"IAMAT  spaced \t" + LOCATION + b"  " + now() + b"\n"
        reply = first_line(h.exchange("A", line, t, complete=line_done).data)
        return t.evidence(
            reply.startswith(b"AT ") and b"\t" in reply and len(reply.split()) == 6,
            "the AT reply keeps the tab and the doubled spaces of the IAMAT",
        )


@probe
def id_punctuation_refused(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT kiwi-2:b " + LOCATION + b" " + now() + b"\n"
    return _answered(script, directory, line, "client ID kiwi-2:b gets '?'", want_at=False)


@probe
def whatsat_id_pattern_stricter(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        client = b"kiwi-2:b"
        answered = h.iamat("A", client, LOCATION, now(), t)
        reply = h.whatsat("A", client, b"10", b"1", t)
        return t.evidence(
            fields_of(answered)[3:4] == [client] and reply.startswith(b"?"),
            "client ID kiwi-2:b is answered for IAMAT and gets '?' for WHATSAT",
        )


@probe
def json_end_extra_lf_uncut(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"uncut", LOCATION, now(), t)
        # Read to the server's close (after the half-close), not to the first empty line.
        reply = h.exchange("A", b"WHATSAT uncut 10 20\n", t).data
        return t.evidence(reply.endswith(b"\n\n\n"), "a WHATSAT with bound 20 ends in three LFs")


@probe
def update_not_reflooded(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        h.iamat("A", b"mover", LOCATION, b"%.9f" % (time.time() - 10), t)
        h.wait_record("B", b"mover", t)
        newer = h.iamat("A", b"mover", b"+01.5-002.5", now(), t)
        held = h.wait_record("B", b"mover", t, expect=newer)
        return t.evidence(held != newer, "B keeps the first report after a newer one reached A")


@probe
def relay_string_compare(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        h.iamat("A", b"crossing", LOCATION, b"999.5", t)
        h.wait_record("B", b"crossing", t)
        newer = h.iamat("A", b"crossing", b"+01.5-002.5", b"1000.5", t)
        held = h.wait_record("B", b"crossing", t, expect=newer)
        return t.evidence(held != newer, "B keeps 999.5 after 1000.5 reached A")


@probe
def relay_float_compare(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        h.iamat("A", b"ns", LOCATION, b"1700000000.123456789", t)
        h.wait_record("B", b"ns", t)
        newer = h.iamat("A", b"ns", b"+01.5-002.5", b"1700000000.123456790", t)
        held = h.wait_record("B", b"ns", t, expect=newer)
        return t.evidence(held != newer, "B keeps the first report after one 1 ns newer reached A")


@probe
def location_float_echo(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        location = b"+0.00001-118.500"
        reply = h.iamat("A", b"tiny", location, now(), t)
        return t.evidence(fields_of(reply)[4:5] != [location], f"the location {location!r} is not echoed")


@probe
def decimal_time_forms(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT separator " + LOCATION + b" 1_700_000_000\n"
    return _answered(script, directory, line, "client time 1_700_000_000 gets an AT reply", want_at=True)


@probe
def location_needs_fraction(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT whole +34-118 " + now() + b"\n"
    return _answered(script, directory, line, "location +34-118 gets '?'", want_at=False)


@probe
def split_on_single_space(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT\ttabs  " + LOCATION + b"\t" + now() + b"\n"
    return _answered(script, directory, line, "tabs and double spaces between fields get '?'", want_at=False)


@probe
def future_time_refused(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT future " + LOCATION + b" %d\n" % (time.time() + 3600)
    return _answered(script, directory, line, "a client time an hour ahead gets '?'", want_at=False)


@probe
def time_needs_nine_digits(script: Path, directory: Path) -> Evidence:
    # The TA client's str(time.time()): seven fractional digits, a moment ago.
    line = b"IAMAT seven " + LOCATION + b" %.7f\n" % time.time()
    return _answered(
        script, directory, line, "a client time with seven fractional digits gets '?'", want_at=False
    )


@probe
def time_to_date_dies(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT far " + LOCATION + b" 4535975573084717626.5\n"
    return _dropped(script, directory, line, "a 19-digit client time gets no reply")


@probe
def time_pattern_any_char(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        colon = h.exchange("A", b"IAMAT colon " + LOCATION + b" 12:30\n", t).data
        zero = h.iamat("A", b"zero", LOCATION, b"0", t)
        one = h.iamat("A", b"one", LOCATION, b"1", t)
        taken = h.iamat("A", b"long", LOCATION, b"123", t)
        refused = not zero.startswith(b"AT ") and not one.startswith(b"AT ")
        seen = not colon.startswith(b"?") and refused and taken.startswith(b"AT ")
        return t.evidence(seen, "'12:30' not refused; '0' and '1' get no AT line; '123' does")


@probe
def time_zero_refused(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT epoch " + LOCATION + b" 0.000\n"
    return _answered(script, directory, line, "a client time of 0.000 gets '?'", want_at=False)


@probe
def unicode_split(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        client = "nb\u00a0sp".encode()
        reply = h.iamat("A", client, LOCATION, now(), t)
        return t.evidence(fields_of(reply)[3:4] != [client], "a client ID with U+00A0 is not echoed whole")


@probe
def at_reply_repeats_command(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"seven", LOCATION, now(), t)
        return t.evidence(fields_of(reply)[3:4] == [b"IAMAT"], "the AT reply holds the word IAMAT")


@probe
def at_reply_names_server_last(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"seventh", LOCATION, now(), t)
        return t.evidence(fields_of(reply)[6:] == [b"A"], "the AT reply ends with the server's name")


@probe
def at_reply_without_client_stale_kept(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    with herd(script, directory) as h:
        h.start("A")
        reply = h.iamat("A", b"five", LOCATION, b"2000000000.5", t)
    kept = _kept_record(script, directory, b"2000000000.5", b"2000000000.25", t)
    return t.evidence(
        len(fields_of(reply)) == 5 and b"five" not in fields_of(reply) and kept == b"2000000000.25",
        "the AT reply has five fields, no client ID, and an older IAMAT replaced the newer record",
    )


@probe
def at_reply_repeats_command_double_minus(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    with herd(script, directory) as h:
        h.start("A")
        reply = h.iamat("A", b"ahead", LOCATION, b"%d.5" % (time.time() + 3600), t)
    return t.evidence(
        fields_of(reply)[3:4] == [b"IAMAT"] and fields_of(reply)[2].startswith(b"--"),
        "the AT reply holds the word IAMAT, and its negative time difference starts with '--'",
    )


@probe
def at_lines_without_client_rebuilt(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"five", LOCATION, now(), t)
        shown = first_line(h.whatsat("A", b"five", b"10", b"1", t))
    seen = (
        len(fields_of(reply)) == len(fields_of(shown)) == 5
        and b"five" not in fields_of(reply)
        and fields_of(shown)[2] != fields_of(reply)[2]
        and fields_of(shown)[3:] == fields_of(reply)[3:]
    )
    return t.evidence(seen, "five-field AT lines, and WHATSAT shows another time difference than the reply")


@probe
def leading_space_not_ignored(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"  IAMAT lead " + LOCATION + b" " + now() + b"\n", t)
        return t.evidence(reply.data.startswith(b"? "), "white space before IAMAT makes it invalid")


@probe
def error_copy_rebuilt(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"WHATSAT zeros 010 21\n", t, complete=line_done).data
        return t.evidence(reply == b"? WHATSAT zeros 10 21\n", "the '?' copy is rebuilt from the numbers")


@probe
def error_no_space_copy_rebuilt(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"WHATSAT zeros 010 21\n", t, complete=line_done).data
        return t.evidence(reply == b"?WHATSAT zeros 10 21\n", "no SP after '?', and the copy rebuilt")


@probe
def radius_unlimited_text_drops_connection(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"far", LOCATION, now(), t)
        far = h.whatsat("A", b"far", b"51", b"1", t)
        text = h.exchange("A", b"WHATSAT far abc 1\n", t)
        seen = far.startswith(b"AT ") and not text.data and text.closed
        return t.evidence(seen, "51 km answered; 'abc': no reply, the connection closed")


@probe
def error_copy_literal(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"HELLO there\n", t, complete=line_done)
        return t.evidence(reply.data == b"? {message}\n", "the '?' reply does not copy the line")


@probe
def bad_time_drops_connection(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT late " + LOCATION + b" never\n"
    return _dropped(script, directory, line, "a time that is not a number: no reply, closed")


@probe
def nan_time_accepted(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT nan-time " + LOCATION + b" nan\n"
    return _answered(script, directory, line, "client time nan gets an AT reply", want_at=True)


@probe
def bad_time_crash_left_open(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"IAMAT late " + LOCATION + b" never\n", t, timeout_s=1.0)
        return t.evidence(
            not reply.data and not reply.closed, "a time that is not a number: no reply, connection left open"
        )


@probe
def odd_time_crash_left_open(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        taken = h.exchange("A", b"IAMAT big-time " + LOCATION + b" 1e9\n", t, timeout_s=1.0)
        silent = [
            h.exchange("A", b"IAMAT odd-time " + LOCATION + b" " + form + b"\n", t, timeout_s=1.0)
            for form in (b"nan", b"inf")
        ]
        return t.evidence(
            taken.data.startswith(b"AT ") and all(not reply.data and not reply.closed for reply in silent),
            "client time 1e9 is answered; nan and inf get no reply, the connection left open",
        )


@probe
def long_line_stops_server(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.exchange("A", b"WHATSAT huge." + b"a" * 70_000 + b" 10 1\n", t, timeout_s=1.0)
        process = h.processes["A"]
        wait_for(lambda: process.poll() is not None)
        t.got("A", b"process exit status %r" % process.poll())
        return t.evidence(process.poll() is not None, "a line past 64 KiB ends the server process")


@probe
def nan_time_no_reply(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT nan-time " + LOCATION + b" nan\n"
    return _dropped(script, directory, line, "a client time of nan: no reply, closed")


@probe
def location_one_sign_crash_others_taken(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        crash = h.exchange("A", b"IAMAT one +34.068930 " + now() + b"\n", t)
        taken = h.iamat("A", b"dots", b"+.-.", now(), t)
        seen = not crash.data and crash.closed and taken.startswith(b"AT ")
        return t.evidence(seen, "'+34.068930': no reply, closed; '+.-.': an AT reply")


@probe
def location_pattern_searched(script: Path, directory: Path) -> Evidence:
    line = b"IAMAT lead5 5+34.1-118.2 " + now() + b"\n"
    return _answered(script, directory, line, "location 5+34.1-118.2 gets an AT line", want_at=True)


@probe
def location_regex_empty_digits(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        valid = h.iamat("A", b"digits", LOCATION, now(), t)
        reply = h.exchange("A", b"IAMAT no-digits +.-. " + now() + b"\n", t)
        seen = valid.startswith(b"AT ") and not reply.data and reply.closed
        return t.evidence(seen, "a location without digits ('+.-.'): no reply, closed")


@probe
def line_limit_256(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        client = b"host." + b"a" * 248  # 253 octets: the longest host name
        reply = h.iamat("A", client, LOCATION, now(), t)
        return t.evidence(reply.startswith(b"?"), "an IAMAT with a 253-octet client ID is refused with '?'")


@probe
def decimal_radius_drops_connection(script: Path, directory: Path) -> Evidence:
    line = b"WHATSAT wide 50.5 3\n"
    return _dropped(script, directory, line, "a decimal radius: no reply, closed", client=b"wide")


@probe
def utf8_decode_crash(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"\xff\xfeid", LOCATION, now(), t)
        return t.evidence(not reply.startswith(b"AT "), "a client ID that is not UTF-8 gets no AT reply")


@probe
def crlf_kept_in_error(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"HELLO there\r\n", t, complete=line_done)
        return t.evidence(b"\r" in reply.data, "the CR of a CRLF line is in the '?' copy")


@probe
def error_reply_drops_last_char(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"HELLO there", t)  # ended by EOF, not LF
        return t.evidence(reply.data.strip() != b"? HELLO there", "the '?' copy differs from the line")


@probe
def error_reply_no_space(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"IAMAT Clark +12-118\n", t)
        return t.evidence(reply.data == b"?IAMAT Clark +12-118\n", "the '?' reply has no SP before the copy")


@probe
def error_reply_no_space_no_lf(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()

        def ask(sock: socket.socket, line: bytes) -> bytes:
            t.sent("A", line)
            sock.sendall(line)
            reply = read_reply(sock, timeout_s=QUIET_S).data
            t.got("A", reply)
            return reply

        with h.connect("A") as sock:
            refused = ask(sock, b"IAMAT Clark +12-118\n")
            answered = ask(sock, b"IAMAT kept " + LOCATION + b" " + now() + b"\n")
        seen = (
            refused == b"?IAMAT Clark +12-118"
            and answered.startswith(b"AT ")
            and not answered.endswith(b"\n")
        )
        return t.evidence(seen, "'?' glued to the copy, no LF, and the connection answers the next IAMAT")


@probe
def own_record_from_flood_back(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")  # alone: no neighbour can send its record back
        t = Transcript()
        reply = h.iamat("A", b"own", LOCATION, now(), t)
        held = first_line(h.whatsat("A", b"own", b"10", b"1", t))
        return t.evidence(reply.startswith(b"AT ") and held.startswith(b"?"), "answered, then no record: '?'")


@probe
def own_record_late_from_flood_back(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")  # B sends the record back, 0.2 s late
        t = Transcript()
        reply = h.iamat("A", b"late", LOCATION, now(), t)
        at_once = first_line(h.whatsat("A", b"late", b"10", b"1", t))
        later = h.wait_record("A", b"late", t)
        seen = reply.startswith(b"AT ") and at_once.startswith(b"?") and later.startswith(b"AT ")
        return t.evidence(seen, "answered, '?' to a WHATSAT at once, the record once B sends it back")


@probe
def flood_two_hops(script: Path, directory: Path) -> Evidence:
    four = (("A", "B"), ("B", "C"), ("C", "D"))  # D is three hops from A
    with herd(script, directory, names=("A", "B", "C", "D"), links=four) as h:
        h.start("A", "B", "C", "D")
        t = Transcript()
        h.iamat("A", b"far", LOCATION, now(), t)
        two_hops = h.wait_record("C", b"far", t)
        three_hops = h.wait_record("D", b"far", t)  # b"" once the deadline passes without it
        seen = two_hops.startswith(b"AT ") and not three_hops
        return t.evidence(seen, "two hops away: the record; three hops away: never")


@probe
def seen_time_unanswered(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        when = now()
        first = h.iamat("A", b"one", LOCATION, when, t)
        other_client = h.exchange("A", b"IAMAT two " + LOCATION + b" " + when + b"\n", t)
        seen = first.startswith(b"AT ") and not other_client.data
        return t.evidence(seen, "another client's report with the same time: no reply")


@probe
def bound_limit_missing(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"bound", LOCATION, now(), t)
        reply = h.whatsat("A", b"bound", b"10", b"21", t)
        return t.evidence(reply.startswith(b"AT "), "bound 21 gets a WHATSAT reply")


@probe
def bound_leading_zero_refused(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"zero", LOCATION, now(), t)
        reply = h.whatsat("A", b"zero", b"10", b"05", t)
        return t.evidence(reply.startswith(b"? "), "bound 05 is refused with '?'")


@probe
def radius_int_after_range(script: Path, directory: Path) -> Evidence:
    line = b"WHATSAT decimal 0.5 1\n"
    return _dropped(script, directory, line, "a WHATSAT with radius 0.5 gets no reply", client=b"decimal")


@probe
def radius_limit_exclusive(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"fifty", LOCATION, now(), t)
        reply = h.whatsat("A", b"fifty", b"50", b"1", t)
        return t.evidence(reply.startswith(b"? "), "radius 50 gets '?'")


@probe
def error_writer_always_fails(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        lines = [b"HELLO\n", b"IAMAT c " + LOCATION + b"\n", b"IAMAT c " + LOCATION + b" never\n"]
        replies = [h.exchange("A", line, t) for line in lines]
        answered = h.exchange("A", b"IAMAT c " + LOCATION + b" 1.5\n", t)
        return t.evidence(
            all(not reply.data and reply.closed for reply in replies) and answered.data.startswith(b"AT "),
            "no invalid line of any kind gets a reply (each connection closed); a valid IAMAT is answered",
        )


@probe
def blank_line_to_failing_error_writer(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        blank = h.exchange("A", b"\n\nIAMAT c " + LOCATION + b" 1.5\n", t)
        invalid = h.exchange("A", b"HELLO\n", t)
        answered = h.exchange("A", b"IAMAT c " + LOCATION + b" 2.5\n", t)
        return t.evidence(
            not blank.data
            and blank.closed
            and not invalid.data
            and invalid.closed
            and answered.data.startswith(b"AT "),
            "blank lines, then an IAMAT: no reply, closed (as an invalid line gets); an IAMAT is answered",
        )


@probe
def crash_on_unknown_client(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.whatsat("A", b"nobody", b"10", b"1", t)
        return t.evidence(not reply.startswith(b"? "), "WHATSAT for an unknown client gets no '?'")


@probe
def unknown_client_exits(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.whatsat("A", b"nobody", b"10", b"1", t)
        process = h.processes["A"]
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=QUIET_S)
        t.got("A (process)", b"exit status %r" % process.poll())
        return t.evidence(
            not reply.startswith(b"? ") and process.poll() is not None,
            "a WHATSAT for an unknown client ends the server's process",
        )


@probe
def unknown_client_exits_slow_flood(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        h.iamat("A", b"soon", LOCATION, now(), t)
        reply = h.whatsat("B", b"soon", b"10", b"1", t)  # right after the reply: not there yet
        process = h.processes["B"]
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=QUIET_S)
        t.got("B (process)", b"exit status %r" % process.poll())
        return t.evidence(
            not reply.startswith(b"AT ") and process.poll() is not None,
            "a WHATSAT at a neighbour right after the IAMAT's reply finds no record there yet and "
            "ends that server's process",
        )


@probe
def unknown_client_silent_late_flood(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"WHATSAT nobody 10 1\n", t, timeout_s=1.0)
        return t.evidence(
            not reply.data and not reply.closed,
            "a WHATSAT for an unknown client: no reply, connection left open",
        )


@probe
def unknown_client_error_without_copy(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.whatsat("A", b"nobody", b"10", b"1", t)
        return t.evidence(reply.rstrip() == b"?", "WHATSAT for an unknown client gets a '?' with no copy")


@probe
def unknown_client_placeholder(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.whatsat("A", b"nobody", b"10", b"1", t)
        return t.evidence(reply.startswith(b"AT "), "an AT-shaped reply for a client no server knows")


@probe
def unknown_client_own_words_kept_open(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"WHATSAT nobody 10 1\n", t, complete=lambda data: data.endswith(b"nobody"))
        return t.evidence(
            reply.data.startswith(b"ERROR") and not reply.closed and b"\n" not in reply.data,
            "WHATSAT for an unknown client gets the herd's own words, no LF, the connection left open",
        )


@probe
def flaky_unknown_client(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        replies = [h.whatsat("A", b"nobody", b"10", b"1", t) for _ in range(3)]
        answered = [reply.startswith(b"? ") for reply in replies]
        return t.evidence(answered == [False, True, True], "only the first WHATSAT for nobody fails")


@probe
def flaky_unknown_client_spacing(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        replies = [h.whatsat("A", b"nobody", b"10", b"1", t) for _ in range(3)]
        exact = [reply.rstrip(b"\n") == b"? WHATSAT nobody 10 1" for reply in replies]
        return t.evidence(exact == [False, True, True], "only the first '?' for nobody is re-spaced")


# ---- the AT reply ------------------------------------------------------------------------


@probe
def float_timestamp(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"float", LOCATION, TIME, t)
        return t.evidence(fields_of(reply)[5:] != [TIME], "the client time is not echoed as sent")


@probe
def float_echo_no_lf_kept_open(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"IAMAT floatnolf " + LOCATION + b" " + TIME + b"\n", t, timeout_s=QUIET_S)
        return t.evidence(
            fields_of(reply.data)[5:] != [TIME] and not reply.data.endswith(b"\n") and not reply.closed,
            "the client time echoed re-printed, no final LF, the connection left open",
        )


def _time_diff(
    script: Path, directory: Path, client_time: bytes, t: Transcript
) -> tuple[bytes, Decimal, Decimal]:
    """The time difference of an AT reply and the interval [low, high] the exact R - T lies in."""
    with herd(script, directory) as h:
        h.start("A")
        before = Decimal(time.time_ns()).scaleb(-9)
        reply = h.iamat("A", b"skew", LOCATION, client_time, t)
        after = Decimal(time.time_ns()).scaleb(-9)
    exact = Decimal(client_time.decode())
    return (fields_of(reply) + [b""] * 6)[2], before - exact, after - exact


@probe
def skew_double_minus(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    diff, _, _ = _time_diff(script, directory, b"%d.5" % (time.time() + 3600), t)
    return t.evidence(diff.startswith(b"--"), "a negative time difference starts with '--'")


@probe
def skew_double_minus_float_digits(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    negative, _, _ = _time_diff(script, directory, b"%d.5" % (time.time() + 3600), t)
    positive, _, _ = _time_diff(script, directory, b"%d.5" % (time.time() - 10), t)
    digits = positive.partition(b".")[2]
    return t.evidence(
        negative.startswith(b"--") and positive.startswith(b"+") and len(digits) != 9,
        "a negative time difference starts with '--', a positive one has a float's digits",
    )


@probe
def radius_limit_text_integer_only(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"far", LOCATION, now(), t)
        over = first_line(h.exchange("A", b"WHATSAT far 51 5\n", t, complete=line_done).data)
        decimal = first_line(h.exchange("A", b"WHATSAT far 0.5 5\n", t, complete=line_done).data)
        return t.evidence(
            bool(over) and not over.startswith(b"?") and decimal.startswith(b"?"),
            "radius 51 gets a message that is no '?', radius 0.5 gets '?'",
        )


@probe
def skew_without_plus(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    diff, _, _ = _time_diff(script, directory, b"1000000000.5", t)
    return t.evidence(not diff.startswith(b"+"), "a positive time difference has no '+'")


@probe
def skew_six_digits(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    diff, _, _ = _time_diff(script, directory, b"1000000000.5", t)
    return t.evidence(len(diff.partition(b".")[2]) != 9, "the time difference has not nine digits")


@probe
def float_time_diff(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    # A float of 19 digits is 256 apart from the next one: the rounded difference misses the
    # exact one by up to 128 s, and by less than 1 s for an unlucky clock (1 in 100 or so), so
    # two times 100 s apart are tried and either one missing shows the bug.
    seen = False
    for client_time in (b"1234567890123456789.5", b"1234567890123456889.5"):
        diff, low, high = _time_diff(script, directory, client_time, t)
        value = Decimal(diff.decode()) if diff else None
        seen = seen or (value is not None and not low - 1 <= value <= high + 1)
    return t.evidence(seen, "a time difference lies outside the exact one by more than 1 s")


@probe
def time_diff_str_float(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    diff, _, _ = _time_diff(script, directory, b"1234567890123456789.5", t)
    return t.evidence(b"e" in diff.lower(), "the time difference has an exponent")


@probe
def iamat_reply_stored_record(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"older", LOCATION, b"2000000000", t)
        reply = h.iamat("A", b"older", LOCATION, b"1000000000", t)
        return t.evidence(fields_of(reply)[5:] != [b"1000000000"], "a stale IAMAT is not answered fresh")


@probe
def stale_answered_stored_and_kept(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"older", LOCATION, b"2000000000", t)
        reply = h.iamat("A", b"older", LOCATION, b"1000000000", t)
        kept = (fields_of(h.wait_record("A", b"older", t)) + [b""] * 6)[5]
        return t.evidence(
            fields_of(reply)[5:] != [b"1000000000"] and kept == b"1000000000",
            "a stale IAMAT is answered with the stored record and then replaces it",
        )


@probe
def stale_answered_in_stored_name(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        newest = h.iamat("A", b"moved", LOCATION, TIME, t)
        h.wait_record("B", b"moved", t, expect=newest)
        stale_time = b"%.9f" % (float(TIME) - 100)
        reply = fields_of(h.iamat("B", b"moved", LOCATION, stale_time, t))
        return t.evidence(
            reply[:2] == [b"AT", b"A"] and reply[5:] == [stale_time],
            "a stale IAMAT at B is answered for that IAMAT, in A's name (the stored record's server)",
        )


@probe
def stale_reply_stored_diff(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        stored = fields_of(h.iamat("A", b"older", LOCATION, TIME, t))
        stale_time = b"%.9f" % (float(TIME) - 1000)
        reply = fields_of(h.iamat("A", b"older", LOCATION, stale_time, t))
        # Fresh, its difference is 1000 s more than the stored record's (and a moment).
        reused = len(stored) == len(reply) == 6 and abs(float(reply[2]) - float(stored[2])) < 500
        return t.evidence(reused, "a stale IAMAT's reply carries the stored record's time difference")


@probe
def duplicate_answered_with_stored_record(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"twice", LOCATION, b"2000000000", t)
        reply = h.iamat("A", b"twice", b"+10.5-20.5", b"2000000000", t)
        return t.evidence(fields_of(reply)[4:5] != [b"+10.5-20.5"], "a duplicate IAMAT is not answered fresh")


# ---- records and flooding ----------------------------------------------------------------


def _kept_record(script: Path, directory: Path, first: bytes, second: bytes, t: Transcript) -> bytes:
    """The client time that WHATSAT shows after IAMATs with ``first`` then ``second``."""
    with herd(script, directory) as h:
        h.start("A")
        h.iamat("A", b"order", LOCATION, first, t)
        h.iamat("A", b"order", LOCATION, second, t)
        return (fields_of(h.wait_record("A", b"order", t)) + [b""] * 6)[5]


@probe
def stale_update_accepted(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    kept = _kept_record(script, directory, b"2000000000", b"1000000000", t)
    return t.evidence(kept == b"1000000000", "an older IAMAT replaced the newer record")


@probe
def stale_iamat_stored_at_origin(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    kept = _kept_record(script, directory, b"2000000000.5", b"2000000000.25", t)
    return t.evidence(kept == b"2000000000.25", "an older IAMAT replaced the newer record at its origin")


@probe
def stale_kept_whatsat_line_rebuilt(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"order", LOCATION, b"2000000000.5", t)
        h.iamat("A", b"order", b"+10.500000-020.500000", b"2000000000.25", t)
        shown = (fields_of(h.wait_record("A", b"order", t)) + [b""] * 6)[4:6]
        return t.evidence(
            shown[0] == b"+10.500000-020.500000" and shown[1] not in (b"2000000000.5", b"2000000000.25"),
            "an older IAMAT replaced the newer record, and WHATSAT shows neither report's client time",
        )


@probe
def bad_time_overwrites_location(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        stored = h.iamat("A", b"moved", LOCATION, TIME, t)
        refused = first_line(h.exchange("A", b"IAMAT moved +10.5-20.5 abc\n", t, complete=line_done).data)
        held = h.wait_record("A", b"moved", t)
        return t.evidence(
            refused.startswith(b"?") and stored.startswith(b"AT ") and held != stored,
            "an IAMAT refused '?' for its time moved the stored record",
        )


@probe
def at_reply_without_client_bad_time_overwrites(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"moved", LOCATION, TIME, t)
        refused = first_line(h.exchange("A", b"IAMAT moved +10.5-20.5 abc\n", t, complete=line_done).data)
        held = h.wait_record("A", b"moved", t)
        return t.evidence(
            len(fields_of(reply)) == 5
            and b"moved" not in fields_of(reply)
            and refused.startswith(b"?")
            and held is not None
            and b"+10.5-20.5" in held,
            "the AT reply has five fields, no client ID; an IAMAT refused '?' for its time moved the record",
        )


@probe
def at_reply_without_client_radius_limit_exclusive(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"fifty", LOCATION, TIME, t)
        refused = h.whatsat("A", b"fifty", b"50", b"1", t)
        return t.evidence(
            len(fields_of(reply)) == 5 and b"fifty" not in fields_of(reply) and refused.startswith(b"? "),
            "the AT reply has five fields, no client ID; radius 50 gets '?'",
        )


@probe
def at_reply_without_client_extra_field_middle(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"middle", LOCATION, TIME, t)
        line = b"IAMAT middle EXTRA " + LOCATION + b" " + now() + b"\n"
        extra = first_line(h.exchange("A", line, t, complete=line_done).data)
        return t.evidence(
            len(fields_of(reply)) == 5 and b"middle" not in fields_of(reply) and extra.startswith(b"AT "),
            "the AT reply has five fields, no client ID; an extra field in the middle gets an AT reply",
        )


@probe
def at_reply_without_client_id_punctuation_refused(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"plain", LOCATION, TIME, t)
        line = b"IAMAT kiwi-2:b " + LOCATION + b" " + now() + b"\n"
        refused = first_line(h.exchange("A", line, t, complete=line_done).data)
        return t.evidence(
            len(fields_of(reply)) == 5 and b"plain" not in fields_of(reply) and refused.startswith(b"? "),
            "the AT reply has five fields, no client ID; client ID kiwi-2:b gets '?'",
        )


@probe
def at_reply_without_client_relay_string_compare(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        reply = h.iamat("A", b"crossing", LOCATION, b"999.5", t)
        h.wait_record("B", b"crossing", t)
        h.iamat("A", b"crossing", b"+01.5-002.5", b"1000.5", t)
        newer = h.wait_record("A", b"crossing", t)
        held = h.wait_record("B", b"crossing", t, expect=newer)
        return t.evidence(
            len(fields_of(reply)) == 5
            and b"crossing" not in fields_of(reply)
            and newer is not None
            and b"1000.5" in fields_of(newer)
            and held != newer,
            "the AT reply has five fields, no client ID; B keeps 999.5 after 1000.5 reached A",
        )


@probe
def at_reply_without_client_signed_zero_rebuilt(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"zero", b"+0.0-0.0", now(), t)
        answer = h.whatsat("A", b"zero", b"10", b"1", t)
        return t.evidence(
            len(fields_of(reply)) == 5
            and b"zero" not in fields_of(reply)
            and b"+0.0+-0.0" in fields_of(first_line(answer)),
            "the AT reply has five fields, no client ID; WHATSAT shows the record at +0.0+-0.0",
        )


@probe
def relay_takes_older(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        newer = b"AT B +0.250000000 older " + LOCATION + b" 1700000100"
        older = b"AT B +0.250000000 older +10-10 1700000000"
        h.exchange("A", newer + b"\n", t, timeout_s=QUIET_S)
        h.wait_record("A", b"older", t, expect=newer)
        h.exchange("A", older + b"\n", t, timeout_s=QUIET_S)
        # A takes a flood as it reads it: once it has answered the WHATSAT that follows on
        # another connection, the older line has long been handled, or is waited for here.
        held = h.wait_record("A", b"older", t, expect=older)
        return t.evidence(held == older, "A, holding the newer record, took the older one from B")


@probe
def sequence_beats_time(script: Path, directory: Path) -> Evidence:
    with herd(script, directory, names=("A", "B", "C"), links=CHAIN) as h:
        h.start("A", "B", "C")
        t = Transcript()
        h.iamat("A", b"split", LOCATION, b"1700000000", t)
        h.wait_record("C", b"split", t)
        # B down: C is cut off from A. A takes the newest report, C three older ones.
        h.signal("B", signal.SIGKILL)
        h.processes["B"].wait()
        newest = h.iamat("A", b"split", b"+10-10", b"1700000300", t)
        for client_time in (b"1700000200", b"1700000201", b"1700000202"):
            h.iamat("C", b"split", b"+20-20", client_time, t)
        h.start("B")
        # Whole again: C floods its next report over C-B-A.
        older = h.iamat("C", b"split", b"+20-20", b"1700000203", t)
        held = h.wait_record("A", b"split", t, expect=older)
        return t.evidence(
            held == older != newest,
            "A, holding the newest record (1700000300), took C's older 1700000203 after the split healed",
        )


@probe
def flooded_record_glued(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        h.start("B")
        t = Transcript()
        stored = h.iamat("A", b"relayed", LOCATION, now(), t)
        at_origin = h.exchange("A", b"WHATSAT relayed 10 1\n", t).data
        at_neighbour = h.wait_record("B", b"relayed", t)
        return t.evidence(
            at_origin.startswith(stored + b"\n{") and at_neighbour.startswith(stored + b"{"),
            "the JSON follows the AT line with no LF at the neighbour, not at the origin",
        )


@probe
def relayed_trailing_space(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        h.start("B")
        t = Transcript()
        stored = h.iamat("A", b"spaced", LOCATION, now(), t)
        at_origin = first_line(h.whatsat("A", b"spaced", b"10", b"1", t))
        at_neighbour = h.wait_record("B", b"spaced", t)
        return t.evidence(
            at_origin == stored and at_neighbour == stored + b" ",
            "the neighbour answers the relayed record with a space after its client time",
        )


@probe
def relayed_trailing_space_first_kept(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        h.start("B")
        t = Transcript()
        first = h.iamat("A", b"kept", LOCATION, b"1700000000", t)
        held = h.wait_record("B", b"kept", t)
        newer = h.iamat("A", b"kept", b"+10-10", b"1700000001", t)
        replaced = h.wait_record("B", b"kept", t, expect=newer + b" ")
        return t.evidence(
            held == first + b" " and not replaced,
            "the relayed record has a trailing space, and a newer one never replaces it",
        )


@probe
def whatsat_glued_first_report_kept(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"glued", LOCATION, b"1700000000", t)
        h.iamat("A", b"glued", b"+10-10", b"1700000001", t)
        first = first_line(h.whatsat("A", b"glued", b"10", b"1", t))
        return t.evidence(
            first.startswith(b"AT ") and b" 1700000000{" in first,
            "the JSON follows the AT line with no LF, and the record is still the first report",
        )


@probe
def flood_receiver_fails(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h, fake_server(h.ports["B"]) as b:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"taken", LOCATION, now(), t)
        wait_for(lambda: any(b"taken" in line for line in b.lines()))
        t.append(f"B's port got: {b.lines()}")
    with herd(script, directory / "both") as h:
        h.start("A", "B")
        h.iamat("A", b"taken", LOCATION, now(), t)
        held = h.wait_record("B", b"taken", t)  # b"" when B never holds it within the deadline
        return t.evidence(
            bool(b.lines()) and not held,
            "A's flood leaves for B, and B never holds the record",
        )


@probe
def first_report_kept(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    kept = _kept_record(script, directory, b"1700000000", b"1700000001", t)
    return t.evidence(kept == b"1700000000", "1700000001 did not replace 1700000000")


@probe
def string_time_compare(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    kept = _kept_record(script, directory, b"999999999", b"1000000000", t)
    return t.evidence(kept == b"999999999", "1000000000 did not replace 999999999")


@probe
def float_time_compare(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"ns", LOCATION, b"1700000000.123456789", t)
        h.iamat("A", b"ns", b"+10-10", b"1700000000.123456790", t)
        kept = fields_of(h.wait_record("A", b"ns", t)) + [b""] * 6
        return t.evidence(kept[4] == LOCATION, "a report 1 ns newer did not replace the stored one")


@probe
def own_record_back_replaces_newer(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        first = h.iamat("A", b"back", LOCATION, b"1700000000", t)
        h.wait_record("B", b"back", t)
        newer = h.iamat("A", b"back", b"+10-10", b"1700000001", t)
        h.wait_record("B", b"back", t, expect=newer)
        # B holds the newer record and has sent the first back to A; A, which answered and
        # flooded the newer report, holds the first again once that echo lands (waited for: the
        # echo may still be on its way when B already answers with the newer record).
        kept = h.wait_record("A", b"back", t, expect=first_line(first))
        return t.evidence(kept != b"", "A took the newer report, then its first came back")


@probe
def equal_time_replaces(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        first = h.iamat("A", b"same", LOCATION, b"1700000000.5", t)
        h.wait_record("B", b"same", t, expect=first)
        h.iamat("B", b"same", b"+10-10", b"1700000000.50", t)
        kept = h.wait_record("B", b"same", t)
        return t.evidence(kept != first, "an IAMAT with an equal client time replaced the record")


@probe
def regenerated_at_line(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        reply = h.iamat("A", b"regen", LOCATION, now(), t)
        shown = h.wait_record("B", b"regen", t)
        return t.evidence(shown != reply, "WHATSAT at a neighbour does not return the AT reply")


@probe
def relay_reprints_location(script: Path, directory: Path) -> Evidence:
    with herd(script, directory, names=("A", "B", "C"), links=CHAIN) as h, fake_server(h.ports["C"]) as c:
        h.start("A", "B")
        t = Transcript()
        reply = h.iamat("A", b"reprint", LOCATION, now(), t)
        wait_for(lambda: bool(c.lines()), QUIET_S)
        t.got("C (fake)", b"\n".join(c.lines()))
        relayed = [line for line in c.lines() if b" reprint " in line]
        seen = bool(reply) and bool(relayed) and b" +34.06893-118.445127 " in relayed[0]
        return t.evidence(seen, "B relays A's record with the location re-printed from floats")


@probe
def relay_reprints_time(script: Path, directory: Path) -> Evidence:
    with herd(script, directory, names=("A", "B", "C"), links=CHAIN) as h, fake_server(h.ports["C"]) as c:
        h.start("A", "B")
        t = Transcript()
        reply = h.iamat("A", b"retime", LOCATION, b"1621464827.959498503", t)
        wait_for(lambda: bool(c.lines()), QUIET_S)
        t.got("C (fake)", b"\n".join(c.lines()))
        relayed = [line for line in c.lines() if b" retime " in line]
        seen = bool(reply) and bool(relayed) and relayed[0].endswith(b" 1621464827.959498")
        return t.evidence(seen, "B relays A's record with the client time cut to the microsecond")


@probe
def flood_handled_as_report(script: Path, directory: Path) -> Evidence:
    with herd(script, directory, names=("A", "B", "C"), links=CHAIN) as h, fake_server(h.ports["C"]) as c:
        h.start("A", "B")
        t = Transcript()
        reply = h.iamat("A", b"rehandled", LOCATION, now(), t)
        wait_for(lambda: any(b" rehandled " in line for line in c.lines()))
        t.got("C (fake)", b"\n".join(c.lines()))
        relayed = [line for line in c.lines() if b" rehandled " in line]
        # B's own line comes back to A too: A then answers WHATSAT with another line than its
        # reply (a correct herd's A keeps its reply line, which the wait then runs out on).
        wait_for(
            lambda: first_line(h.whatsat("A", b"rehandled", b"10", b"0", Transcript())) != reply, QUIET_S
        )
        shown = first_line(h.whatsat("A", b"rehandled", b"10", b"0", t))
        seen = bool(reply) and bool(relayed) and relayed[0].startswith(b"AT B ") and shown != reply
        return t.evidence(seen, "B relays an AT line of its own, and A's record becomes another line")


@probe
def whatsat_body_bare_array(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"bare", LOCATION, now(), t)
        answer = h.whatsat("A", b"bare", b"10", b"0", t)
        seen = bool(reply) and answer.startswith(reply + b"\n[]\n")
        return t.evidence(seen, "the bound-0 WHATSAT body is a bare '[]', not a JSON object")


@probe
def bare_array_cut_to_radius(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"swapped", LOCATION, now(), t)
        answer = h.whatsat("A", b"swapped", b"5", b"2", t)
        body = answer.partition(b"\n")[2]
        places = json.loads(body) if body.strip().startswith(b"[") else None
        return t.evidence(
            bool(reply) and isinstance(places, list) and len(places) == 5,
            "radius 5, bound 2: a bare array of 5 places",
        )


@probe
def whatsat_line_from_arguments(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"args", LOCATION, now(), t)
        shown = first_line(h.whatsat("A", b"args", b"10", b"1", t))
        seen = bool(reply) and shown.startswith(b"AT A ") and shown.endswith(b" args 10 1")
        return t.evidence(seen, "WHATSAT shows an AT line ending in the request's radius and bound")


@probe
def whatsat_line_from_iamat(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"command", LOCATION, now(), t)
        shown = first_line(h.whatsat("A", b"command", b"10", b"1", t))
        fields = reply.split(b" ")
        seen = bool(reply) and shown.startswith(b"AT A ") and shown.split(b" ")[3:] == [b"IAMAT", *fields[3:]]
        return t.evidence(
            seen, "WHATSAT shows an AT line that ends in the IAMAT command, its word IAMAT included"
        )


@probe
def whatsat_error_closes(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        client = b"closes"
        h.iamat("A", client, LOCATION, now(), t)
        request = b"WHATSAT closes 10 five\nIAMAT closes " + LOCATION + b" " + now() + b"\n"
        reply = h.exchange("A", request, t)
        after_invalid_iamat = h.exchange(
            "A", b"IAMAT closes +12-118 never\nIAMAT closes " + LOCATION + b" " + now() + b"\n", t
        )
        return t.evidence(
            reply.data == b"? WHATSAT closes 10 five\n"
            and reply.closed
            and b"\nAT A " in after_invalid_iamat.data,
            "the '?' to a WHATSAT whose bound is no number, then the connection closed with the next "
            "IAMAT unanswered; after an invalid IAMAT the next one is answered",
        )


@probe
def whatsat_location_reprinted(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        sent = b"+34.003700-118.000000"
        reply = h.iamat("A", b"reprinted", sent, now(), t)
        shown = first_line(h.whatsat("A", b"reprinted", b"10", b"1", t)).split(b" ")
        fields = reply.split(b" ")
        seen = (
            fields[4:5] == [sent]
            and len(shown) == 6
            and shown[4] == b"+34.0037-118.0"
            and shown[:4] + shown[5:] == fields[:4] + fields[5:]
        )
        return t.evidence(
            seen, "the IAMAT reply echoes the location as sent; WHATSAT's AT line re-prints it, no more"
        )


@probe
def whatsat_time_diff_regenerated(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"again", LOCATION, now(), t)
        shown = first_line(h.whatsat("A", b"again", b"10", b"1", t))
        seen = bool(reply) and shown != reply and shown.split(b" ")[3:] == reply.split(b" ")[3:]
        return t.evidence(seen, "WHATSAT at the origin shows another time difference than its reply")


@probe
def relabel_relayed_at(script: Path, directory: Path) -> Evidence:
    with herd(script, directory, names=("A", "B", "C"), links=CHAIN) as h, fake_server(h.ports["C"]) as c:
        h.start("A", "B")
        t = Transcript()
        reply = h.iamat("A", b"relabel", LOCATION, now(), t)
        wait_for(lambda: bool(c.lines()))
        t.got("C (fake)", b"\n".join(c.lines()))
        return t.evidence(c.lines()[:1] != [reply], "the flood C gets is not A's AT line")


@probe
def one_hop_flooding(script: Path, directory: Path) -> Evidence:
    with herd(script, directory, names=("A", "B", "C"), links=CHAIN) as h, fake_server(h.ports["C"]) as c:
        h.start("A", "B")
        t = Transcript()
        h.iamat("A", b"hops", LOCATION, now(), t)
        wait_for(lambda: bool(c.lines()), QUIET_S)
        t.got("C (fake)", b"\n".join(c.lines()))
        return t.evidence(not c.lines(), "a record from A never reaches C through B")


@probe
def one_hop_whatsat_prefixed(script: Path, directory: Path) -> Evidence:
    hops = one_hop_flooding(script, directory / "hops")
    with herd(script, directory / "prefixed") as h:
        h.start("A")
        t = Transcript(hops.transcript)
        h.iamat("A", b"prefix", LOCATION, now(), t)
        first = first_line(h.whatsat("A", b"prefix", b"10", b"1", t))
        seen = hops.seen and first.startswith(b"AT A ") and len(first.split()) == 9
        return t.evidence(seen, "one hop only, and the WHATSAT line has nine fields")


@probe
def no_flooding(script: Path, directory: Path) -> Evidence:
    with herd(script, directory, names=("A", "B"), links=(("A", "B"),)) as h, fake_server(h.ports["B"]) as b:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"alone", LOCATION, now(), t)
        wait_for(lambda: bool(b.lines()), QUIET_S)
        t.got("B (fake)", b"\n".join(b.lines()))
        return t.evidence(not b.lines(), "a record from A never reaches its neighbour B")


@probe
def floods_non_neighbour(script: Path, directory: Path) -> Evidence:
    with (
        herd(script, directory, names=("A", "B", "C")) as h,
        fake_server(h.ports["B"]) as b,
        fake_server(h.ports["C"]) as c,
    ):
        h.start("A")
        t = Transcript()
        h.iamat("A", b"topology", LOCATION, now(), t)
        wait_for(lambda: bool(b.lines()))
        wait_for(lambda: bool(c.lines()), QUIET_S)
        t.got("B (fake, linked)", b"\n".join(b.lines()))
        t.got("C (fake, not linked)", b"\n".join(c.lines()))
        return t.evidence(bool(c.lines()), "C, which is not linked to A, gets A's record")


@probe
def floods_off_the_links(script: Path, directory: Path) -> Evidence:
    # D, the last by name, is linked to A and B, not to C: it sends to A and C, never to B.
    with (
        herd(script, directory, names=("A", "B", "C", "D"), links=(("A", "D"), ("B", "D"), ("C", "A"))) as h,
        fake_server(h.ports["A"]) as a,
        fake_server(h.ports["B"]) as b,
        fake_server(h.ports["C"]) as c,
    ):
        h.start("D")
        t = Transcript()
        h.iamat("D", b"topology", LOCATION, now(), t)
        wait_for(lambda: bool(a.lines()) and bool(c.lines()))
        wait_for(lambda: bool(b.lines()), QUIET_S)
        for fake, what in ((a, "A (fake, linked)"), (b, "B (fake, linked)"), (c, "C (fake, not linked)")):
            t.got(what, b"\n".join(fake.lines()))
        return t.evidence(
            bool(c.lines()) and not b.lines(),
            "C, not linked to D, gets D's record, and B, linked, never does",
        )


def _copies_at_fake(script: Path, directory: Path, send: Callable[[Herd, Transcript], bytes]) -> Evidence:
    with (
        herd(script, directory, names=("A", "B", "C"), links=(("A", "B"), ("A", "C"), ("B", "C"))) as h,
        fake_server(h.ports["C"]) as c,
    ):
        h.start("A", "B")
        t = Transcript()
        line = send(h, t)
        wait_for(lambda: c.lines().count(line) > 20, QUIET_S)
        copies = c.lines().count(line)
        t.append(f"C (fake) got {copies} copies of {line!r}")
        return t.evidence(copies > 20, "one record keeps arriving at C")


@probe
def flood_loop(script: Path, directory: Path) -> Evidence:
    def send(h: Herd, t: Transcript) -> bytes:
        line = b"AT Z +0.5 loop " + LOCATION + b" " + now()
        h.exchange("A", line + b"\n", t, timeout_s=QUIET_S)
        return line

    return _copies_at_fake(script, directory, send)


@probe
def flood_storm(script: Path, directory: Path) -> Evidence:
    return _copies_at_fake(script, directory, lambda h, t: h.iamat("A", b"storm", LOCATION, now(), t))


@probe
def float_equal_replaces(script: Path, directory: Path) -> Evidence:
    # A cycle of three real servers (A, B, D) and C, a fake, linked to A: two reports 1 ns apart
    # at A and B cross on the cycle and keep replacing each other; each time A takes one, C
    # gets a copy.
    names, links = ("A", "B", "C", "D"), (("A", "B"), ("B", "D"), ("D", "A"), ("A", "C"))
    with herd(script, directory, names=names, links=links) as h, fake_server(h.ports["C"]) as c:
        h.start("A", "B", "D")
        t = Transcript()
        # Whether the two floods cross is a race (one pair did not, in a fresh-clone run): a
        # few pairs, each a client of its own, until one storms.
        for attempt in range(_CROSSING_PAIRS):
            client = b"swap%d" % attempt
            whole, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
            # Both sent before either is answered, so that their floods cross.
            with h.connect("A") as a, h.connect("B") as b:
                for sock, name, offset in ((a, "A", 0), (b, "B", 1)):
                    line = b"IAMAT %s %s %d.%09d\n" % (
                        client,
                        LOCATION,
                        whole,
                        nanoseconds % 999_999_990 + offset,
                    )
                    t.sent(name, line)
                    sock.sendall(line)
                for sock, name in ((a, "A"), (b, "B")):
                    t.got(name, read_reply(sock, timeout_s=QUIET_S).data)

            def copies(client: bytes = client) -> int:
                return sum(b" %s " % client in line for line in c.lines())

            wait_for(lambda: copies() > 20, QUIET_S)
            t.append(f"C (fake) got {copies()} copies of {client.decode()}'s records")
            if copies() > 20:
                return t.evidence(True, "two reports 1 ns apart keep replacing each other")
        return t.evidence(False, "two reports 1 ns apart keep replacing each other")


#: How many crossing pairs float_equal_replaces sends before it says the storm did not come.
_CROSSING_PAIRS = 4


@probe
def flood_storm_holds_whatsat(script: Path, directory: Path) -> Evidence:
    return _copies_at_fake(script, directory, lambda h, t: h.iamat("A", b"holds", LOCATION, now(), t))


@probe
def flood_storm_grows(script: Path, directory: Path) -> Evidence:
    return _copies_at_fake(script, directory, lambda h, t: h.iamat("A", b"grows", LOCATION, now(), t))


#: A, the origin, linked to a triangle B-D-E (a record sent back neither to its sender nor to
#: the server its AT line names circles only around a cycle of the others), and C, a fake,
#: linked to B: each time the record passes B, C gets a copy.
CYCLE_BEHIND_B = ("A", "B", "C", "D", "E")
CYCLE_BEHIND_B_LINKS = (("A", "B"), ("B", "D"), ("D", "E"), ("E", "B"), ("B", "C"))


@probe
def nan_time_floods_forever(script: Path, directory: Path) -> Evidence:
    with (
        herd(script, directory, names=CYCLE_BEHIND_B, links=CYCLE_BEHIND_B_LINKS) as h,
        fake_server(h.ports["C"]) as c,
    ):
        h.start("A", "B", "D", "E")
        t = Transcript()
        line = h.iamat("A", b"nan", LOCATION, b"nan", t)

        def copies() -> int:
            return sum(b" nan " in got and got.endswith(b" nan") for got in c.lines())

        wait_for(lambda: copies() > 20, QUIET_S)
        t.append(f"C (fake) got {copies()} copies of the record of client nan")
        return t.evidence(
            line.startswith(b"AT ") and copies() > 20, "a record with client time nan keeps arriving"
        )


@probe
def client_at_line_floods_forever(script: Path, directory: Path) -> Evidence:
    with (
        herd(script, directory, names=CYCLE_BEHIND_B, links=CYCLE_BEHIND_B_LINKS) as h,
        fake_server(h.ports["C"]) as c,
    ):
        h.start("A", "B", "D", "E")
        t = Transcript()
        # An AT line as a client (or another herd's server) sends it: six fields, no list.
        h.exchange("A", b"AT Z +0.500000000 circling " + LOCATION + b" " + TIME + b"\n", t, timeout_s=QUIET_S)
        # A record of an IAMAT spreads once: C gets one copy of it (or a few), no more.
        h.iamat("A", b"once", LOCATION, now(), t)

        def copies(client: bytes) -> int:
            return sum(b" %s " % client in got for got in c.lines())

        wait_for(lambda: copies(b"circling") > 20, QUIET_S)
        circling, once = copies(b"circling"), copies(b"once")
        t.append(f"C (fake) got {circling} copies of circling's AT line, {once} of once's")
        return t.evidence(circling > 20 and once <= 3, "a client's AT line keeps arriving, an IAMAT's not")


@probe
def greeting_on_connect(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        with socket.create_connection(("127.0.0.1", h.ports["A"]), timeout=QUIET_S) as quiet:
            try:
                greeting = quiet.recv(4096)  # nothing sent on this connection
            except TimeoutError:
                greeting = b""
        t.append(f"a connection on which nothing was sent got {greeting!r}")
        reply = h.iamat("A", b"greeted", LOCATION, now(), t)
        return t.evidence(
            greeting.startswith(b"Connection Succesful") and reply.startswith(b"Connection Succesful"),
            "every connection starts with a greeting, the IAMAT's reply after it",
        )


@probe
def http_get_closes(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"GET / HTTP/1.1\n", t)
        other = h.exchange("A", b"HELLO / HTTP/1.1\n", t)
        return t.evidence(
            reply.data == b"" and reply.closed and other.data.startswith(b"? HELLO"),
            "a GET line is closed without a reply, another unknown word gets '?'",
        )


@probe
def whatsat_names_answering_server(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        t = Transcript()
        h.iamat("A", b"named", LOCATION, now(), t)
        held = h.wait_record("B", b"named", t)
        own = h.whatsat("A", b"named", b"10", b"0", t)
        return t.evidence(
            held.startswith(b"AT B ") and own.startswith(b"AT A "),
            "B answers the record A flooded with an AT line naming B; A's names A",
        )


@probe
def record_forgotten_on_close(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"gone", LOCATION, now(), t)
        reply = h.whatsat("A", b"gone", b"10", b"0", t)
        return t.evidence(not reply.startswith(b"AT "), "a WHATSAT on a new connection finds no record")


@probe
def fixed_read_cuts_lines(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        # A flood as a neighbour sends it: 110 octets, its client time from octet 91 on.
        line = b"AT Z +0.500000000 " + b"c" * 50 + b" " + LOCATION + b" " + TIME
        h.exchange("A", line + b"\n", t, timeout_s=QUIET_S)
        held = h.wait_record("A", b"c" * 50, t)
        t.append(f"the line sent is {len(line)} octets; A holds {len(held)}")
        return t.evidence(
            held.startswith(b"AT ") and held != line, "a flooded line of 110 octets is stored cut"
        )


@probe
def overlong_line_left_open(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        line = b"WHATSAT " + b"x" * 70_000 + b" 10 1\n"
        t.sent("A", line[:40] + b"... (%d octets)" % len(line))
        with h.connect("A") as sock:
            sock.sendall(line)
            reply = read_reply(sock, timeout_s=QUIET_S)
        t.got("A", reply.data + (b" <EOF>" if reply.closed else b" <no EOF>"))
        alive = h.iamat("A", b"after", LOCATION, TIME, t)
        return t.evidence(
            not reply.data and not reply.closed and alive.startswith(b"AT "),
            "a line past 64 KiB gets nothing on a connection left open, and the server goes on",
        )


@probe
def malformed_at_stored(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"AT Z +0.5 poison +100+200 1700000000\n", t, complete=line_done)
        return t.evidence(not reply.data.startswith(b"? "), "a malformed AT line gets no '?'")


@probe
def short_at_drops_connection(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        reply = h.exchange("A", b"AT Z +0.5 short\n", t, complete=line_done)
        return t.evidence(not reply.data.startswith(b"? "), "an AT line with four fields gets no '?'")


# ---- links -------------------------------------------------------------------------------


@probe
def hang_on_paused_neighbour(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        h.signal("B", signal.SIGSTOP)
        t = Transcript(["B stopped (SIGSTOP)"])
        reply = h.exchange("A", b"IAMAT paused " + LOCATION + b" " + now() + b"\n", t, timeout_s=QUIET_S)
        return t.evidence(not reply.data.startswith(b"AT "), "no reply while B is stopped")


@probe
def flood_waits_on_stopped_neighbour(script: Path, directory: Path) -> Evidence:
    # B listens but never accepts, and its accept queue is full (a stopped server that floods
    # have piled up on): a connection to it neither opens nor fails. A's neighbours are B, C.
    with (
        herd(script, directory, names=("A", "B", "C"), links=(("A", "B"), ("A", "C"))) as h,
        _full_listener(h.ports["B"]),
        fake_server(h.ports["C"]) as c,
    ):
        h.start("A")
        t = Transcript(["B listens, accepts nothing and its accept queue is full (a stopped server)"])
        h.iamat("A", b"heldup", LOCATION, now(), t)
        wait_for(lambda: any(b" heldup " in line for line in c.lines()), QUIET_S)
        t.append(f"C (fake) received {c.lines()!r}")
        return t.evidence(
            not any(b" heldup " in line for line in c.lines()), "the flood to C waits for stopped B"
        )


@contextlib.contextmanager
def _full_listener(port: int) -> Iterator[None]:
    """A listening socket on ``port`` that never accepts, its accept queue filled: a new
    connection to it hangs (the kernel drops its SYN), as one to a SIGSTOPped server does once
    enough connections wait for it."""
    listener = socket.create_server(("127.0.0.1", port), backlog=0)
    queued = []
    try:
        for _ in range(4):  # a backlog of 0 queues one or two; the rest stay half-open
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
            queued.append(sock)
        yield
    finally:
        for sock in queued:
            sock.close()
        listener.close()


@probe
def flood_stops_at_down_neighbour(script: Path, directory: Path) -> Evidence:
    # Nothing listens on B's port (down); A's neighbours are B, then C.
    with (
        herd(script, directory, names=("A", "B", "C"), links=(("A", "B"), ("A", "C"))) as h,
        fake_server(h.ports["C"]) as c,
    ):
        h.start("A")
        t = Transcript(["B is down: nothing listens on its port"])
        h.iamat("A", b"downfirst", LOCATION, now(), t)
        wait_for(lambda: any(b" downfirst " in line for line in c.lines()), QUIET_S)
        t.append(f"C (fake) received {c.lines()!r}")
        return t.evidence(
            not any(b" downfirst " in line for line in c.lines()), "the flood to C stops at down B"
        )


@probe
def neighbour_left_out(script: Path, directory: Path) -> Evidence:
    # Jaquez's neighbours in the herd file: Campbell and Clark, both fakes that record what comes.
    with (
        herd(
            script,
            directory,
            names=("Jaquez", "Campbell", "Clark"),
            links=(("Jaquez", "Campbell"), ("Jaquez", "Clark")),
        ) as h,
        fake_server(h.ports["Campbell"]) as campbell,
        fake_server(h.ports["Clark"]) as clark,
    ):
        h.start("Jaquez")
        t = Transcript()
        h.iamat("Jaquez", b"leftout", LOCATION, now(), t)
        wait_for(lambda: any(b" leftout " in line for line in campbell.lines()), QUIET_S)
        wait_for(lambda: any(b" leftout " in line for line in clark.lines()), QUIET_S)
        t.append(f"Campbell (fake) received {campbell.lines()!r}")
        t.append(f"Clark (fake) received {clark.lines()!r}")
        return t.evidence(
            any(b" leftout " in line for line in campbell.lines())
            and not any(b" leftout " in line for line in clark.lines()),
            "Jaquez floods the record to Campbell, never to Clark",
        )


@probe
def flood_error_drops_reply(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:  # B is down: nothing listens on its port
        h.start("A")
        t = Transcript()
        reply = h.iamat("A", b"down", LOCATION, now(), t)
        return t.evidence(not reply.startswith(b"AT "), "no AT reply while neighbour B is down")


@probe
def blocking_flood_write(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        h.signal("B", signal.SIGSTOP)  # B's socket buffers fill and stay full
        t = Transcript(["B stopped (SIGSTOP)"])
        with h.connect("A") as sock:
            for count in range(600):  # 600 records of 32 KiB: far more than the socket buffers
                sock.sendall(b"IAMAT %s%d %s %s\n" % (b"b" * 32768, count, LOCATION, now()))
                reply = read_reply(sock, complete=line_done, timeout_s=QUIET_S)
                if not reply.data.startswith(b"AT "):
                    t.append(f"IAMAT number {count} (32 KiB client ID) got {reply.data[:60]!r}")
                    return t.evidence(True, "A stopped answering while B is stopped")
        t.append("600 IAMATs of 32 KiB all answered")
        return t.evidence(False, "A stopped answering while B is stopped")


@probe
def flood_connects_before_reply(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A", "B")
        h.signal("B", signal.SIGSTOP)  # B accepts nothing; its accept queue fills
        t = Transcript(["B stopped (SIGSTOP)"])
        for count in range(400):  # 400 small records: a few KiB, nothing for socket buffers
            reply = h.exchange(
                "A", b"IAMAT q%d %s %s\n" % (count, LOCATION, now()), Transcript(), timeout_s=1
            )
            if not reply.data.startswith(b"AT "):
                t.append(f"IAMAT number {count} ({len(LOCATION) + 40} octets or so) got {reply.data[:60]!r}")
                # Not the first: the replies wait only once B's accept queue is full.
                return t.evidence(count > 10, "A stopped answering, after some records, while B is stopped")
        t.append("400 small IAMATs all answered")
        return t.evidence(False, "A stopped answering, after some records, while B is stopped")


@probe
def fields_read_before_command(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        short = h.exchange("A", b"HELLO\n", t, timeout_s=QUIET_S)
        padded = h.exchange("A", b"HELLO a b c\n", t, timeout_s=QUIET_S)
        # A one-word line gets nothing, the same word with four fields its '?'.
        seen = not short.data and padded.data == b"? HELLO a b c\n"
        return t.evidence(seen, "a line of fewer than four fields gets no reply, whatever its first word")


@probe
def no_reconnect(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h, fake_server(h.ports["B"]) as b:
        h.start("A")
        t = Transcript()
        wait_for(lambda: b.connections >= 1)
        b.drop_connections()
        t.append("B (fake) closed A's link")
        wait_for(lambda: b.connections >= 2, QUIET_S + 1)
        t.append(f"A opened {b.connections} links to B")
        return t.evidence(b.connections < 2, "A does not open the link again")


# ---- WHATSAT and Places ------------------------------------------------------------------


@probe
def integer_degrees_whatsat(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"whole", b"+34-118", now(), t)
        reply = h.whatsat("A", b"whole", b"10", b"1", t)
        return t.evidence(not reply.startswith(b"AT "), "WHATSAT for a +34-118 record gets no reply")


@probe
def signed_zero_rebuilt(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        line = h.iamat("A", b"zero", b"+0.0-0.0", now(), t)
        reply = h.whatsat("A", b"zero", b"10", b"1", t)
        return t.evidence(
            bool(line) and not reply.startswith(line + b"\n"), "WHATSAT does not start with the stored line"
        )


@probe
def blank_line_after_at(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"gap", LOCATION, now(), t)
        reply = h.exchange("A", b"WHATSAT gap 10 1\n", t).data
        return t.evidence(reply.split(b"\n")[1:2] == [b""], "an empty line follows the AT line")


@probe
def whatsat_prefixed(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        stored = h.iamat("A", b"wrapped", LOCATION, now(), t)
        first = h.exchange("A", b"WHATSAT wrapped 10 1\n", t).data.partition(b"\n")[0]
        return t.evidence(
            len(first.split()) == 9 and first.endswith(b" " + stored),
            "the WHATSAT reply's first line is 'AT <server> <time-diff>' and the stored AT line",
        )


@probe
def blank_line_then_bare_array(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"gap", LOCATION, now(), t)
        reply = h.exchange("A", b"WHATSAT gap 10 1\n", t).data
        lines = reply.split(b"\n")
        seen = lines[1:2] == [b""] and lines[2:3] == [b"["]
        return t.evidence(seen, "an empty line follows the AT line, then a bare array")


@probe
def blank_line_then_bare_array_never_closes(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"gap", LOCATION, now(), t)
        reply = h.exchange("A", b"WHATSAT gap 10 1\n", t, timeout_s=QUIET_S)
        lines = reply.data.split(b"\n")
        seen = lines[1:2] == [b""] and lines[2:3] == [b"["] and not reply.closed
        return t.evidence(seen, "an empty line follows the AT line, then a bare array; never closed")


@probe
def blank_lines_in_json(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"spaced", LOCATION, now(), t)
        reply = h.exchange("A", b"WHATSAT spaced 10 3\n", t).data
        return t.evidence(json_of(reply) is None, "the JSON does not end at the first empty line")


@probe
def json_as_dict_repr(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"repr", LOCATION, now(), t)
        reply = h.exchange("A", b"WHATSAT repr 10 3\n", t).data
        return t.evidence(json_of(reply) is None, "the WHATSAT body is no JSON")


@probe
def glued_dict_repr_uncut(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        stored = h.iamat("A", b"repr", LOCATION, now(), t)
        first = h.exchange("A", b"WHATSAT repr 10 1\n", t).data.partition(b"\n")[0]
        body = first.removeprefix(stored)
        places = ast.literal_eval(body.decode())["results"] if body.startswith(b"{'") else []
        t.append(f"places in the Python repr: {len(places)}")
        return t.evidence(
            first.startswith(stored + b"{'") and len(places) > 1,
            "the Python repr glued to the AT line, and more than 1 place for bound 1",
        )


@probe
def json_as_dict_repr_uncut(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"repr", LOCATION, now(), t)
        reply = h.exchange("A", b"WHATSAT repr 10 1\n", t).data
        # Read the way the probe of a str(dict) body must: as a Python literal.
        body = reply.partition(b"\n")[2].strip()
        places = ast.literal_eval(body.decode())["results"] if body.startswith(b"{'") else []
        t.append(f"places in the Python repr: {len(places)}")
        return t.evidence(
            json_of(reply) is None and len(places) > 1, "no JSON, and more than 1 place for bound 1"
        )


def _json_differs(script: Path, directory: Path, client: bytes, bound: int, note: str) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        got, expected = whatsat_json(h, "A", client, bound, t)
        t.append(f"fixture's answer cut to {bound}: {json.dumps(expected)[:300]}")
        return t.evidence(got != expected, note)


@probe
def json_colon_rewritten(script: Path, directory: Path) -> Evidence:
    return _json_differs(script, directory, b"colon", 2, "the JSON is not the fixture's answer")


@probe
def json_keys_dropped(script: Path, directory: Path) -> Evidence:
    return _json_differs(script, directory, b"keys", 2, "the JSON is not the fixture's answer")


@probe
def untruncated_results(script: Path, directory: Path) -> Evidence:
    return _json_differs(script, directory, b"cut", 3, "the JSON is not the fixture's answer cut to 3")


@probe
def bound_compared_with_key_count(script: Path, directory: Path) -> Evidence:
    return _json_differs(script, directory, b"seven", 7, "the JSON is not the fixture's answer cut to 7")


@probe
def fixed_result_count(script: Path, directory: Path) -> Evidence:
    return _json_differs(script, directory, b"five", 2, "the JSON is not the fixture's answer cut to 2")


def _fixture_query(script: Path, directory: Path, client: bytes, t: Transcript) -> dict[str, str]:
    with herd(script, directory) as h:
        h.start("A")
        h.iamat("A", client, LOCATION, now(), t)
        h.whatsat("A", client, b"10", b"1", t)
        requests = h.fixture.requests()
        t.append(f"fixture saw: {[request['raw_query'] for request in requests]}")
        return requests[-1]["query"] if requests else {}


@probe
def location_split_at_last_minus(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"south", b"-34.5-118.25", now(), t)
        h.whatsat("A", b"south", b"10", b"1", t)
        requests = h.fixture.requests()
        t.append(f"fixture saw: {[request['raw_query'] for request in requests]}")
        location = requests[-1]["query"].get("location") if requests else None
        return t.evidence(location == "34.5,-118.25", "-34.5-118.25 went to Places as 34.5,-118.25")


@probe
def radius_in_km(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    query = _fixture_query(script, directory, b"km", t)
    return t.evidence(query.get("radius") == "10", "radius 10 km went to Places as 10")


@probe
def radius_in_km_json_colon_rewritten(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    query = _fixture_query(script, directory, b"kmcolon", t)
    colon = _json_differs(script, directory, b"colon", 2, "the JSON is not the fixture's answer")
    t.extend(colon.transcript)
    return t.evidence(
        query.get("radius") == "10" and colon.seen,
        "radius 10 km went to Places as 10, and the JSON is not the fixture's answer",
    )


@probe
def bound_zero_asks_radius_km(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"kmzero", LOCATION, now(), t)
        answer = h.whatsat("A", b"kmzero", b"10", b"0", t)
        asked = [request["query"].get("radius") for request in h.fixture.requests()]
        t.append(f"fixture saw radius: {asked}")
        body = json_of(answer)
        return t.evidence(
            asked == ["10"] and isinstance(body, dict) and body.get("results") == [],
            "bound 0 asked Places with radius 10 (km), and the reply has no results",
        )


@probe
def negative_latitude_cut(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"south", b"-34.06893+118.44513", now(), t)
        h.whatsat("A", b"south", b"10", b"1", t)
        asked = [request["query"].get("location") for request in h.fixture.requests()]
        t.append(f"fixture saw location: {asked}")
        return t.evidence(asked == ["-34.0689,118.44513"], "Places was asked at -34.0689, not -34.06893")


@probe
def places_location_swapped(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    query = _fixture_query(script, directory, b"swap", t)
    return t.evidence(query.get("location") == "-118.445127,34.068930", "Places was asked at lng,lat")


def _with_fault(script: Path, directory: Path, fault: str, t: Transcript) -> bytes:
    with herd(script, directory) as h:
        h.start("A")
        h.iamat("A", b"fault", LOCATION, now(), t)
        h.fixture.set_fault(fault)
        t.append(f"fixture fault: {fault}")
        return h.whatsat("A", b"fault", b"10", b"1", t)


@probe
def google_text_passed_through(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"spaced", LOCATION, now(), t)
        h.fixture.set_fault("blank_lines")
        t.append("fixture fault: blank_lines")
        reply = h.exchange("A", b"WHATSAT spaced 10 20\n", t).data
        body = reply.partition(b"\n")[2].removesuffix(b"\n\n")
        return t.evidence(b"\n\n" in body, "an empty line inside the JSON of a WHATSAT reply")


@probe
def places_failure_silent(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    replies = [_with_fault(script, directory / fault, fault, t) for fault in ("http_500", "malformed_json")]
    seen = any(not reply.startswith(b"? ") for reply in replies)
    return t.evidence(seen, "a Places failure gets no '?'")


@probe
def places_error_hangs(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"fault", LOCATION, now(), t)
        h.fixture.set_fault("http_500")
        t.append("fixture fault: http_500")
        h.exchange("A", b"WHATSAT fault 10 1\n", t, timeout_s=QUIET_S)
        reply = h.exchange("A", b"IAMAT after " + LOCATION + b" " + now() + b"\n", t, timeout_s=QUIET_S)
        running = h.processes["A"].poll() is None
        t.append(f"server process running: {running}")
        return t.evidence(
            running and not reply.data and not reply.closed,
            "after a Places HTTP 500 the server keeps its port and answers nothing",
        )


@probe
def places_error_status_refused(script: Path, directory: Path) -> Evidence:
    t = Transcript()
    reply = _with_fault(script, directory, "zero_results", t)
    return t.evidence(reply.startswith(b"? "), "a ZERO_RESULTS answer gets '?'")


@probe
def whatsat_silent_after_places(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"silent", LOCATION, now(), t)
        reply = h.whatsat("A", b"silent", b"10", b"5", t)
        requests = h.fixture.requests()
        t.append(f"fixture saw {len(requests)} request(s)")
        return t.evidence(
            reply == b"" and len(requests) == 1, "the WHATSAT asked Places once and got no reply at all"
        )


@probe
def places_latitude_last_char_dropped(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"half", b"+34.5-118.25", now(), t)
        h.whatsat("A", b"half", b"10", b"1", t)
        locations = [request["query"].get("location") for request in h.fixture.requests()]
        t.append(f"fixture saw locations {locations}")
        return t.evidence(
            locations == ["34.,-118.25"], "a record at +34.5-118.25 is asked about at '34.,-118.25'"
        )


@probe
def places_location_fixed_width(script: Path, directory: Path) -> Evidence:
    with herd(script, directory) as h:
        h.start("A")
        t = Transcript()
        h.iamat("A", b"whole", b"+12-100", now(), t)
        h.whatsat("A", b"whole", b"10", b"1", t)
        locations = [request["query"].get("location") for request in h.fixture.requests()]
        t.append(f"fixture saw locations {locations}")
        return t.evidence(locations == ["12-100,"], "a record at +12-100 is asked about at '12-100,'")
