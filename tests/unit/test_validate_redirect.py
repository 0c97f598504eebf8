"""The Google redirect: Python code that hard-codes Google's Places hosts reaches the fixture
through urllib, requests and raw sockets, over verified TLS."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from herdref.checker.redirect import install_redirect
from herdref.places.fixture import run_fixture_in_thread

QUERY = "/maps/api/place/nearbysearch/json?location=34.06893,-118.445127&radius=1000&key=k"

CLIENTS = {
    "urllib": (
        "import json, urllib.request\n"
        f"body = urllib.request.urlopen('https://maps.googleapis.com{QUERY}', timeout=10).read()\n"
        "print(json.loads(body)['status'])\n"
    ),
    "requests": (
        "import requests\n"
        f"print(requests.get('https://maps.googleapis.com{QUERY}', timeout=10).json()['status'])\n"
    ),
    "raw socket": (
        "import socket\n"
        "with socket.create_connection(('maps.googleapis.com', 80), timeout=10) as s:\n"
        f"    s.sendall(b'GET {QUERY} HTTP/1.0\\r\\nHost: maps.googleapis.com\\r\\n\\r\\n')\n"
        "    data = b''\n"
        "    while chunk := s.recv(65536):\n"
        "        data += chunk\n"
        "import json\n"
        "print(json.loads(data.split(bytes([13, 10, 13, 10]), 1)[1])['status'])\n"
    ),
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_hard_coded_google_urls_reach_the_fixture(tmp_path: Path, client: str) -> None:
    if client == "requests":
        pytest.importorskip("requests", reason="requests is not a herdref dependency")
    with ExitStack() as stack:
        fixture = stack.enter_context(run_fixture_in_thread())
        env = {**os.environ, **install_redirect(fixture.port, tmp_path, stack)}
        completed = subprocess.run(
            [sys.executable, "-c", CLIENTS[client]], env=env, capture_output=True, text=True, timeout=30
        )
        assert completed.stdout.strip() == "OK", completed.stderr
        requests = fixture.requests()
        assert len(requests) == 1
        assert requests[0]["query"]["radius"] == "1000"


def test_other_hosts_are_not_redirected(tmp_path: Path) -> None:
    with ExitStack() as stack:
        fixture = stack.enter_context(run_fixture_in_thread())
        env = {**os.environ, **install_redirect(fixture.port, tmp_path, stack)}
        probe = "import socket; print(socket.getaddrinfo('localhost', 443)[0][4][1])"
        completed = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=30
        )
        assert completed.stdout.strip() == "443", completed.stderr
