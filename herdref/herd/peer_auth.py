"""Peer authentication with a shared secret (PEER-3): which connections may flood AT lines.

Without a secret (the open, spec-compatible herd), an AT line from anyone is a flood (FLOOD-6),
so any client can plant a location. With ``[peers] secret_file`` in the herd file, every
server knows the same secret, and only a connection whose greeting proves it may flood.

Design: one line, no round trip, so it works the same on persistent links and on ephemeral
connections that send the greeting and their AT lines at once and close (LINK-1)::

    PEER <server-id> <incarnation> <time-ns> <nonce> <proof>

* ``time-ns``: the opener's clock, decimal nanoseconds since the epoch;
* ``nonce``: 32 hex digits, fresh random for every connection;
* ``proof``: 64 lowercase hex digits, HMAC-SHA256 under the secret of
  ``herdref-peer-v1 LF sender LF receiver LF incarnation LF time-ns LF nonce``.

The receiver accepts it (PEER-3) only if the proof matches (constant-time comparison), the
sender is a neighbour (PEER-2), the time is within ``window_ns`` of its own clock, and it has
not accepted the same nonce from that sender within the window. Naming the receiver stops a
greeting meant for one server from opening another; the window and the nonce set stop a
captured greeting from being replayed; the nonce set stays small because it only holds nonces
of valid greetings, each for at most twice the window.

What it does not do: encrypt or protect the rest of the connection. Someone who can read and
write the packets of an open peer link can still inject lines into it (use TLS or a private
network for that); this stops a client, or anyone who cannot see the secret, from forging AT.

Rules: pure (no clock, no randomness, no I/O except :func:`load_secret`); the node calls it;
the secret never appears in a message, an exception or a log line.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import re
from pathlib import Path
from typing import Final

__all__ = [
    "DEFAULT_WINDOW_NS",
    "MIN_SECRET_BYTES",
    "PeerAuthenticator",
    "is_authenticated_greeting",
    "load_secret",
]

#: PEER-3: how far the greeting's clock may be from the receiver's (both ways).
DEFAULT_WINDOW_NS: Final = 30 * 1_000_000_000
#: PEER-3: a shorter secret is refused when the herd file is read.
MIN_SECRET_BYTES: Final = 16
_CONTEXT: Final = b"herdref-peer-v1"
_TIME_RE: Final = re.compile(rb"[0-9]{1,20}")
_NONCE_RE: Final = re.compile(rb"[0-9a-f]{32}")
_PROOF_RE: Final = re.compile(rb"[0-9a-f]{64}")
_INCARNATION_RE: Final = re.compile(rb"[0-9A-Za-z_-]{1,64}")
#: Valid greetings remembered at most; beyond it the oldest go early (only secret holders can
#: add entries, so this bounds memory against a misbehaving peer, not against clients).
_MAX_REMEMBERED_NONCES: Final = 1_000_000


def load_secret(path: Path) -> bytes:
    """The shared secret in ``path`` (surrounding white space removed).

    Raises:
        herdref.herd.config.ConfigError: unreadable, or shorter than :data:`MIN_SECRET_BYTES`.
    """
    from herdref.herd.config import ConfigError

    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read peers.secret_file {path}: {exc.strerror}") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"peers.secret_file {path} holds fewer than {MIN_SECRET_BYTES} octets")
    return secret


def is_authenticated_greeting(fields: list[bytes]) -> bool:
    """Whether split line ``fields`` have the shape of an authenticated greeting."""
    return len(fields) == 6 and fields[0] == b"PEER"


class PeerAuthenticator:
    """Makes and checks authenticated greetings for one server."""

    def __init__(self, secret: bytes, *, window_ns: int = DEFAULT_WINDOW_NS) -> None:
        if not secret:
            raise ValueError("an empty secret authenticates nobody")
        self._secret = secret
        self.window_ns = window_ns
        #: (sender, nonce) -> greeting time, in the order accepted.
        self._seen: collections.OrderedDict[tuple[bytes, bytes], int] = collections.OrderedDict()

    def __repr__(self) -> str:  # never show the secret
        return f"PeerAuthenticator(window_ns={self.window_ns})"

    def proof(
        self, sender: bytes, receiver: bytes, incarnation: bytes, time_ns: bytes, nonce: bytes
    ) -> bytes:
        message = b"\n".join((_CONTEXT, sender, receiver, incarnation, time_ns, nonce))
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest().encode("ascii")

    def greeting(
        self, sender: bytes, receiver: bytes, incarnation: bytes, *, now_ns: int, nonce: bytes
    ) -> bytes:
        """PEER-3: the greeting ``sender`` opens a link to ``receiver`` with (LF included)."""
        if _NONCE_RE.fullmatch(nonce) is None:
            raise ValueError("the nonce must be 32 lowercase hex digits")
        time_ns = b"%d" % now_ns
        proof = self.proof(sender, receiver, incarnation, time_ns, nonce)
        return b"PEER %s %s %s %s %s\n" % (sender, incarnation, time_ns, nonce, proof)

    def verify(self, fields: list[bytes], receiver: bytes, *, now_ns: int) -> str | None:
        """Check a split authenticated greeting received by ``receiver`` at ``now_ns``.

        Returns ``None`` if it is genuine and fresh (and remembers its nonce), else why not
        (``malformed``, ``wrong proof``, ``outside the window``, ``replayed``); any of them
        breaks PEER-3. The caller checks that the sender is a neighbour (PEER-2)."""
        if not is_authenticated_greeting(fields):
            return "malformed"
        _, sender, incarnation, time_ns, nonce, proof = fields
        if (
            _INCARNATION_RE.fullmatch(incarnation) is None
            or _TIME_RE.fullmatch(time_ns) is None
            or _NONCE_RE.fullmatch(nonce) is None
            or _PROOF_RE.fullmatch(proof) is None
        ):
            return "malformed"
        expected = self.proof(sender, receiver, incarnation, time_ns, nonce)
        if not hmac.compare_digest(expected, proof):
            return "wrong proof"
        sent_ns = int(time_ns)
        if abs(now_ns - sent_ns) > self.window_ns:
            return "outside the window"  # stale or from the future: possibly a replay
        self._forget_before(now_ns - 2 * self.window_ns)
        key = (sender, nonce)
        if key in self._seen:
            return "replayed"  # the same greeting twice
        self._seen[key] = sent_ns
        if len(self._seen) > _MAX_REMEMBERED_NONCES:
            self._seen.popitem(last=False)
        return None

    def _forget_before(self, oldest_ns: int) -> None:
        # A nonce older than the window can no longer pass the time check, so forgetting it is
        # safe. Entries are roughly in time order; one out of order only delays the pruning.
        seen = self._seen
        while seen:
            key, sent_ns = next(iter(seen.items()))
            if sent_ns >= oldest_ns:
                return
            del seen[key]

    def remembered(self) -> int:
        """How many nonces are remembered (for tests and the log)."""
        return len(self._seen)
