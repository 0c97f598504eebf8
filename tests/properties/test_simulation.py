"""The simulation tier: herd properties over many in-process nodes, every interleaving chosen
by Hypothesis.

A state machine drives ``herdref.checker.simulation.Simulation`` (clients, deliveries, cut and healed
links, crashes and restarts; both link modes; links that act at once or lazily) and tells
``herdref.model.HerdModel`` what an outside observer would see. After every step it checks
monotonicity (STATE-1), no leakage (FLOOD-4), that each server holds what it must (STATE-1),
duplicate suppression (FLOOD-2) and that peers never get replies (FLOOD-6); whenever nothing
is in flight, convergence (CATCHUP-1) and the flooding bound (FLOOD-3). Replies are checked as
they come (AT-1, AT-2, WHATSAT-4..6).

The same machine runs against nodes with planted bugs (``broken_nodes.py``) and must fail each
with the right clause. A failure prints its steps (``state = DefaultHerd()``,
``state.iamat(...)``, ...); paste them into a regression test at the end of this file.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from herdref.checker.simulation import NodeFactory, Simulation
from herdref.herd.node import HerdNode
from herdref.model import (
    ConnectionLog,
    HerdModel,
    Violation,
    check_agreement,
    check_convergence,
    check_duplicates,
    check_efficiency,
    check_iamat_reply,
    check_known,
    check_monotonicity,
    check_no_leakage,
    check_whatsat_reply,
    flooding_bound,
)

from .broken_nodes import PLANTED_BUGS, NoCatchUpNode, PlantedBug

pytestmark = pytest.mark.properties

DEFAULT_SERVERS = ("Bailey", "Bona", "Campbell", "Clark", "Jaquez")
DEFAULT_LINKS = (
    ("Clark", "Jaquez"),
    ("Clark", "Bona"),
    ("Campbell", "Bailey"),
    ("Campbell", "Bona"),
    ("Campbell", "Jaquez"),
    ("Bona", "Bailey"),
)
GENERATED_POOL = tuple(f"S{index}" for index in range(8))
CLIENT_IDS = (b"kiwi.cs.ucla.edu", b"apple", b"\xff\xfe-not-utf-8", b"x")
LOCATIONS = (b"+34.068930-118.445127", b"-33.8688+151.2093", b"+0-0")
RADII = (b"0.5", b"10", b"50")
#: The first client time of each client, in milliseconds.
BASE_MS = 1_699_999_990_000
#: A runaway flood (a node with no duplicate check) is cut off after this many deliveries.
MAX_DELIVERIES = 3_000

Topology = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]


class HerdFailure(AssertionError):
    """The herd broke at least one property; ``clauses`` says which."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        self.clauses = frozenset(violation.clause for violation in violations)
        super().__init__("\n".join(str(violation) for violation in violations))


@st.composite
def generated_topologies(draw: st.DrawFn) -> Topology:
    """2 to 8 servers; half the time a random spanning tree plus extra links, otherwise any
    set of links (often disconnected, sometimes none)."""
    count = draw(st.integers(2, 8))
    servers = GENERATED_POOL[:count]
    pairs = list(itertools.combinations(servers, 2))
    links: set[tuple[str, str]] = set()
    if draw(st.booleans()):
        for index in range(1, count):
            links.add((servers[draw(st.integers(0, index - 1))], servers[index]))
    links.update(draw(st.lists(st.sampled_from(pairs), max_size=len(pairs), unique=True)))
    return servers, tuple(sorted(links))


def format_client_time(milliseconds: int, digits: int) -> bytes:
    """``S``, ``S.mmm`` or ``S.mmm000000``: one instant, several spellings (FLOOD-2 compares
    values, not strings)."""
    seconds, millis = divmod(milliseconds, 1000)
    if digits == 0 and millis == 0:
        return b"%d" % seconds
    return b"%d.%03d" % (seconds, millis) + b"0" * max(digits - 3, 0)


