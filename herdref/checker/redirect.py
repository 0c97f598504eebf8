"""Send a Python herd's connections to Google's Places hosts to the Places fixture instead, without
root and without changing its code.

How:

* A throw-away certificate authority (``trustme``) issues a certificate for
  ``maps.googleapis.com`` and ``places.googleapis.com``. A small TLS front on a loopback port
  presents it, and passes the decrypted bytes to the fixture's plain HTTP port.
* A ``sitecustomize`` module, put first on the servers' ``PYTHONPATH``, wraps
  ``socket.getaddrinfo`` so those two host names resolve to the loopback front (port 443) or to
  the fixture itself (port 80). ``socket.create_connection``, asyncio, aiohttp's default
  resolver, ``requests`` and ``urllib`` all resolve through it.
* ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` and ``NODE_EXTRA_CA_CERTS``
  name a bundle holding the system's CAs plus the throw-away one, so TLS verification passes.

What this cannot reach: code that is not Python (``NODE_EXTRA_CA_CERTS`` helps with TLS but
Node's resolver is not patched), Python code that resolves names without ``getaddrinfo``
(``aiodns``/c-ares, e.g. aiohttp when aiodns is installed), code that pins certificates, and a
herd started with ``python3 -S``/``-I`` (no ``sitecustomize``). Those herds need
``PLACES_URL``/``{places_url}``; otherwise their WHATSAT checks report UNSUPPORTED.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "GOOGLE_HOSTS",
    "GoogleLookups",
    "TlsFront",
    "install_isolated_fronts",
    "install_redirect",
    "lookup_log",
]

GOOGLE_HOSTS: Final = ("maps.googleapis.com", "places.googleapis.com")
_CHUNK: Final = 65_536

_SITECUSTOMIZE: Final = '''"""herdref validate: resolve Google's Places hosts to the local fixture (see
herdref.checker.redirect). Installed only for servers under test."""

import json as _json
import os as _os
import socket as _socket

_ROUTES = _json.loads(_os.environ.get("HERDREF_REDIRECT", "{}"))
_LOG = _os.environ.get("HERDREF_REDIRECT_LOG", "")
_original_getaddrinfo = _socket.getaddrinfo


def _note(word):
    # One line per event, appended: the checker counts them to tell a herd that never looked
    # Google up from one whose look-ups went astray.
    if _LOG:
        try:
            with open(_LOG, "a", encoding="ascii") as log:
                log.write(word + "\\n")
        except OSError:
            pass


def _redirected_getaddrinfo(host, port, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    route = _ROUTES.get(str(name).lower().rstrip("."))
    if route is not None:
        _note("lookup")
        tls = str(port) in ("443", "https", "None")
        port = route["tls_port"] if tls else route["http_port"]
        host = route["host"]
    return _original_getaddrinfo(host, port, *args, **kwargs)


if _ROUTES:
    _socket.getaddrinfo = _redirected_getaddrinfo
    _note("loaded")
'''


class TlsFront:
    """A listener on loopback that relays each connection to ``upstream``, decrypting TLS first
    when it has a ``context`` (plain TCP relay without one)."""

    def __init__(self, context: ssl.SSLContext | None, upstream: tuple[str, int], *, port: int = 0) -> None:
        self.context = context
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.settimeout(0.2)
        self.port: int = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, name="tls-front", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(10)
            secure = self.context.wrap_socket(client, server_side=True) if self.context else client
            upstream = socket.create_connection(self.upstream, timeout=10)
        except (OSError, ssl.SSLError):
            client.close()
            return
        secure.settimeout(None)
        upstream.settimeout(None)
        back = threading.Thread(target=_pump, args=(upstream, secure), daemon=True)
        back.start()
        _pump(secure, upstream)
        back.join(10)
        with contextlib.suppress(OSError):
            secure.close()
        upstream.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy until EOF or an error, then half-close the other side."""
    try:
        while True:
            data = source.recv(_CHUNK)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _system_ca_bundle() -> str:
    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get("SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text(encoding="ascii", errors="replace")
    return ""


def _authority(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A throw-away CA's server context for Google's hosts, and a CA bundle that trusts it."""
    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert(*GOOGLE_HOSTS)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    folder.mkdir(parents=True, exist_ok=True)
    bundle = folder / "ca-bundle.pem"
    bundle.write_text(
        _system_ca_bundle() + "\n" + authority.cert_pem.bytes().decode("ascii"), encoding="ascii"
    )
    return context, bundle


def _trust(bundle: Path) -> dict[str, str]:
    return {
        "SSL_CERT_FILE": str(bundle),
        "REQUESTS_CA_BUNDLE": str(bundle),
        "CURL_CA_BUNDLE": str(bundle),
        "NODE_EXTRA_CA_CERTS": str(bundle),
    }


def install_isolated_fronts(fixture_port: int, work_dir: Path, stack: ExitStack) -> dict[str, str]:
    """Inside an isolated network namespace (see :mod:`herdref.checker.isolation`), where
    Google's hosts resolve to 127.0.0.1 through the namespace's /etc/hosts: serve ports 443
    (TLS) and 80 in front of the fixture. Returns the CA environment variables."""
    context, bundle = _authority(work_dir / "redirect")
    for front in (
        TlsFront(context, ("127.0.0.1", fixture_port), port=443),
        TlsFront(None, ("127.0.0.1", fixture_port), port=80),
    ):
        stack.callback(front.close)
    return _trust(bundle)


def install_redirect(fixture_port: int, work_dir: Path, stack: ExitStack) -> dict[str, str]:
    """Start the TLS front (closed with ``stack``), write ``sitecustomize`` and the CA bundle
    under ``work_dir``; returns the environment variables that switch the redirect on."""
    folder = work_dir / "redirect"
    context, bundle = _authority(folder)
    front = TlsFront(context, ("127.0.0.1", fixture_port))
    stack.callback(front.close)
    (folder / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    routes = {
        host: {"host": "127.0.0.1", "tls_port": front.port, "http_port": fixture_port}
        for host in GOOGLE_HOSTS
    }
    python_path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    return {
        "HERDREF_REDIRECT": json.dumps(routes),
        "HERDREF_REDIRECT_LOG": str(lookup_log(work_dir)),
        "PYTHONPATH": python_path,
        **_trust(bundle),
    }


def lookup_log(work_dir: Path) -> Path:
    """Where the servers' ``sitecustomize`` notes each start ("loaded") and each look-up of a
    Google host it redirected ("lookup")."""
    return work_dir / "redirect" / "lookups.log"


@dataclass(frozen=True, slots=True)
class GoogleLookups:
    """What the redirect saw: Python processes of the herd that loaded it, and their look-ups
    of Google's hosts."""

    loaded: int
    lookups: int

    @classmethod
    def read(cls, log: Path) -> GoogleLookups:
        try:
            words = log.read_text(encoding="ascii", errors="replace").split()
        except OSError:
            words = []
        return cls(loaded=words.count("loaded"), lookups=words.count("lookup"))
