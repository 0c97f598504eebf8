from __future__ import annotations

from pathlib import Path

import pytest

from herdref.config import ConfigError, load_config, load_preset, parse_config, preset_names

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
        ("[servers]\nA = { port = 1, colour = 2 }\n", "unknown keys: colour"),
        ("[servers]\nA = { port = 1 }\n[extras]\n", "unknown tables: extras"),
        ('[servers]\nA = { port = 1 }\n[places]\nprovider = "bing"\n', "places.provider must be one of"),
        ("[servers]\nA = { port = 1 }\n[limits]\nmax_line_bytes = 3\n", "at least 64"),
    ],
)
def test_a_broken_herd_file_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_config(text)


def test_an_unknown_server_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown server 'Zed'"):
        parse_config(VALID).address("Zed")


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_an_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no preset 'course-1999'"):
        load_preset("course-1999")