def herd_machine(
    name: str,
    *,
    pool: tuple[str, ...],
    topologies: st.SearchStrategy[Topology],
    modes: tuple[str, ...] = ("persistent", "ephemeral"),
    node_factory: NodeFactory = HerdNode,
    catch_up: bool = True,
) -> type[RuleBasedStateMachine]:
    """A state machine class over the herds ``topologies`` draws; rules name servers from
    ``pool`` (a name outside the drawn herd stands for the server at its index, modulo)."""

    class HerdMachine(RuleBasedStateMachine):
        clients = Bundle("clients")

        def __init__(self) -> None:
            super().__init__()
            self.sim: Simulation | None = None

        # ---- set-up ----------------------------------------------------------------------

        @initialize(topology=topologies, mode=st.sampled_from(modes), lazy_links=st.booleans())
        def start(self, topology: Topology, mode: str, lazy_links: bool = False) -> None:
            servers, links = topology
            self.sim = Simulation(
                servers,
                links,
                mode=mode,  # type: ignore[arg-type]
                node_factory=node_factory,
                lazy_links=lazy_links,
            )
            self.model = HerdModel(servers, links, catch_up=catch_up)
            self.previous = self.model.snapshot(self.sim.tables(), complete=True)
            self.newest_ms: dict[bytes, int] = {}
            #: AT lines a server stored when created: the catch-up count and epoch then.
            self.flooded: dict[bytes, tuple[int, int]] = {}
            self.check(self.settle())

        def server(self, name: str) -> str:
            assert self.sim is not None
            servers = self.sim.servers
            return name if name in servers else servers[pool.index(name) % len(servers)]

        # ---- clients ---------------------------------------------------------------------

        @initialize(target=clients, client_id=st.sampled_from(CLIENT_IDS))
        def first_client(self, client_id: bytes) -> bytes:
            return client_id

        @rule(target=clients, client_id=st.sampled_from(CLIENT_IDS))
        def new_client(self, client_id: bytes) -> bytes:
            return client_id

        @rule(
            server=st.sampled_from(pool),
            client=clients,
            when=st.sampled_from(("newer", "same", "older")),
            digits=st.sampled_from((0, 3, 9)),
            location=st.sampled_from(LOCATIONS),
        )
        def iamat(self, server: str, client: bytes, when: str, digits: int, location: bytes) -> None:
            assert self.sim is not None
            server = self.server(server)
            if not self.sim.alive(server):
                return
            newest = self.newest_ms.get(client, BASE_MS)
            milliseconds = {"newer": newest + 1000, "same": newest, "older": newest - 1500}[when]
            self.newest_ms[client] = max(newest, milliseconds)
            client_time = format_client_time(milliseconds, digits)
            reply = self.sim.iamat(server, client, location, client_time) or b""
            received = self.sim.now_ns
            violations = check_iamat_reply(
                server, client, location, client_time, reply, received_ns=(received, received)
            )
            if violations:
                raise HerdFailure(violations)
            line = reply[:-1]
            self.model.create(server, client, client_time, line)
            if self.sim.tables()[server].get(client) == line:
                self.flooded[line] = (self.sim.catch_ups, self.model.epoch)

        @rule(
            server=st.sampled_from(pool),
            client=clients,
            radius=st.sampled_from(RADII),
            bound=st.sampled_from((0, 1, 5, 20)),
        )
        def whatsat(self, server: str, client: bytes, radius: bytes, bound: int) -> None:
            assert self.sim is not None
            server = self.server(server)
            if not self.sim.alive(server):
                return
            held = self.sim.tables()[server].get(client)
            request = b"WHATSAT %s %s %d" % (client, radius, bound)
            reply = self.sim.send(server, request) or b""
            stored = [held] if held is not None else []
            violations = check_whatsat_reply(request, bound, reply, stored=stored)
            if violations:
                raise HerdFailure(violations)

        # ---- the network -----------------------------------------------------------------

        @precondition(lambda self: self.sim is not None and not self.sim.is_quiet())
        @rule(choice=st.integers(0, 63))
        def deliver(self, choice: int) -> None:
            assert self.sim is not None
            self.sim.deliver(choice % len(self.sim.pending()))

        @precondition(lambda self: self.sim is not None and not self.sim.is_quiet())
        @rule(order=st.sampled_from(("oldest first", "newest first", "shuffled")), seed=st.integers(0, 3))
        def run_until_quiet(self, order: str, seed: int) -> None:
            assert self.sim is not None
            chooser = random.Random(seed)
            choose = {
                "oldest first": lambda count: 0,
                "newest first": lambda count: count - 1,
                "shuffled": chooser.randrange,
            }[order]
            for _ in range(MAX_DELIVERIES):
                pending = len(self.sim.pending())
                if not pending:
                    break
                self.sim.deliver(choose(pending))
                # A record flooding for ever must be caught where it first breaks a property.
                snapshot = self.model.snapshot(self.sim.tables(), complete=True)
                self.check(check_monotonicity(self.model, self.previous, snapshot))
                self.check(check_no_leakage(self.model, snapshot))
                self.previous = snapshot
            if not self.sim.is_quiet():
                violations = check_duplicates(self.sim.connection_logs())
                violations.append(
                    Violation("FLOOD-2", f"the herd still floods after {MAX_DELIVERIES} deliveries")
                )
                raise HerdFailure(violations)

        @precondition(lambda self: self.sim is not None and len(self.sim.cut_links) < len(self.sim.links))
        @rule(link=st.integers(0, 27))
        def cut(self, link: int) -> None:
            assert self.sim is not None
            working = [pair for pair in self.sim.links if pair not in self.sim.cut_links]
            a, b = working[link % len(working)]
            self.sim.cut(a, b)
            self.model.cut(a, b)

        @precondition(lambda self: self.sim is not None and bool(self.sim.cut_links))
        @rule(link=st.integers(0, 27))
        def heal(self, link: int) -> None:
            assert self.sim is not None
            broken = sorted(self.sim.cut_links)
            a, b = broken[link % len(broken)]
            self.sim.heal(a, b)
            self.model.heal(a, b)

        @rule(server=st.sampled_from(pool))
        def crash(self, server: str) -> None:
            assert self.sim is not None
            server = self.server(server)
            if self.sim.alive(server):
                self.sim.crash(server)
                self.model.crash(server)

        @rule(server=st.sampled_from(pool))
        def restart(self, server: str) -> None:
            assert self.sim is not None
            server = self.server(server)
            if not self.sim.alive(server):
                self.sim.restart(server)
                self.model.restart(server)

        @rule(
            down=st.sampled_from(pool),
            server=st.sampled_from(pool),
            client=clients,
            location=st.sampled_from(LOCATIONS),
        )
        def iamat_while_down(self, down: str, server: str, client: bytes, location: bytes) -> None:
            """A record made while a server is down, spread to all the others, then the server
            back and the herd quiet: the one sequence the catch-up extension (CATCHUP-1) is
            about, drawn as one step; as separate steps it comes up in too few examples."""
            assert self.sim is not None
            down, server = self.server(down), self.server(server)
            if down == server or not (self.sim.alive(down) and self.sim.alive(server)):
                return
            self.crash(down)
            self.iamat(server, client, "newer", 3, location)
            if not self.sim.is_quiet():
                self.run_until_quiet("oldest first", 0)
            self.restart(down)
            # Quiet again, so that the step's invariant judges convergence right after it.
            if not self.sim.is_quiet():
                self.run_until_quiet("oldest first", 0)

        # ---- properties ------------------------------------------------------------------

        def settle(self) -> list[Violation]:
            """The properties of the state after a step (convergence only when quiet)."""
            assert self.sim is not None
            sim, model = self.sim, self.model
            snapshot = model.snapshot(sim.tables(), complete=True)
            violations = check_monotonicity(model, self.previous, snapshot)
            violations += check_no_leakage(model, snapshot)
            violations += check_known(model, snapshot)
            violations += check_duplicates(sim.connection_logs())
            violations += [
                Violation("FLOOD-6", f"{receiver} answered {sender}'s link with {reply!r}")
                for sender, receiver, reply in sim.peer_replies
            ]
            self.previous = snapshot
            if sim.is_quiet():
                model.quiet()
                violations += check_convergence(model, snapshot)
                undisturbed = [
                    line
                    for line, (catch_ups, epoch) in self.flooded.items()
                    if catch_ups == sim.catch_ups and epoch == model.epoch
                ]
                violations += check_efficiency(model, sim.sends, undisturbed)
                if currently_in_test_context():
                    self.record_statistics(model, bool(undisturbed))
            return violations

        def record_statistics(self, model: HerdModel, efficiency_checked: bool) -> None:
            """Events for --hypothesis-show-statistics: the checks had work to do."""
            owed = sum(
                model.must_record(server, client_id) is not None
                for server in model.servers
                if model.alive[server]
                for client_id in model.client_ids()
            )
            event("quiet: records owed", "none" if not owed else "1-4" if owed < 5 else "5 or more")
            if any(model.lives.values()):
                event("quiet after a crash")
            if efficiency_checked:
                event("flooding cost checked")

        def check(self, violations: list[Violation]) -> None:
            if violations:
                raise HerdFailure(violations)

        @invariant()
        def herd_properties_hold(self) -> None:
            if self.sim is not None:
                self.check(self.settle())

    HerdMachine.__name__ = HerdMachine.__qualname__ = name
    return HerdMachine


