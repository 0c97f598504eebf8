"""The properties every herd keeps, over observed tables and over what went over the links."""

from collections.abc import Iterable, Mapping

from herdref.model.herd import ConnectionLog, HerdModel, Snapshot, Violation, time_of_line
from herdref.model.judge import TIME_TOLERANCE


def _same_time(line: bytes, other: bytes) -> bool:
    """The two AT lines carry the same client time, within the graders' tolerance: a relay that
    re-printed the time through a float (FLOOD-5) holds the same record, not another one."""
    return abs(time_of_line(line) - time_of_line(other)) <= TIME_TOLERANCE


def _older(line: bytes, other: bytes) -> bool:
    """``line``'s client time is older than ``other``'s, beyond what a re-print explains."""
    return time_of_line(line) < time_of_line(other) and not _same_time(line, other)


def _show(value: bytes | None) -> str:
    return "nothing" if value is None else repr(value)[2:-1]


def _clients(model: HerdModel, *snapshots: Snapshot) -> list[bytes]:
    """Every client the model or the snapshots mention, in a fixed order."""
    seen = dict.fromkeys(model.client_ids())
    for snapshot in snapshots:
        for table in snapshot.tables.values():
            seen.update(dict.fromkeys(table))
    return list(seen)


def check_monotonicity(model: HerdModel, before: Snapshot, after: Snapshot) -> list[Violation]:
    """STATE-1, FLOOD-2: during one life, a server's record for a client never gets older,
    and a record, once held, is never forgotten."""
    violations = []
    clients = _clients(model, before, after)
    for server in after.tables:
        if server not in before.tables or before.lives.get(server) != after.lives.get(server):
            continue
        for client_id in clients:
            seen_before, old_line = before.holding(server, client_id)
            seen_after, new_line = after.holding(server, client_id)
            if not (seen_before and seen_after) or old_line is None:
                continue
            if new_line is None or _older(new_line, old_line):
                violations.append(
                    Violation(
                        "STATE-1",
                        f"{server}'s record for {_show(client_id)} went from {_show(old_line)} "
                        f"to the older {_show(new_line)}",
                    )
                )
    return violations


def check_no_leakage(model: HerdModel, snapshot: Snapshot) -> list[Violation]:
    """FLOOD-4: a server holds only records that had a path of working links to it."""
    violations = []
    for server, table in snapshot.tables.items():
        for client_id, line in table.items():
            if line is None:
                continue
            if line not in model.records:
                # A changed copy of a record (same client, same client time) breaks FLOOD-5, the
                # same line on every server; anything else came from nowhere (FLOOD-4).
                same_time = [
                    known
                    for known in model.records.values()
                    if known.client_id == client_id and _same_time(known.at_line, line)
                ]
                if same_time:
                    message = f"{server} holds {_show(line)}, a changed copy of {_show(same_time[0].at_line)}"
                    violations.append(Violation("FLOOD-5", message))
                else:
                    violations.append(
                        Violation("FLOOD-4", f"{server} holds {_show(line)}, which no server ever answered")
                    )
            elif line not in model.may_lines(server, client_id):
                origin = model.records[line].origin
                violations.append(
                    Violation(
                        "FLOOD-4",
                        f"{server} holds {_show(line)} although no path of working links joined it "
                        f"to a holder since {origin} created it",
                    )
                )
    return violations


def check_known(model: HerdModel, snapshot: Snapshot, *, clause: str = "STATE-1") -> list[Violation]:
    """A server holds, for each client, a record at least as new as the newest it must hold."""
    violations = []
    for server in snapshot.tables:
        for client_id in model.client_ids():
            required = model.must_record(server, client_id)
            seen, line = snapshot.holding(server, client_id)
            if required is None or not seen:
                continue
            if line is None or _older(line, required.at_line):
                # The server a newer report was sent to that still holds an older record did
                # not let the newer replace it (FLOOD-2, as newer-by-value names it): nothing
                # had to reach it, so it is no flood that went missing.
                kept_older = line is not None and required.origin == server
                violations.append(
                    Violation(
                        "FLOOD-2" if kept_older else clause,
                        f"{server} holds {_show(line)} for {_show(client_id)} but must hold "
                        f"{_show(required.at_line)} (from {required.origin}) or newer"
                        + (
                            ": a client's newer report to it did not replace the older record"
                            if kept_older
                            else ""
                        ),
                        # Holding an older record, it may have refused the newer one's flood.
                        also=("FLOOD-2",) if line is not None and not kept_older else (),
                    )
                )
    return violations


def check_agreement(model: HerdModel, snapshot: Snapshot) -> list[Violation]:
    """CATCHUP-1: once quiet, the live servers of a component hold, for each client, records
    of one client time (or all hold none)."""
    violations = []
    clients = _clients(model, snapshot)
    for part in model.live_components():
        for client_id in clients:
            seen: dict[str, bytes | None] = {}
            for server in part:
                observed, line = snapshot.holding(server, client_id)
                if observed:
                    seen[server] = line
            times = {None if line is None else time_of_line(line) for line in seen.values()}
            if len(times) > 1:
                listing = ", ".join(f"{server}: {_show(line)}" for server, line in seen.items())
                violations.append(
                    Violation("CATCHUP-1", f"quiet component disagrees on {_show(client_id)}: {listing}")
                )
    return violations


def check_convergence(model: HerdModel, snapshot: Snapshot) -> list[Violation]:
    """FLOOD-1 (plain) or CATCHUP-1 (catch-up): after :meth:`HerdModel.quiet`, every server
    holds what the model says it must, and with catch-up a component agrees."""
    if not model.catch_up:
        return check_known(model, snapshot, clause="FLOOD-1")
    return check_known(model, snapshot, clause="CATCHUP-1") + check_agreement(model, snapshot)


# ---- properties over what went over the links --------------------------------------------


def check_duplicates(logs: Iterable[ConnectionLog]) -> list[Violation]:
    """FLOOD-2: no server writes the same record twice on one connection between catch-ups."""
    violations = []
    for log in logs:
        for segment in log.segments:
            seen: set[bytes] = set()
            for line in segment:
                if line in seen:
                    violations.append(
                        Violation(
                            "FLOOD-2",
                            f"{log.sender} sent {_show(line)} twice to {log.receiver} on connection "
                            f"#{log.serial}",
                        )
                    )
                    break
                seen.add(line)
    return violations


def check_efficiency(model: HerdModel, sends: Mapping[bytes, int], lines: Iterable[bytes]) -> list[Violation]:
    """FLOOD-1/3: the AT messages that carried each record in ``lines`` (all of whose flooding
    happened without catch-ups or topology changes) stay within its flooding bound."""
    violations = []
    for line in lines:
        record = model.records[line]
        count = sends.get(line, 0)
        if count > record.bound:
            violations.append(
                Violation(
                    "FLOOD-3",
                    f"{count} AT messages carried {_show(line)} from {record.origin}; flooding needs at "
                    f"most {record.bound} in that topology",
                )
            )
    return violations
