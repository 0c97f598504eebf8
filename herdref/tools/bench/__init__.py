"""``herdref bench``: load-test a running herd and report throughput, latency, propagation
and flooding cost.

How it measures:

* Load: ``--workers`` separate processes (forked; default 2), each with its own event loop,
  share ``--connections`` client connections spread round-robin over the servers. Every
  connection has its own client ID, starts with an IAMAT, then sends a mix of IAMAT and
  ``WHATSAT <own id> <radius> <bound>`` (``--whatsat-ratio``), one request at a time or
  ``--pipeline DEPTH`` in flight. Every IAMAT carries a strictly newer client time, so each
  one is a new record that the herd stores and floods. Latency is from the write of a
  request to the arrival of the last octet of its reply (replies are framed by the protocol:
  one line, or for WHATSAT everything up to the empty line, FRAME-3, WHATSAT-5).
* Propagation: meanwhile this process sends one probe IAMAT at a time to a server (in turn)
  and polls every other server with ``WHATSAT <probe id> 1 0`` (bound 0: no Places call) every
  ``--probe-poll-ms`` until each returns the probe's AT line. The time from the IAMAT's reply
  to the last server's matching reply is one propagation sample; its resolution is the poll
  interval plus one round trip. One probe at a time, so probing stays a small share of the
  load.
* Flooding cost: the servers' own logs (``<log dir>/<Name>.log``, LOG-1) have one ``FLOOD``
  line per AT line written to a neighbour. AT messages per update = FLOOD lines logged during
  the run / IAMATs that stored a new record, compared with the bound for one update flooded
  through a connected herd: sum of degrees - (servers - 1) (FLOOD-1, FLOOD-3). Fewer means
  records coalesced in outboxes (LINK-5).

Exit status: 0 after a report; 1 if the herd (or any chosen server) cannot be reached or no
request got an answer; 2 for bad arguments. Each failure is one line on stderr.

The package, by job: ``runs`` (targets, settings, counts), ``load`` (the load generator),
``propagation`` (the prober), ``flooding`` (log counts and the bound), ``report`` (percentiles,
JSON and text) and ``command`` (the arguments and ``run``).
"""

from herdref.tools.bench.command import add_arguments, run
from herdref.tools.bench.flooding import count_log_lines, flooding_bound, wait_for_quiet_logs
from herdref.tools.bench.load import run_load
from herdref.tools.bench.propagation import measure_propagation
from herdref.tools.bench.report import percentile
from herdref.tools.bench.runs import LoadResult, LoadSettings, PropagationResult, Target

__all__ = [
    "LoadResult",
    "LoadSettings",
    "PropagationResult",
    "Target",
    "add_arguments",
    "count_log_lines",
    "flooding_bound",
    "measure_propagation",
    "percentile",
    "run",
    "run_load",
    "wait_for_quiet_logs",
]