DEFAULT_TOPOLOGY: Topology = (DEFAULT_SERVERS, DEFAULT_LINKS)

DefaultHerd = herd_machine("DefaultHerd", pool=DEFAULT_SERVERS, topologies=st.just(DEFAULT_TOPOLOGY))
GeneratedHerd = herd_machine("GeneratedHerd", pool=GENERATED_POOL, topologies=generated_topologies())

#: The state machines get five times the profile's examples: they are the heart of the tier
#: (about 10 s each in the ci profile).
MACHINE_SETTINGS = settings(settings.default, max_examples=5 * settings.default.max_examples)
TestDefaultHerd = DefaultHerd.TestCase
TestDefaultHerd.settings = MACHINE_SETTINGS
TestGeneratedHerd = GeneratedHerd.TestCase
TestGeneratedHerd.settings = MACHINE_SETTINGS

# The plain-spec model is what ``herdref validate`` judges other herds by: the reference herd
# must pass it too, or the checker would blame correct herds.
PlainGeneratedHerd = herd_machine(
    "PlainGeneratedHerd", pool=GENERATED_POOL, topologies=generated_topologies(), catch_up=False
)
TestPlainGeneratedHerd = PlainGeneratedHerd.TestCase
TestPlainGeneratedHerd.settings = settings(settings.default, max_examples=2 * settings.default.max_examples)


