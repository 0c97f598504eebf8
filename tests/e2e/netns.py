"""A herd across hosts on one machine: each server in its own Linux network namespace.

Topology (all inside namespaces and one bridge this module creates and always removes):

* Every server has a service address ``10.R.1.N/32`` on the loopback of its namespace; the
  herd file's ``host`` is that address.
* Client access: a veth from each namespace to a bridge in the test's namespace
  (``10.R.0.1/24``), with a route to each service address, so the tests (and the harness's
  "is it listening" probe) reach every server from outside.
* Herd links: one veth pair per link of the herd file, its own ``/30``, and in each end's
  namespace a ``/32`` route to the other end's service address over that pair only. A server
  can reach its neighbours and nothing else, so cutting the pair (``ip link set down``, or
  dropping every packet with ``tc``) cuts exactly that herd link.

``R`` is chosen per run among subnets the machine does not route, and every name carries a
per-run prefix, so parallel runs do not collide.
"""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import subprocess
from pathlib import Path

from herdref.checker.ports import herd_on_free_ports
from herdref.herd.config import LinkMode, dump_config

from .herd_harness import Herd

__all__ = ["NetnsError", "NetnsHerd", "NetnsNetwork", "netns_unavailable_reason"]


class NetnsError(RuntimeError):
    """An ``ip`` or ``tc`` command failed."""


