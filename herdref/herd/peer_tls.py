"""TLS on the links between servers (PEER-4): the contexts and the names a certificate proves
(the peer port's connection class is ``herdref.herd.server.PeerPortConnection``).

Without ``[peers] tls_*`` in the herd file, clients and peers share one plain port (FLOOD-6).
With it, every server also listens on its ``peer_port`` with TLS, and:

* both ends present a certificate signed by ``tls_ca`` and verify the other's (mutual TLS);
* the opener checks that the neighbour's certificate names the neighbour (its subject CN or a
  DNS subjectAltName equals the server's name in the herd file, exactly); host names are not
  checked, because herd servers are named, not addressed by DNS name;
* the receiver lets a connection's greeting name only a server its certificate names, and
  refuses AT before that greeting (``herdref.herd.node``, through the ``Session``);
* the plain client port refuses AT and PEER lines from anyone with ``? <line>``, so a client
  cannot plant a location, while IAMAT and WHATSAT stay plain TCP for telnet and nc.

Rules: a file that is missing or unusable is a :class:`~herdref.herd.config.ConfigError` naming the
key and the path (the CLI prints one line and exits 2); key material never appears in a message.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from herdref.herd.config import ConfigError

if TYPE_CHECKING:
    from herdref.herd.config import PeerTlsSettings

__all__ = [
    "PeerTls",
    "certificate_names",
    "check_neighbour_certificate",
    "load_peer_tls",
]


@dataclass(frozen=True, slots=True)
class PeerTls:
    """One server's two TLS contexts: for its peer-port listener and for its links."""

    #: Server side: requires a client certificate signed by the herd's CA.
    server_context: ssl.SSLContext
    #: Client side: presents this server's certificate, verifies the neighbour's against the CA.
    client_context: ssl.SSLContext


def _readable(path: Path, key: str) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot read peers.{key} {path}: {exc.strerror}") from None


def _context(purpose: ssl.Purpose, files: PeerTlsSettings) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(purpose, cafile=str(files.ca))
    except ssl.SSLError as exc:
        raise ConfigError(f"peers.tls_ca {files.ca} holds no usable certificate ({exc.reason})") from None
    try:
        context.load_cert_chain(str(files.cert), str(files.key))
    except ssl.SSLError as exc:
        raise ConfigError(
            f"peers.tls_cert {files.cert} and peers.tls_key {files.key} are not a usable "
            f"certificate and key ({exc.reason})"
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    # The name check is ours (check_neighbour_certificate): server names are not host names.
    context.check_hostname = False
    return context


def load_peer_tls(settings: PeerTlsSettings, name: str) -> PeerTls:
    """The contexts of server ``name`` (``{name}`` in the paths replaced).

    Raises:
        ConfigError: a file is unreadable, or does not hold a certificate, key or CA.
    """
    files = settings.for_server(name)
    for key, path in (("tls_cert", files.cert), ("tls_key", files.key), ("tls_ca", files.ca)):
        _readable(path, key)
    # Purpose.CLIENT_AUTH makes the context a server's: it verifies the clients' certificates.
    return PeerTls(
        server_context=_context(ssl.Purpose.CLIENT_AUTH, files),
        client_context=_context(ssl.Purpose.SERVER_AUTH, files),
    )


def certificate_names(peercert: Any) -> frozenset[str]:
    """The subject common names and DNS subjectAltNames of a verified certificate, as
    ``SSLObject.getpeercert()`` returns it (empty for no certificate)."""
    if not isinstance(peercert, dict):
        return frozenset()
    names = {value for kind, value in peercert.get("subjectAltName", ()) if kind == "DNS"}
    for relative_name in peercert.get("subject", ()):
        names.update(value for attribute, value in relative_name if attribute == "commonName")
    return frozenset(names)


def check_neighbour_certificate(transport: asyncio.BaseTransport, neighbour: str) -> None:
    """PEER-4: the neighbour reached over TLS is the one the link is for.

    Raises:
        ssl.SSLCertVerificationError: its (CA-verified) certificate does not name ``neighbour``.
    """
    names = certificate_names(transport.get_extra_info("peercert"))
    if neighbour not in names:
        shown = ", ".join(sorted(names)) or "no name"
        raise ssl.SSLCertVerificationError(f"certificate names {shown}, not {neighbour}")