# ---- flooding cost ---------------------------------------------------------------------------


def test_flooding_bound_of_the_default_herd() -> None:
    # Degrees 2 + 3 + 3 + 2 + 2 = 12, minus the four servers that first hear it from someone.
    assert flooding_bound(DEFAULT_SERVERS, DEFAULT_LINKS) == 8
    assert flooding_bound(("A", "B", "C"), [("A", "B")], origin="C") == 0
    assert flooding_bound(("A", "B", "C"), [("A", "B")], origin="A") == 1
    with pytest.raises(ValueError, match="not connected"):
        flooding_bound(("A", "B", "C"), [("A", "B")])


@pytest.mark.parametrize("mode", ["persistent", "ephemeral"])
@pytest.mark.parametrize("origin", DEFAULT_SERVERS)
def test_messages_per_update_on_the_default_herd_equal_the_bound(origin: str, mode: str) -> None:
    sim = Simulation(DEFAULT_SERVERS, DEFAULT_LINKS, mode=mode)
    sim.run_until_quiet()
    reply = sim.iamat(origin, b"kiwi.cs.ucla.edu", LOCATIONS[0], b"1700000000.5")
    assert reply is not None
    sim.run_until_quiet()
    assert sim.is_quiet()
    bound = flooding_bound(DEFAULT_SERVERS, DEFAULT_LINKS, origin=origin)
    assert sim.sends[reply[:-1]] == bound
    assert all(table[b"kiwi.cs.ucla.edu"] == reply[:-1] for table in sim.tables().values())


@pytest.mark.parametrize("lazy_links", [False, True])
@pytest.mark.parametrize("mode", ["persistent", "ephemeral"])
def test_a_restarted_server_catches_up_without_new_iamats(mode: str, lazy_links: bool) -> None:
    sim = Simulation(DEFAULT_SERVERS, DEFAULT_LINKS, mode=mode, lazy_links=lazy_links)  # type: ignore[arg-type]
    sim.run_until_quiet()
    replies = [
        sim.iamat(server, b"c-" + server.encode(), LOCATIONS[0], b"1700000000") for server in DEFAULT_SERVERS
    ]
    sim.run_until_quiet()
    sim.crash("Bona")
    sim.cut("Clark", "Jaquez")  # Clark now hangs off Bona alone
    sim.restart("Bona")
    sim.run_until_quiet()
    assert sim.is_quiet()
    everything = {reply[:-1].split(b" ")[3]: reply[:-1] for reply in replies if reply is not None}
    assert len(everything) == len(DEFAULT_SERVERS)
    assert sim.tables() == dict.fromkeys(DEFAULT_SERVERS, everything)  # CATCHUP-1/2