def netns_unavailable_reason() -> str | None:
    """Why network-namespace tests cannot run here, or None if they can try."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"{tool!r} (iproute2) is not installed"
    return None


def run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise NetnsError(f"{' '.join(command)}: {result.stderr.strip() or result.returncode}")
    return result.stdout


def _unused_subnet() -> int:
    """A second octet R such that nothing on this machine routes 10.R.0.0/16."""
    routes = run("ip", "-4", "route", "show", "table", "all")
    taken = set()
    for word in routes.split():
        try:
            network = ipaddress.ip_network(word, strict=False)
        except ValueError:
            continue
        taken.add(network)
    candidates = list(range(100, 250))
    random.SystemRandom().shuffle(candidates)
    for second in candidates:
        ours = ipaddress.ip_network(f"10.{second}.0.0/16")
        if not any(ours.overlaps(network) for network in taken if network.prefixlen > 0):
            return second
    raise NetnsError("no free 10.R.0.0/16 subnet")


class NetnsNetwork:
    """The namespaces, veths and bridge of one herd; :meth:`close` removes all of them."""

    def __init__(self, names: list[str], links: list[tuple[str, str]]) -> None:
        self.names = names
        self.links = [tuple(sorted(pair)) for pair in links]
        self.prefix = f"hr{os.getpid() % 10_000:04d}{random.SystemRandom().randrange(16**2):02x}"
        self.second = _unused_subnet()
        self.bridge = f"{self.prefix}br"
        self.namespaces: dict[str, str] = {name: f"{self.prefix}-{name}" for name in names}
        self._created_namespaces: list[str] = []
        self._bridge_created = False
        #: link -> (device in the first server's namespace, in the second's)
        self.link_devices: dict[tuple[str, ...], tuple[str, str]] = {}
        self._link_routes: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}
        self.netem = False

    # ---- addresses -----------------------------------------------------------------------

    def service_address(self, name: str) -> str:
        return f"10.{self.second}.1.{10 + self.names.index(name)}"

    def _access_address(self, name: str) -> str:
        return f"10.{self.second}.0.{10 + self.names.index(name)}"

    # ---- building ------------------------------------------------------------------------

    def create(self) -> None:
        second = self.second
        run("ip", "link", "add", self.bridge, "type", "bridge")
        self._bridge_created = True
        run("ip", "addr", "add", f"10.{second}.0.1/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for index, name in enumerate(self.names):
            namespace = self.namespaces[name]
            run("ip", "netns", "add", namespace)
            self._created_namespaces.append(namespace)
            self._in(name, "ip", "link", "set", "lo", "up")
            self._in(name, "ip", "addr", "add", f"{self.service_address(name)}/32", "dev", "lo")
            outside, inside = f"{self.prefix}a{index}", f"{self.prefix}A{index}"
            run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            run("ip", "link", "set", inside, "netns", namespace)
            run("ip", "link", "set", outside, "master", self.bridge)
            run("ip", "link", "set", outside, "up")
            self._in(name, "ip", "addr", "add", f"{self._access_address(name)}/24", "dev", inside)
            self._in(name, "ip", "link", "set", inside, "up")
            run(
                "ip", "route", "replace", f"{self.service_address(name)}/32",
                "via", self._access_address(name), "dev", self.bridge,
            )  # fmt: skip
        for number, (a, b) in enumerate(self.links):
            device_a, device_b = f"{self.prefix}l{number}", f"{self.prefix}L{number}"
            run("ip", "link", "add", device_a, "type", "veth", "peer", "name", device_b)
            run("ip", "link", "set", device_a, "netns", self.namespaces[a])
            run("ip", "link", "set", device_b, "netns", self.namespaces[b])
            address_a = f"10.{second}.2.{4 * number + 1}"
            address_b = f"10.{second}.2.{4 * number + 2}"
            self._in(a, "ip", "addr", "add", f"{address_a}/30", "dev", device_a)
            self._in(b, "ip", "addr", "add", f"{address_b}/30", "dev", device_b)
            self.link_devices[(a, b)] = (device_a, device_b)
            self._link_routes[(a, b)] = [
                (a, f"{self.service_address(b)}/32", address_b),
                (b, f"{self.service_address(a)}/32", address_a),
            ]
            self.heal(a, b)
        self.netem = self._netem_available()

    def _netem_available(self) -> bool:
        """Whether this kernel has the netem qdisc (tried on the first server's loopback)."""
        first = self.names[0]
        try:
            self._in(first, "tc", "qdisc", "replace", "dev", "lo", "root", "netem", "delay", "0ms")
        except NetnsError:
            return False
        self._in(first, "tc", "qdisc", "del", "dev", "lo", "root")
        return True

    def _in(self, name: str, *command: str) -> str:
        return run("ip", "netns", "exec", self.namespaces[name], *command)

    def close(self) -> None:
        """Remove everything created, whatever state it is in (errors are ignored)."""
        for namespace in self._created_namespaces:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)
        self._created_namespaces.clear()
        if self._bridge_created:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, timeout=30)
            self._bridge_created = False
        for number in range(len(self.names)):
            subprocess.run(["ip", "link", "del", f"{self.prefix}a{number}"], capture_output=True, timeout=30)

    # ---- faults --------------------------------------------------------------------------

    def _pair(self, a: str, b: str) -> tuple[tuple[str, ...], tuple[str, str]]:
        key = tuple(sorted((a, b)))
        return key, self.link_devices[key]

    def cut(self, a: str, b: str) -> None:
        """Take the link's veth pair down: its routes go, so connecting fails at once."""
        key, (device_a, device_b) = self._pair(a, b)
        self._in(key[0], "ip", "link", "set", device_a, "down")
        self._in(key[1], "ip", "link", "set", device_b, "down")

    def heal(self, a: str, b: str) -> None:
        key, (device_a, device_b) = self._pair(a, b)
        self._in(key[0], "ip", "link", "set", device_a, "up")
        self._in(key[1], "ip", "link", "set", device_b, "up")
        for name, destination, gateway in self._link_routes[key]:
            self._in(name, "ip", "route", "replace", destination, "via", gateway)

    def lose_everything(self, a: str, b: str) -> str:
        """Drop every packet both ways while the link stays up (open connections hang rather
        than fail). netem ``loss 100%`` when the kernel has it, else the blackhole qdisc, which
        drops every packet a device would send; returns which was used."""
        key, devices = self._pair(a, b)
        discipline = ["netem", "loss", "100%"] if self.netem else ["blackhole"]
        for name, device in zip(key, devices, strict=True):
            self._in(name, "tc", "qdisc", "replace", "dev", device, "root", *discipline)
        return " ".join(discipline)

    def delay(self, a: str, b: str, milliseconds: int) -> None:
        """netem delay each way (only when :attr:`netem` is true)."""
        key, devices = self._pair(a, b)
        for name, device in zip(key, devices, strict=True):
            self._in(
                name, "tc", "qdisc", "replace", "dev", device, "root", "netem", "delay", f"{milliseconds}ms"
            )

    def clear_qdisc(self, a: str, b: str) -> None:
        key, devices = self._pair(a, b)
        for name, device in zip(key, devices, strict=True):
            self._in(name, "tc", "qdisc", "del", "dev", device, "root")

    # ---- the herd file -------------------------------------------------------------------

    def write_herd_file(self, directory: Path, *, mode: LinkMode = "persistent") -> Path:
        # Any port works per namespace; free ones on this one are as good as any.
        config = herd_on_free_ports(
            self.names,
            self.links,
            log_dir=directory / "logs",
            mode=mode,
            host={name: self.service_address(name) for name in self.names},
        )
        path = directory / "herd.toml"
        path.write_text(dump_config(config), encoding="utf-8")
        return path


class NetnsHerd(Herd):
    """The harness's :class:`Herd`, with each server started inside its own namespace."""

    def __init__(self, config_path: Path, network: NetnsNetwork) -> None:
        super().__init__(config_path)
        self.network = network

    def command(self, name: str) -> list[str]:
        return ["ip", "netns", "exec", self.network.namespaces[name], *super().command(name)]
