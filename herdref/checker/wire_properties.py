"""The wire tier of the property suite, shipped with herdref: the simulation tier's model and
properties (:mod:`herdref.model`) held against a real herd over loopback TCP.

Collected by herdref's pytest plugin from any folder where ``herdref[check]`` is installed::

    pytest -m properties --herd-launch 'python3 server.py {name} --config {config}' \
        --herd-config herd.toml

(the same placeholders as ``herdref validate``: ``{name}``, ``{port}``, ``{config}``,
``{places_url}``). Without ``--herd-launch`` the herd is the reference one with the Places
fixture. Real processes: servers are killed with SIGKILL and restarted, and links are cut by
stopping a server with SIGSTOP. Replies are read with blocking sockets and timeouts; quiescence
is waited for with a deadline.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from herdref.checker.machine import build_machine
from herdref.checker.target import CheckContext, Target
from herdref.model import check_iamat_reply, check_whatsat_reply

pytestmark = pytest.mark.properties

_WIRE = settings(
    # No "explain" phase: it would re-run failing examples many times over real processes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)

# LEX-2: client IDs are any octets but the six white-space ones.
client_ids = st.binary(min_size=1, max_size=24).filter(lambda octets: not set(octets) & set(b" \t\n\v\f\r"))
locations = st.builds(
    lambda lat, lng: b"%+.6f%+.6f" % (lat, lng),
    st.floats(-90, 90, allow_nan=False),
    st.floats(-180, 180, allow_nan=False),
)
client_times = st.builds(
    lambda whole, fraction: b"%d.%s" % (whole, fraction),
    st.integers(0, 4_000_000_000),
    st.text("0123456789", min_size=1, max_size=12).map(str.encode),
)


def test_state_machine_over_tcp(herd_target: Target) -> None:
    """IAMAT/WHATSAT/kill/restart/SIGSTOP sequences; every reply and every quiet herd judged
    by the shared model. A failure prints the shrunk steps."""
    machine = build_machine(herd_target)
    run_state_machine_as_test(machine, settings=settings(_WIRE, max_examples=12, stateful_step_count=20))  # type: ignore[no-untyped-call,unused-ignore]


@given(client_id=client_ids, location=locations, client_time=client_times, server_index=st.integers(0, 4))
@settings(_WIRE, max_examples=60)
def test_iamat_reply_over_tcp(
    herd_target: Target, client_id: bytes, location: bytes, client_time: bytes, server_index: int
) -> None:
    """IAMAT-4/5, AT-1/2 for any client ID, location and time, at any server."""
    server = herd_target.names[server_index % len(herd_target.names)]
    context = CheckContext(herd_target, "wire")
    before = time.time_ns()
    reply = context.iamat(server, client_id, location, client_time)
    after = time.time_ns()
    violations = check_iamat_reply(
        server, client_id, location, client_time, reply.data, received_ns=(before, after)
    )
    assert violations == [], "\n".join(context.transcript.render())


radii = st.one_of(
    st.integers(1, 50).map(lambda km: b"%d" % km),
    st.decimals("0.001", "50", places=3, allow_nan=False, allow_infinity=False).map(
        lambda km: str(km).encode()
    ),
)


@given(radius=radii, bound=st.integers(0, 20), server_index=st.integers(0, 4))
@settings(_WIRE, max_examples=40)
def test_whatsat_reply_over_tcp(herd_target: Target, radius: bytes, bound: int, server_index: int) -> None:
    """WHATSAT-5..7: the stored line, a JSON object with no empty line, at most bound places,
    for any valid radius and bound, at any server."""
    server = herd_target.names[server_index % len(herd_target.names)]
    context = CheckContext(herd_target, "wire")
    client = context.client_id()
    reply = context.iamat(server, client, context.location(), context.now_time())
    at_line = reply.data.removesuffix(b"\n")
    request = b"WHATSAT %s %s %d" % (client, radius, bound)
    answer = context.send(server, request + b"\n", whatsat=True)
    violations = check_whatsat_reply(request, bound, answer.data, stored=[at_line])
    assert violations == [], "\n".join(context.transcript.render())