# ---- replay ------------------------------------------------------------------------------


def random_walk(seed: int, steps: int, *, mode: str = "persistent", lazy_links: bool = False) -> Simulation:
    """Drive the default herd with ``random.Random(seed)``: IAMATs, WHATSATs, deliveries,
    cuts, heals, crashes and restarts."""
    rng = random.Random(seed)
    sim = Simulation(DEFAULT_SERVERS, DEFAULT_LINKS, mode=mode, lazy_links=lazy_links)  # type: ignore[arg-type]
    clock_ms = dict.fromkeys(CLIENT_IDS, BASE_MS)
    for _ in range(steps):
        roll = rng.random()
        server = rng.choice(DEFAULT_SERVERS)
        client = rng.choice(CLIENT_IDS)
        if roll < 0.6 and not sim.is_quiet():
            sim.deliver(rng.randrange(len(sim.pending())))
        elif roll < 0.75 and sim.alive(server):
            clock_ms[client] += rng.choice((-1000, 0, 1000, 2000))
            sim.iamat(server, client, rng.choice(LOCATIONS), format_client_time(clock_ms[client], 3))
        elif roll < 0.8 and sim.alive(server):
            sim.whatsat(server, client, rng.choice(RADII), rng.choice((0, 3)))
        elif roll < 0.9:
            a, b = rng.choice(DEFAULT_LINKS)
            (sim.heal if (min(a, b), max(a, b)) in sim.cut_links else sim.cut)(a, b)
        elif sim.alive(server):
            sim.crash(server)
        else:
            sim.restart(server)
    return sim


@pytest.mark.parametrize("lazy_links", [False, True])
@pytest.mark.parametrize("mode", ["persistent", "ephemeral"])
def test_a_seed_replays_exactly(mode: str, lazy_links: bool) -> None:
    first, again, other = (random_walk(seed, 2_000, mode=mode, lazy_links=lazy_links) for seed in (7, 7, 8))
    assert first.trace == again.trace
    assert first.tables() == again.tables()
    assert first.sends == again.sends
    assert first.trace != other.trace


# ---- the suite catches planted bugs -------------------------------------------------------

PLANTED_BUG_SETTINGS = settings(
    max_examples=300,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,  # each bug must be caught on every run, not on a lucky one
    database=None,
    phases=[Phase.generate],  # the failing steps are printed unshrunk: catching is the point
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
)


def machine_for(bug: PlantedBug, *, catch_up: bool = True) -> type[RuleBasedStateMachine]:
    topology = bug.topology or DEFAULT_TOPOLOGY
    pool, topologies = topology[0], st.just(topology)
    return herd_machine(
        "Broken" + "".join(word.capitalize() for word in bug.name.replace("-", " ").split()),
        pool=pool,
        topologies=topologies,
        modes=(bug.mode,),
        node_factory=bug.node_factory,
        catch_up=catch_up,
    )


@pytest.mark.parametrize("bug", PLANTED_BUGS, ids=[bug.name for bug in PLANTED_BUGS])
def test_the_suite_catches_a_planted_bug(bug: PlantedBug) -> None:
    with pytest.raises(HerdFailure) as caught:
        run_state_machine_as_test(machine_for(bug), settings=PLANTED_BUG_SETTINGS)
    assert bug.clause in caught.value.clauses, str(caught.value)


def test_the_plain_spec_does_not_require_catch_up() -> None:
    # The plain-spec model owes nothing to a server that joins or returns later, so a herd
    # with no catch-up passes it (while failing CATCHUP-1 above).
    bug = PlantedBug("no catch-up on reconnect", NoCatchUpNode, "CATCHUP-1")
    run_state_machine_as_test(
        machine_for(bug, catch_up=False), settings=settings(PLANTED_BUG_SETTINGS, max_examples=100)
    )


# ---- the model's own judgements, on hand-made observations ---------------------------------

