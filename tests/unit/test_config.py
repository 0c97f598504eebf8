from __future__ import annotations

import re
from pathlib import Path

import pytest

from herdref.herd.config import ConfigError, load_config, load_preset, parse_config, preset_names

VALID = """
[servers]
Alpha = { port = 9001 }
Beta = { port = 9002, host = "10.0.0.2" }
Gamma = { port = 9003 }
[links]
mode = "ephemeral"
pairs = [["Alpha", "Beta"], ["Beta", "Gamma"]]
[log]
dir = "logs"
"""


def test_a_valid_herd_file_describes_servers_links_and_mode() -> None:
    config = parse_config(VALID, base_dir=Path("/srv/herd"))
    assert list(config.servers) == ["Alpha", "Beta", "Gamma"]
    assert config.address("Beta").host == "10.0.0.2"
    assert config.address("Alpha").host == "127.0.0.1"
    assert config.neighbours("Beta") == ("Alpha", "Gamma")
    assert config.neighbours("Alpha") == ("Beta",)
    assert config.link_mode == "ephemeral"
    assert config.log_dir == Path("/srv/herd/logs")
    assert config.places.provider == "auto"


def test_the_default_preset_is_the_courses_current_herd() -> None:
    config = load_preset()
    assert sorted(config.servers) == ["Bailey", "Bona", "Campbell", "Clark", "Jaquez"]
    edges = {tuple(sorted(edge)) for edge in config.links}
    assert edges == {
        ("Clark", "Jaquez"),
        ("Bona", "Clark"),
        ("Bailey", "Campbell"),
        ("Bona", "Campbell"),
        ("Campbell", "Jaquez"),
        ("Bailey", "Bona"),
    }
    assert config.link_mode == "persistent"


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_with_five_servers_on_distinct_ports(name: str) -> None:
    config = load_preset(name)
    assert len(config.servers) == 5
    assert len({address.port for address in config.servers.values()}) == 5
    if name.startswith("course-"):
        assert config.link_mode == "ephemeral"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[servers\n", "not valid TOML"),
        ("[servers]\n", "names no server"),
        ('[servers]\nA = { port = 1 }\n[links]\npairs = [["A", "B"]]\n', "unknown server 'B'"),
        ("[servers]\nA = { port = 1 }\nB = { port = 1 }\n", "both use 127.0.0.1:1"),
        ('[servers]\nA = { port = "x" }\n', "servers.A.port has the wrong type"),
        ("[servers]\nA = { port = true }\n", "servers.A.port has the wrong type"),
        ("[servers]\nA = { port = 70000 }\n", "outside 1..65535"),
        ('[servers]\nA = { port = 1 }\n[links]\nmode = "sometimes"\n', "links.mode must be one of"),
        ('[servers]\nA = { port = 1 }\n[links]\npairs = [["A", "A"]]\n', "links 'A' to itself"),
        ('[servers]\nA = { port = 1 }\n[links]\npairs = [["A"]]\n', "must be a pair"),
        ("[servers]\nA = { port = 1, colour = 2 }\n", "unknown key `colour` in "),
        ("[servers]\nA = { port = 1 }\n[extras]\n", "unknown tables: extras"),
        ('[servers]\nA = { port = 1 }\n[places]\nprovider = "bing"\n', "places.provider must be one of"),
        ("[servers]\nA = { port = 1 }\n[limits]\nmax_line_bytes = 3\n", "at least 64"),
    ],
)
def test_a_broken_herd_file_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_config(text)


def test_a_misspelt_server_key_is_named_not_reported_as_a_missing_port() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[servers]\nBailey = { prot = 12001 }\n")
    assert str(caught.value) == "unknown key `prot` in [servers.Bailey] (did you mean `port`?)"


def test_an_unknown_server_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown server 'Zed'"):
        parse_config(VALID).address("Zed")


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_an_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no preset 'course-1999'"):
        load_preset("course-1999")


# ---- PEER-4: TLS between servers --------------------------------------------------------------

TLS_PEERS = '[peers]\ntls_cert = "tls/{name}.crt"\ntls_key = "tls/{name}.key"\ntls_ca = "tls/ca.crt"\n'


def test_tls_gives_each_server_a_peer_port_and_its_own_files() -> None:
    text = "[servers]\nA = { port = 9001, peer_port = 9101 }\nB = { port = 9002, peer_port = 9102 }\n"
    config = parse_config(text + TLS_PEERS, base_dir=Path("/srv/herd"))
    assert config.address("A").peer_port == 9101
    assert config.peer_tls is not None
    files = config.peer_tls.for_server("B")
    assert (files.cert, files.key, files.ca) == (
        Path("/srv/herd/tls/B.crt"),
        Path("/srv/herd/tls/B.key"),
        Path("/srv/herd/tls/ca.crt"),
    )


def test_without_tls_there_is_no_peer_port() -> None:
    config = parse_config(VALID)
    assert config.peer_tls is None
    assert all(address.peer_port is None for address in config.servers.values())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[servers]\nA = { port = 1, peer_port = 2 }\n", "servers.A.peer_port needs [peers] tls_cert"),
        ("[servers]\nA = { port = 1 }\n" + TLS_PEERS, "servers.A.peer_port is required"),
        (
            '[servers]\nA = { port = 1, peer_port = 2 }\n[peers]\ntls_cert = "c"\ntls_ca = "a"\n',
            "sets tls_cert, tls_ca but not tls_key",
        ),
        ("[servers]\nA = { port = 1, peer_port = 1 }\n" + TLS_PEERS, "servers A and A (peer_port) both use"),
        (
            "[servers]\nA = { port = 1, peer_port = 3 }\nB = { port = 3, peer_port = 4 }\n" + TLS_PEERS,
            "servers A (peer_port) and B both use 127.0.0.1:3",
        ),
        ('[servers]\nA = { port = 1, peer_port = "x" }\n' + TLS_PEERS, "servers.A.peer_port has the wrong"),
        ("[servers]\nA = { port = 1, peer_port = 0 }\n" + TLS_PEERS, "peer_port 0 is outside 1..65535"),
        ("[servers]\nA = { port = 1 }\n[peers]\ntls_certificate = 'c'\n", "unknown keys: tls_certificate"),
    ],
)
def test_a_broken_tls_setting_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(text)


def test_the_same_port_on_different_hosts_is_allowed() -> None:
    text = '[servers]\nA = { port = 1, peer_port = 2 }\nB = { port = 2, host = "127.0.0.2", peer_port = 1 }\n'
    config = parse_config(text + TLS_PEERS)
    assert config.address("B").peer_port == 1
