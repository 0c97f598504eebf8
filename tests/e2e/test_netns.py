"""A herd across hosts: each server in its own network namespace with its own address, links
cut (veth down), blackholed (100% loss, the link stays up), healed and slowed down, and the
herd judged after each step by :mod:`herdref.model` (convergence within a component, no record
where no working path could have carried it).

Needs root, iproute2 and network-namespace support; skips with the reason otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from herdref.model import HerdModel, check_convergence, check_no_leakage

from .herd_harness import LINKS_OF_DEFAULT_HERD, wait_until
from .netns import NetnsError, NetnsHerd, NetnsNetwork, netns_unavailable_reason

NAMES = ["Bailey", "Bona", "Campbell", "Clark", "Jaquez"]
#: Generous: after 100% loss ends, TCP retransmits on its backed-off timer (seconds).
CONVERGE_DEADLINE_S = 20.0


@pytest.fixture
def network() -> Iterator[NetnsNetwork]:
    reason = netns_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    network = NetnsNetwork(NAMES, LINKS_OF_DEFAULT_HERD)
    try:
        try:
            network.create()
        except NetnsError as exc:
            pytest.skip(f"cannot build the namespaces: {exc}")
        yield network
    finally:
        network.close()


class Observer:
    """Drives the herd and the model together and checks the model's properties."""

    def __init__(self, herd: NetnsHerd, model: HerdModel) -> None:
        self.herd = herd
        self.model = model
        self.counter = 0

    def iamat(self, origin: str, client: str) -> bytes:
        self.counter += 1
        when = b"%d.%09d" % (1_700_000_000 + self.counter, self.counter)
        reply = self.herd.send(origin, b"IAMAT %s +34.068930-118.445127 %s\n" % (client.encode(), when))
        assert reply.startswith(b"AT " + origin.encode()), reply
        at_line = reply.rstrip(b"\n")
        self.model.create(origin, client.encode(), when, at_line)
        return at_line

    def tables(self) -> dict[str, dict[bytes, bytes | None]]:
        return {
            name: {
                client: self.herd.stored_at_line(name, client.decode()) for client in self.model.client_ids()
            }
            for name in NAMES
        }

    def wait_converged(self, what: str) -> float:
        """Quiet the model, then wait until every server holds what it must, with no leak."""
        self.model.quiet()
        last: list[object] = []

        def converged() -> bool:
            snapshot = self.model.snapshot(self.tables())
            leaks = check_no_leakage(self.model, snapshot)
            assert not leaks, [str(violation) for violation in leaks]  # never acceptable
            last[:] = check_convergence(self.model, snapshot)
            return not last

        try:
            return wait_until(converged, deadline_s=CONVERGE_DEADLINE_S, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; still violated: {[str(v) for v in last]}") from None


@pytest.mark.parametrize("mode", ["persistent", "ephemeral"])
def test_a_herd_across_namespaces_survives_cuts_loss_and_latency(
    network: NetnsNetwork, tmp_path: Path, mode: str
) -> None:
    herd = NetnsHerd(network.write_herd_file(tmp_path, mode=mode), network)
    observer = Observer(herd, HerdModel(NAMES, LINKS_OF_DEFAULT_HERD, catch_up=True))
    figures: list[str] = []
    try:
        herd.start_all()
        for name in NAMES:
            assert herd.config.servers[name].host == network.service_address(name)
        # Flooding between hosts.
        observer.iamat("Clark", "flood")
        figures.append(f"flood {observer.wait_converged('first flood') * 1000:.0f} ms")

        # Cut Clark off (both its links down): two components.
        for other in ("Bona", "Jaquez"):
            network.cut("Clark", other)
            observer.model.cut("Clark", other)
        observer.iamat("Clark", "alone")
        observer.iamat("Bailey", "crowd")
        observer.iamat("Bailey", "flood")  # newer than Clark's: Clark must not see it yet
        figures.append(f"partitioned {observer.wait_converged('partition by link down') * 1000:.0f} ms")
        assert herd.stored_at_line("Clark", "crowd") is None
        assert herd.stored_at_line("Jaquez", "alone") is None

        # Heal: the links reconnect and each side catches the other up (CATCHUP-1).
        for other in ("Bona", "Jaquez"):
            network.heal("Clark", other)
            observer.model.heal("Clark", other)
        figures.append(f"healed {observer.wait_converged('heal after link down') * 1000:.0f} ms")

        # 100% loss around Campbell: its connections stay open but carry nothing.
        campbell_links = ("Bailey", "Bona", "Jaquez")
        used = ""
        for other in campbell_links:
            used = network.lose_everything("Campbell", other)
            observer.model.cut("Campbell", other)
        observer.iamat("Campbell", "lossy")
        observer.iamat("Clark", "while-lossy")
        figures.append(f"100% loss ({used}) {observer.wait_converged('partition by loss') * 1000:.0f} ms")
        for other in campbell_links:
            network.clear_qdisc("Campbell", other)
            observer.model.heal("Campbell", other)
        figures.append(f"loss ended {observer.wait_converged('recovery from loss') * 1000:.0f} ms")

        # Latency on every link (netem only).
        if network.netem:
            for a, b in LINKS_OF_DEFAULT_HERD:
                network.delay(a, b, 100)
            started = time.monotonic()
            observer.iamat("Bailey", "slow")
            observer.wait_converged("flood over 100 ms links")
            figures.append(f"100 ms links: flood converged in {(time.monotonic() - started) * 1000:.0f} ms")
        else:
            figures.append("latency step skipped: this kernel has no netem qdisc")
        print(f"netns herd ({mode}): " + "; ".join(figures))
    finally:
        herd.stop_all()