LINE_T1 = b"AT Clark +0.5 kiwi +1+1 1.5"
LINE_T1_AGAIN = b"AT Bona +0.7 kiwi +1+1 1.50"  # the same instant (FLOOD-2)
LINE_T2 = b"AT Bona +0.5 kiwi +1+1 2"


def chain_model(*, catch_up: bool = True) -> HerdModel:
    """A - B - C, a record of kiwi created at A at 1.5."""
    model = HerdModel(("A", "B", "C"), [("A", "B"), ("B", "C")], catch_up=catch_up)
    model.create("A", b"kiwi", b"1.5", LINE_T1)
    return model


def clauses(violations: Sequence[Violation]) -> list[str]:
    return [violation.clause for violation in violations]


def test_model_a_record_behind_a_cut_link_has_leaked() -> None:
    model = HerdModel(("A", "B", "C"), [("A", "B"), ("B", "C")])
    model.cut("B", "C")
    model.create("A", b"kiwi", b"1.5", LINE_T1)
    held = model.snapshot({"A": {b"kiwi": LINE_T1}, "B": {b"kiwi": LINE_T1}, "C": {b"kiwi": LINE_T1}})
    assert clauses(check_no_leakage(model, held)) == ["FLOOD-4"]
    model.heal("B", "C")
    assert check_no_leakage(model, held) == []
    assert clauses(check_no_leakage(model, model.snapshot({"C": {b"kiwi": b"AT X +0 kiwi +1+1 9"}}))) == [
        "FLOOD-4"
    ]


def test_model_a_crash_forgets_and_starts_a_new_life() -> None:
    model = chain_model()
    before = model.snapshot({"C": {b"kiwi": LINE_T1}})
    model.crash("C")
    model.restart("C")
    after = model.snapshot({"C": {b"kiwi": None}})
    assert check_monotonicity(model, before, after) == []  # a new life may start empty
    assert check_no_leakage(model, model.snapshot({"C": {b"kiwi": LINE_T1}})) == []  # B can resend it
    same_life = model.snapshot({"C": {b"kiwi": None}})
    held_again = model.snapshot({"C": {b"kiwi": LINE_T1}})
    assert clauses(check_monotonicity(model, held_again, same_life)) == ["STATE-1"]


def test_model_an_equal_client_time_is_not_older() -> None:
    model = chain_model()
    model.create("B", b"kiwi", b"1.50", LINE_T1_AGAIN)
    first = model.snapshot({"B": {b"kiwi": LINE_T1}})
    assert check_monotonicity(model, first, model.snapshot({"B": {b"kiwi": LINE_T1_AGAIN}})) == []
    model.create("B", b"kiwi", b"2", LINE_T2)
    newer = model.snapshot({"B": {b"kiwi": LINE_T2}})
    assert clauses(check_monotonicity(model, newer, first)) == ["STATE-1"]


def test_model_the_origin_must_hold_its_record_at_once() -> None:
    model = chain_model()
    assert clauses(check_known(model, model.snapshot({"A": {b"kiwi": None}}))) == ["STATE-1"]
    assert check_known(model, model.snapshot({"A": {}}, complete=False)) == []  # not observed
    assert clauses(check_known(model, model.snapshot({"A": {}}, complete=True))) == ["STATE-1"]


def test_model_an_origin_keeping_an_older_record_breaks_flood_2_not_flood_1() -> None:
    model = chain_model()
    model.quiet()
    model.create("A", b"kiwi", b"2", LINE_T2)
    kept = model.snapshot({"A": {b"kiwi": LINE_T1}})
    assert clauses(check_known(model, kept)) == ["FLOOD-2"]
    assert clauses(check_convergence(model, kept)) == ["FLOOD-2"]


def test_model_catch_up_owes_old_records_to_a_restarted_server() -> None:
    model = chain_model(catch_up=True)
    model.quiet()
    model.crash("C")
    model.restart("C")
    model.quiet()
    empty_c = model.snapshot({"A": {b"kiwi": LINE_T1}, "B": {b"kiwi": LINE_T1}, "C": {}}, complete=True)
    assert sorted(set(clauses(check_convergence(model, empty_c)))) == ["CATCHUP-1"]
    plain = chain_model(catch_up=False)
    plain.quiet()
    plain.crash("C")
    plain.restart("C")
    plain.quiet()
    assert check_convergence(plain, plain.snapshot(empty_c.tables, complete=True)) == []


