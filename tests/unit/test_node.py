"""HerdNode: one line in, one reaction out (reply, Places look-up, outboxes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herdref.herd.node import HerdNode, PlacesLookup, Reaction, Session

# 2023-11-14T22:13:20.5Z, in nanoseconds.
NOW_NS = 1_700_000_000_500_000_000
KIWI_AT_CLARK = b"AT Clark +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503"


def clark() -> HerdNode:
    return HerdNode("Clark", ["Jaquez", "Bona"], incarnation="c1")


def peer_session(node: HerdNode, neighbour: str, incarnation: bytes = b"n1") -> Session:
    """A connection ``neighbour`` opened to ``node``, greeted, with the catch-up drained."""
    session = Session()
    node.receive(session, b"PEER %s %s" % (neighbour.encode(), incarnation), NOW_NS)
    node.take_outbox(neighbour)
    return session


def drain(node: HerdNode) -> None:
    for neighbour in node.neighbours:
        node.take_outbox(neighbour)


# ---- IAMAT ---------------------------------------------------------------------------------


def test_iamat_is_answered_stored_and_queued_for_every_neighbour() -> None:
    node = clark()
    reaction = node.receive(Session(), b"IAMAT kiwi +34.068930-118.445127 1700000000.25", NOW_NS)
    line = b"AT Clark +0.250000000 kiwi +34.068930-118.445127 1700000000.25"
    assert reaction == Reaction(reply=line + b"\n", flood_to=("Jaquez", "Bona"))
    assert node.table.get(b"kiwi") == line
    assert node.take_outbox("Jaquez") == [line]
    assert node.take_outbox("Bona") == [line]


def test_iamat_from_the_future_gets_a_negative_difference() -> None:
    reaction = clark().receive(Session(), b"IAMAT kiwi +0-0 1700000001.75", NOW_NS)
    assert reaction.reply == b"AT Clark -1.250000000 kiwi +0-0 1700000001.75\n"


def test_iamat_with_an_equal_time_is_answered_but_not_stored_or_flooded() -> None:
    node = clark()
    first = node.receive(Session(), b"IAMAT kiwi +1+1 1700000000.5", NOW_NS)
    drain(node)
    # The same instant written differently is a duplicate (FLOOD-2).
    again = node.receive(Session(), b"IAMAT kiwi +2+2 1700000000.500", NOW_NS + 7)
    assert again.reply == b"AT Clark +0.000000007 kiwi +2+2 1700000000.500\n"
    assert again.flood_to == ()
    assert first.reply is not None
    assert node.table.get(b"kiwi") == first.reply[:-1]
    assert node.pending("Bona") == 0


def test_an_older_iamat_does_not_replace_a_newer_record() -> None:
    node = clark()
    node.receive(Session(), b"IAMAT kiwi +1+1 1700000000", NOW_NS)
    older = node.receive(Session(), b"IAMAT kiwi +2+2 1699999999.999", NOW_NS)
    assert older.reply is not None and older.flood_to == ()
    assert node.table.get(b"kiwi") == b"AT Clark +0.500000000 kiwi +1+1 1700000000"


# ---- AT (floods) ---------------------------------------------------------------------------


def test_a_flood_from_a_neighbour_is_stored_and_never_sent_back() -> None:
    node = clark()
    from_jaquez = peer_session(node, "Jaquez")
    reaction = node.receive(from_jaquez, KIWI_AT_CLARK, NOW_NS)
    assert reaction == Reaction(flood_to=("Bona",))  # FLOOD-3: not back to Jaquez; FLOOD-6: no reply
    assert node.table.get(b"kiwi.cs.ucla.edu") == KIWI_AT_CLARK
    assert node.pending("Jaquez") == 0
    assert node.take_outbox("Bona") == [KIWI_AT_CLARK]


def test_an_at_line_on_a_client_connection_is_a_flood_to_every_neighbour() -> None:
    reaction = clark().receive(Session(), KIWI_AT_CLARK, NOW_NS)
    assert reaction == Reaction(flood_to=("Jaquez", "Bona"))


def test_a_duplicate_flood_stops_here() -> None:
    node = clark()
    node.receive(peer_session(node, "Jaquez"), KIWI_AT_CLARK, NOW_NS)
    drain(node)
    assert node.receive(peer_session(node, "Bona"), KIWI_AT_CLARK, NOW_NS) == Reaction()
    assert [node.pending(neighbour) for neighbour in node.neighbours] == [0, 0]


def test_a_flood_is_relayed_as_the_canonical_single_spaced_line() -> None:
    node = clark()
    node.receive(
        Session(),
        b"  AT\tClark  +0.263873386 kiwi.cs.ucla.edu\v+34.068930-118.445127 1621464827.959498503 ",
        NOW_NS,
    )
    assert node.take_outbox("Bona") == [KIWI_AT_CLARK]  # FLOOD-5
    assert node.table.get(b"kiwi.cs.ucla.edu") == KIWI_AT_CLARK


# ---- WHATSAT -------------------------------------------------------------------------------


def test_whatsat_for_a_known_client_asks_places_about_the_stored_line() -> None:
    node = clark()
    node.receive(Session(), KIWI_AT_CLARK, NOW_NS)
    request = b"WHATSAT kiwi.cs.ucla.edu 10.5 5"
    reaction = node.receive(Session(), request, NOW_NS)
    assert reaction == Reaction(
        lookup=PlacesLookup(KIWI_AT_CLARK, "34.068930", "-118.445127", b"10.5", 5, request)
    )


def test_whatsat_for_an_unknown_client_is_an_error() -> None:
    reaction = clark().receive(Session(), b"WHATSAT nobody 10 5\r", NOW_NS)
    assert reaction == Reaction(reply=b"? WHATSAT nobody 10 5\n", rejected_by="WHATSAT-4")


@pytest.mark.parametrize(
    ("line", "clause"),
    [
        (b"IAMAT kiwi +34-118", "ERR-3"),
        (b"WHATSAT kiwi 51 5", "WHATSAT-2"),
        (b"hello", "ERR-3"),
    ],
)
def test_a_bad_line_is_echoed_with_a_question_mark(line: bytes, clause: str) -> None:
    reaction = clark().receive(Session(), line, NOW_NS)
    assert reaction.reply == b"? " + line + b"\n"
    assert reaction.rejected_by == clause
    assert reaction.flood_to == () and reaction.lookup is None


def test_a_blank_line_gets_nothing() -> None:
    assert clark().receive(Session(), b" \t\r", NOW_NS) == Reaction()


# ---- PEER and catch-up ---------------------------------------------------------------------


def test_the_greeting_names_the_server_and_its_incarnation() -> None:
    assert clark().peer_greeting() == b"PEER Clark c1\n"


def test_a_first_greeting_queues_the_whole_table_for_that_neighbour() -> None:
    node = clark()
    node.receive(Session(), KIWI_AT_CLARK, NOW_NS)
    node.receive(Session(), b"IAMAT apple +1+1 1700000000", NOW_NS)
    drain(node)
    session = Session()
    reaction = node.receive(session, b"PEER Jaquez j1", NOW_NS)
    assert reaction == Reaction(flood_to=("Jaquez",))  # CATCHUP-2
    assert session.peer == "Jaquez"
    assert node.take_outbox("Jaquez") == [KIWI_AT_CLARK, b"AT Clark +0.500000000 apple +1+1 1700000000"]
    assert node.pending("Bona") == 0


def test_a_greeting_from_the_same_incarnation_queues_nothing() -> None:
    node = clark()
    node.receive(Session(), KIWI_AT_CLARK, NOW_NS)
    peer_session(node, "Jaquez", b"j1")
    again = Session()
    assert node.receive(again, b"PEER Jaquez j1", NOW_NS) == Reaction()
    assert again.peer == "Jaquez"
    assert node.pending("Jaquez") == 0


def test_a_new_incarnation_gets_the_table_again() -> None:
    node = clark()
    node.receive(Session(), KIWI_AT_CLARK, NOW_NS)
    peer_session(node, "Jaquez", b"j1")
    # Jaquez restarted and lost its memory (CATCHUP-2).
    assert node.receive(Session(), b"PEER Jaquez j2", NOW_NS) == Reaction(flood_to=("Jaquez",))
    assert node.take_outbox("Jaquez") == [KIWI_AT_CLARK]


def test_a_greeting_with_an_empty_table_wakes_no_link() -> None:
    assert clark().receive(Session(), b"PEER Bona b1", NOW_NS) == Reaction()


@pytest.mark.parametrize("line", [b"PEER Bailey b1", b"PEER Clark c9"])
def test_only_a_neighbour_may_greet(line: bytes) -> None:
    session = Session()
    reaction = clark().receive(session, line, NOW_NS)
    assert reaction == Reaction(reply=b"? " + line + b"\n", rejected_by="PEER-2")
    assert session.peer is None


def test_a_connection_greets_only_once() -> None:
    node = clark()
    session = peer_session(node, "Bona")
    reaction = node.receive(session, b"PEER Jaquez j1", NOW_NS)
    assert reaction.rejected_by == "PEER-2"
    assert session.peer == "Bona"


# ---- outboxes ------------------------------------------------------------------------------


def test_an_outbox_keeps_one_record_per_client() -> None:
    # LINK-5: a neighbour that is down or slow costs one pending record per client.
    node = clark()
    for second in range(5):
        node.receive(Session(), b"IAMAT kiwi +1+1 %d" % (1_700_000_000 + second), NOW_NS)
    node.receive(Session(), b"IAMAT apple +1+1 1700000000", NOW_NS)
    assert node.pending("Bona") == 2
    assert node.take_outbox("Bona") == [
        b"AT Clark -3.500000000 kiwi +1+1 1700000004",
        b"AT Clark +0.500000000 apple +1+1 1700000000",
    ]
    assert node.take_outbox("Bona") == []
    assert node.pending("Bona") == 0


def test_link_up_queues_the_table_over_what_was_waiting() -> None:
    node = clark()
    node.receive(Session(), b"IAMAT kiwi +1+1 1700000000", NOW_NS)
    node.receive(Session(), b"IAMAT apple +1+1 1700000000", NOW_NS)
    assert node.link_up("Jaquez") == ("Jaquez",)  # CATCHUP-1
    assert node.take_outbox("Jaquez") == [
        b"AT Clark +0.500000000 kiwi +1+1 1700000000",
        b"AT Clark +0.500000000 apple +1+1 1700000000",
    ]
    assert node.link_up("Jaquez") == ("Jaquez",)
    assert node.pending("Jaquez") == 2


def test_link_up_with_nothing_to_send_wakes_nothing() -> None:
    assert clark().link_up("Bona") == ()


# ---- AT-2: the time difference, exactly ------------------------------------------------------


def exact_time_diff(received_ns: int, client_time: bytes) -> bytes:
    """AT-2 by rational arithmetic: R - T to the nanosecond, halves toward +infinity."""
    from decimal import Decimal
    from fractions import Fraction

    difference = Fraction(received_ns, 10**9) - Fraction(Decimal(client_time.decode("ascii")))
    nanoseconds = (difference * 10**9 + Fraction(1, 2)).__floor__()
    return (b"-" if nanoseconds < 0 else b"+") + b"%d.%09d" % divmod(abs(nanoseconds), 10**9)


@given(
    received_ns=st.integers(min_value=0, max_value=10**20),
    whole=st.from_regex(rb"[0-9]{1,25}", fullmatch=True),
    fraction=st.one_of(
        st.just(b""),
        st.from_regex(rb"\.[0-9]{1,30}", fullmatch=True),
        st.builds(
            lambda digits, zeros: b"." + digits + b"5" + b"0" * zeros,
            st.from_regex(rb"[0-9]{9}", fullmatch=True),
            st.integers(0, 12),
        ),
    ),
)
def test_the_iamat_reply_carries_the_exact_time_difference(
    received_ns: int, whole: bytes, fraction: bytes
) -> None:
    # The integer arithmetic of the IAMAT path agrees with exact rational arithmetic for any
    # digit count, halves (ten or more decimals ending in 5) rounding toward +infinity.
    client_time = whole + fraction
    reaction = clark().receive(Session(), b"IAMAT kiwi +1+2 " + client_time, received_ns)
    assert reaction.reply is not None
    assert reaction.reply.split(b" ")[2] == exact_time_diff(received_ns, client_time)


def test_a_client_time_of_thousands_of_digits_is_still_exact() -> None:
    # Past the integer path (int() refuses more than 4300 digits) the exact decimal path answers.
    client_time = b"1" * 5000 + b".25"
    reaction = clark().receive(Session(), b"IAMAT kiwi +1+2 " + client_time, NOW_NS)
    assert reaction.reply is not None
    difference = reaction.reply.split(b" ")[2]
    assert difference.startswith(b"-" + b"1" * 4980) and difference.endswith(b".750000000")
