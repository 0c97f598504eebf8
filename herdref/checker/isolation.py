"""``herdref validate --isolate``: run the whole check inside a fresh network namespace.

Inside it there is only a loopback interface, so a herd under test can reach nothing but
itself and the checker; the namespace's own ``/etc/hosts`` (``/etc/netns/NAME/hosts``, which
``ip netns exec`` bind-mounts over ``/etc/hosts``) sends ``maps.googleapis.com`` and
``places.googleapis.com`` to 127.0.0.1, where the checker serves the Places fixture on port 80
and behind TLS on port 443 (a throw-away CA, trusted through ``SSL_CERT_FILE``,
``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``NODE_EXTRA_CA_CERTS``). This reaches herds in any
language that resolve names through ``/etc/hosts`` and honour one of those CA variables.

Rules: Linux with ``ip`` (iproute2) and root only; otherwise one clear error and exit status 2.
The namespace and its ``/etc/netns`` folder are removed when the run ends, whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

from herdref.checker.redirect import GOOGLE_HOSTS

__all__ = ["NETNS_ENV", "isolation_unavailable", "run_isolated"]

#: Set (to the namespace's name) in the environment of the run inside the namespace.
NETNS_ENV: Final = "HERDREF_VALIDATE_NETNS"
_NETNS_ETC: Final = Path("/etc/netns")


def isolation_unavailable() -> str | None:
    """Why --isolate cannot work here, or None if it can."""
    if not sys.platform.startswith("linux"):
        return "--isolate needs Linux network namespaces"
    if os.geteuid() != 0:
        return "--isolate needs root (ip netns add)"
    if shutil.which("ip") is None:
        return "--isolate needs the ip command (iproute2)"
    return None


def run_isolated(validate_arguments: list[str]) -> int:
    """Run ``herdref validate <validate_arguments>`` in a new namespace; its exit status."""
    name = f"herdref-validate-{os.getpid()}"
    etc = _NETNS_ETC / name
    created_etc_root = not _NETNS_ETC.exists()
    try:
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        subprocess.run(
            ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True, capture_output=True
        )
        etc.mkdir(parents=True, exist_ok=True)
        hosts = ["127.0.0.1 localhost", "::1 localhost", *(f"127.0.0.1 {host}" for host in GOOGLE_HOSTS)]
        (etc / "hosts").write_text("\n".join(hosts) + "\n", encoding="ascii")
        # No resolver can be reached from inside: names not in hosts fail at once.
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n", encoding="ascii")
        command = [
            "ip",
            "netns",
            "exec",
            name,
            sys.executable,
            "-m",
            "herdref",
            "validate",
            *validate_arguments,
        ]
        return subprocess.run(command, env={**os.environ, NETNS_ENV: name}).returncode
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip() if exc.stderr else str(exc)
        print(f"herdref validate: cannot set up the network namespace: {detail}", file=sys.stderr)
        return 2
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        shutil.rmtree(etc, ignore_errors=True)
        if created_etc_root:
            with contextlib.suppress(OSError):
                _NETNS_ETC.rmdir()