def test_model_plain_spec_owes_a_fresh_record_to_its_component() -> None:
    model = chain_model(catch_up=False)
    model.quiet()
    only_a = model.snapshot({"A": {b"kiwi": LINE_T1}, "B": {}, "C": {}}, complete=True)
    assert clauses(check_convergence(model, only_a)) == ["FLOOD-1", "FLOOD-1"]


def test_model_a_quiet_component_must_agree() -> None:
    model = HerdModel(("A", "B"), [("A", "B")])
    model.create("A", b"kiwi", b"1.5", LINE_T1)
    model.create("B", b"kiwi", b"1.50", LINE_T1_AGAIN)
    model.quiet()
    agreeing = model.snapshot({"A": {b"kiwi": LINE_T1}, "B": {b"kiwi": LINE_T1_AGAIN}}, complete=True)
    assert check_agreement(model, agreeing) == []  # equal client times: each keeps its first
    model.create("B", b"kiwi", b"2", LINE_T2)
    model.quiet()
    split = model.snapshot({"A": {b"kiwi": LINE_T1}, "B": {b"kiwi": LINE_T2}}, complete=True)
    assert "CATCHUP-1" in clauses(check_convergence(model, split))


def test_model_duplicates_count_per_connection_and_catch_up() -> None:
    ok = ConnectionLog("A", "B", 1, [[LINE_T1, LINE_T2], [LINE_T1, LINE_T2]])
    twice = ConnectionLog("A", "B", 2, [[LINE_T1, LINE_T2, LINE_T1]])
    assert check_duplicates([ok]) == []
    assert clauses(check_duplicates([ok, twice])) == ["FLOOD-2"]


def test_model_flooding_cost_is_judged_against_the_topology_of_creation() -> None:
    model = chain_model()  # A - B - C: bound 2
    assert model.records[LINE_T1].bound == 2
    assert check_efficiency(model, {LINE_T1: 2}, [LINE_T1]) == []
    assert clauses(check_efficiency(model, {LINE_T1: 3}, [LINE_T1])) == ["FLOOD-3"]


@pytest.mark.parametrize(
    ("client_time", "received_ns", "difference"),
    [
        (b"1.5", 2_000_000_000, b"+0.500000000"),
        (b"2", 2_000_000_000, b"+0.000000000"),
        (b"2.0000000005", 2_000_000_000, b"+0.000000000"),  # -0.5 ns rounds up to zero
        (b"2.0000000015", 2_000_000_000, b"-0.000000001"),  # -1.5 ns rounds up to -1 ns
        (b"3.25", 2_000_000_000, b"-1.250000000"),
    ],
)
def test_model_iamat_reply_difference(client_time: bytes, received_ns: int, difference: bytes) -> None:
    reply = b"AT A %s kiwi +1+1 %s\n" % (difference, client_time)
    assert (
        check_iamat_reply("A", b"kiwi", b"+1+1", client_time, reply, received_ns=(received_ns, received_ns))
        == []
    )
    wrong_sign = (b"-" if difference.startswith(b"+") else b"+") + difference[1:]
    bad = b"AT A %s kiwi +1+1 %s\n" % (wrong_sign, client_time)
    assert clauses(
        check_iamat_reply("A", b"kiwi", b"+1+1", client_time, bad, received_ns=(received_ns, received_ns))
    ) == ["AT-2"]


def test_model_iamat_reply_must_echo_the_client() -> None:
    reply = b"AT A +0.000000000 kiwi +1.0+1 2\n"
    assert clauses(check_iamat_reply("A", b"kiwi", b"+1+1", b"2", reply, received_ns=(2 * 10**9,) * 2)) == [
        "AT-1"
    ]


@pytest.mark.parametrize("difference", [b"--0.500000000", b"+5e-01", b"0.5"])
def test_model_names_a_time_difference_that_is_no_number_at_2_not_at_1(difference: bytes) -> None:
    # Every echo right, only the difference malformed ('-' + str(diff): two student herds):
    # the skew check names it AT-2, and the stateful run must see the same defect.
    reply = b"AT A %s kiwi +1+1 1.5\n" % difference
    assert clauses(check_iamat_reply("A", b"kiwi", b"+1+1", b"1.5", reply, received_ns=(2 * 10**9,) * 2)) == [
        "AT-2"
    ]


def test_a_relayed_time_reprinted_smaller_is_a_changed_copy_not_an_older_record() -> None:
    model = HerdModel(("A", "B"), [("A", "B")])
    model.create("A", b"kiwi", b"1796319437.185589075", b"AT A +0.1 kiwi +1+1 1796319437.185589075")
    reprinted = b"AT A +0.1 kiwi +1+1 1796319437.185589"
    model.quiet()
    snapshot = model.snapshot({"B": {b"kiwi": reprinted}})
    assert clauses(check_no_leakage(model, snapshot)) == ["FLOOD-5"]
    assert check_known(model, snapshot) == []


def test_model_whatsat_replies() -> None:
    request = b"WHATSAT kiwi 10 1"
    body = b'{\n "results" : [\n  1\n ]\n}'
    good = LINE_T1 + b"\n" + body + b"\n\n"
    assert check_whatsat_reply(request, 1, good, stored=[LINE_T1]) == []
    assert clauses(check_whatsat_reply(request, 0, good, stored=[LINE_T1])) == ["WHATSAT-7"]
    assert clauses(check_whatsat_reply(request, 1, good, stored=[LINE_T2])) == ["WHATSAT-5"]
    assert clauses(check_whatsat_reply(request, 1, good.replace(b" 1\n", b" 1\n\n"), stored=[LINE_T1])) == [
        "WHATSAT-6"
    ]
    unknown = b"? " + request + b"\n"
    assert check_whatsat_reply(request, 1, unknown, stored=[]) == []
    assert check_whatsat_reply(request, 1, unknown, stored=[LINE_T1], may_be_unknown=True) == []
    assert clauses(check_whatsat_reply(request, 1, unknown, stored=[LINE_T1])) == ["WHATSAT-5"]
    assert clauses(check_whatsat_reply(request, 1, good, stored=[])) == ["WHATSAT-4"]
    # A '?' where one may come that does not copy the request: the copy is wrong (ERR-1).
    literal = b"? {message}\n"
    assert clauses(check_whatsat_reply(request, 1, literal, stored=[])) == ["ERR-1"]
    assert clauses(check_whatsat_reply(request, 1, literal, stored=[LINE_T1], may_be_unknown=True)) == [
        "ERR-1"
    ]
    assert clauses(check_whatsat_reply(request, 1, literal, stored=[LINE_T1])) == ["WHATSAT-5"]


# ---- regressions: failing step sequences the suite found, pasted back ----------------------

PlainHerdWithoutCatchUp = herd_machine(
    "PlainHerdWithoutCatchUp",
    pool=DEFAULT_SERVERS,
    topologies=st.just(DEFAULT_TOPOLOGY),
    node_factory=NoCatchUpNode,
    catch_up=False,
)


def test_regression_a_duplicate_iamat_is_owed_to_nobody() -> None:
    # Found by test_the_plain_spec_does_not_require_catch_up: an IAMAT whose client time equals the record its
    # origin holds is a duplicate (FLOOD-2), stored and flooded nowhere, so the model must not
    # require the rest of the component to hold it (Bona restarted after the first record).
    state = PlainHerdWithoutCatchUp()
    clients_0 = state.first_client(client_id=b"kiwi.cs.ucla.edu")
    state.start(topology=DEFAULT_TOPOLOGY, mode="persistent")
    state.herd_properties_hold()
    state.crash(server="Campbell")
    state.herd_properties_hold()
    state.iamat(client=clients_0, digits=0, location=LOCATIONS[0], server="Bailey", when="newer")
    state.herd_properties_hold()
    state.crash(server="Bona")
    state.herd_properties_hold()
    state.restart(server="Bona")
    state.herd_properties_hold()
    state.run_until_quiet(order="oldest first", seed=0)
    state.herd_properties_hold()
    state.iamat(client=clients_0, digits=0, location=LOCATIONS[0], server="Bailey", when="same")
    state.herd_properties_hold()
    # Bona, restarted, never learnt the first record: the plain spec allows that (STATE-2).
    assert b"kiwi.cs.ucla.edu" not in state.sim.tables()["Bona"]
    state.teardown()
