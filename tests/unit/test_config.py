from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herdref.herd.config import (
    ConfigError,
    HerdConfig,
    Limits,
    PeerTlsSettings,
    PlacesSettings,
    ServerAddress,
    dump_config,
    load_config,
    load_preset,
    parse_config,
    preset_names,
)

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
        # LINK-1: persistent links over peer ports, none of which is another server's port.
        assert config.link_mode == "persistent"
        peer_ports = {address.peer_port for address in config.servers.values()}
        assert None not in peer_ports and len(peer_ports) == 5
        assert not peer_ports & {address.port for address in config.servers.values()}


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
        ("[servers]\nA = { port = 1 }\n[log]\nmax_file_bytes = 100\n", "log.max_file_bytes must be at least"),
        (
            '[servers]\nA = { port = 1 }\n[log]\nmax_file_bytes = "1M"\n',
            "log.max_file_bytes has the wrong type",
        ),
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


def test_a_peer_port_without_tls_is_a_plain_peer_listener() -> None:
    # LINK-1: links connect to a neighbour's peer_port when it has one, TLS or not.
    config = parse_config("[servers]\nA = { port = 9001, peer_port = 9101 }\nB = { port = 9002 }\n")
    assert config.peer_tls is None
    assert config.address("A").peer_port == 9101 and config.address("B").peer_port is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
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


def test_the_log_size_cap_comes_from_the_herd_file(tmp_path: Path) -> None:
    text = '[servers]\nA = { port = 1 }\n[log]\ndir = "logs"\nmax_file_bytes = 1048576\n'
    config = parse_config(text, base_dir=tmp_path)
    assert config.log_dir == tmp_path / "logs" and config.log_max_file_bytes == 1_048_576
    from herdref.herd.log import open_server_log

    log = open_server_log(config, "A")
    try:
        assert log.path == tmp_path / "logs" / "A.log" and log._max_file_bytes == 1_048_576
    finally:
        log.close()


# ---- SPEC Appendix A: the reference herd's numbers -----------------------------------------

SPEC_PATH = Path(__file__).resolve().parents[2] / "SPEC.md"
APPENDIX_ROW = re.compile(
    r"^\| (?P<clause>[A-Z]+-\d+) \| (?P<what>[^|]+) \| (?P<value>[^|]+) \| (?P<unit>[^|]+) "
    r"\| (?P<set_by>[^|]+) \| `(?P<code>[\w.]+)` \|$"
)


def appendix_rows() -> list[dict[str, str]]:
    text = SPEC_PATH.read_text(encoding="utf-8")
    appendix = text[text.index("## Appendix A.") :]
    table = [line for line in appendix.splitlines() if line.startswith("| ") and "---" not in line][1:]
    rows = []
    for line in table:
        match = APPENDIX_ROW.match(line)
        assert match is not None, f"an Appendix A row the test cannot read: {line}"
        rows.append(match.groupdict())
    return rows


def code_value(dotted: str) -> object:
    """The value a dotted name stands for: a module constant, or the default of a field of a
    config dataclass (``herdref.herd.config.Limits.max_line_bytes``)."""
    import dataclasses
    import importlib

    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            if isinstance(value, type) and dataclasses.is_dataclass(value):
                field = {field.name: field for field in dataclasses.fields(value)}[name]
                value = field.default
            else:
                value = getattr(value, name)
        return value
    raise AssertionError(f"no module in {dotted}")


def test_every_number_in_the_spec_appendix_is_the_codes() -> None:
    rows = appendix_rows()
    assert len(rows) >= 20  # the table was found and read whole
    for row in rows:
        actual = code_value(row["code"])
        assert isinstance(actual, int | float) and not isinstance(actual, bool), row
        written = row["value"].strip()
        expected = float(written) if "." in written else int(written)
        assert actual == expected and type(actual) is type(expected), (row["code"], actual, written)


def test_every_herd_file_key_in_the_spec_appendix_is_read_from_the_herd_file() -> None:
    # A row "herd file `[table] key`" must name a key the loader takes, with the same default.
    for row in appendix_rows():
        match = re.fullmatch(r"herd file `\[(\w+)\] (\w+)`", row["set_by"].strip())
        if match is None:
            assert row["set_by"].strip() == "constant", row
            continue
        table, key = match.groups()
        default = code_value(row["code"])
        assert isinstance(default, int | float)
        base = "[servers]\nA = { port = 1 }\n"
        config = parse_config(f"{base}[{table}]\n{key} = {default!r}\n")
        assert config == parse_config(base), (table, key)  # the default, written out, changes nothing
        changed = default * 2 or default + 1
        config = parse_config(f"{base}[{table}]\n{key} = {changed!r}\n")
        assert config != parse_config(base), (table, key)  # and the key is read


# ---- dump_config: the herd file of a HerdConfig ---------------------------------------------

#: Any text a TOML file can hold: no lone surrogates (Python strings may, TOML files may not).
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
#: Server names: not empty, none of the white space CONF-1 forbids, quotes and backslashes welcome.
_names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\r\n\f\v"), min_size=1, max_size=8
) | st.sampled_from(['a"b', "back\\slash", "Ünïcødé", "😀", "x\x7fy", "[servers]"])
_paths = st.builds(Path, _text) | st.builds(lambda text: Path("/") / text, _text)
_seconds = st.floats(min_value=1e-9, max_value=1e9, allow_nan=False)


@st.composite
def herd_configs(draw: st.DrawFn) -> HerdConfig:
    names = draw(st.lists(_names, min_size=1, max_size=5, unique=True))
    tls = draw(st.booleans())
    ports = draw(
        st.lists(st.integers(1, 65_535), min_size=2 * len(names), max_size=2 * len(names), unique=True)
    )
    with_peer_port = [tls or draw(st.booleans()) for _ in names]
    servers = {
        name: ServerAddress(
            draw(_text | st.just("127.0.0.1")),
            ports[2 * index],
            ports[2 * index + 1] if with_peer_port[index] else None,
        )
        for index, name in enumerate(names)
    }
    pairs = st.tuples(st.sampled_from(names), st.sampled_from(names)).filter(lambda pair: pair[0] != pair[1])
    links = frozenset(frozenset(pair) for pair in draw(st.lists(pairs, max_size=6)))
    places = PlacesSettings(
        provider=draw(st.sampled_from(["auto", "fixture", "legacy", "new"])),
        base_url=draw(st.none() | _text.filter(bool)),
        shape=draw(st.sampled_from(["legacy", "native"])),
        api_key_env=draw(_text),
        api_key_file=draw(st.none() | _paths),
        timeout_s=draw(_seconds),
        connect_timeout_s=draw(_seconds),
        max_concurrent=draw(st.integers(1, 2**31)),
        cache_ttl_s=draw(st.just(0.0) | _seconds),
        max_response_bytes=draw(st.integers(1024, 2**40)),
    )
    limits = Limits(
        max_line_bytes=draw(st.integers(64, 2**31)),
        max_connections=draw(st.integers(-(2**31), 2**31)),
        idle_timeout_s=draw(st.floats(allow_nan=False)),
        max_pending_reply_bytes=draw(st.integers(0, 2**40)),
        max_clients=draw(st.integers(1, 2**40)),
    )
    return HerdConfig(
        servers=servers,
        links=links,
        link_mode=draw(st.sampled_from(["persistent", "ephemeral"])),
        places=places,
        log_dir=draw(_paths),
        log_max_file_bytes=draw(st.integers(4096, 2**40)),
        limits=limits,
        peer_secret_file=draw(st.none() | _paths),
        peer_tls=PeerTlsSettings(*(draw(_paths) for _ in range(3))) if tls else None,
    )


# A herd file is a large draw (five servers, links, limits, paths): on a busy machine its
# generation alone can trip the speed health check and the per-example deadline, which say
# nothing about the round trip tested here.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(herd_configs())
def test_a_dumped_herd_file_reads_back_as_the_same_herd(config: HerdConfig) -> None:
    assert parse_config(dump_config(config)) == config


def test_a_dumped_herd_file_escapes_what_toml_must_escape(tmp_path: Path) -> None:
    name = 'say"hi"\\to\x7f😀'
    config = HerdConfig(
        servers={name: ServerAddress("127.0.0.1", 9001)}, links=frozenset(), log_dir=tmp_path / 'l"o\\g'
    )
    text = dump_config(config)
    assert '"say\\"hi\\"\\\\to\\u007F😀" = { host = "127.0.0.1", port = 9001 }' in text
    path = tmp_path / "herd.toml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path) == config


def test_a_string_no_toml_file_can_hold_is_a_config_error() -> None:
    config = HerdConfig(servers={"A": ServerAddress("\udc80", 9001)}, links=frozenset())
    with pytest.raises(ConfigError, match="lone surrogate"):
        dump_config(config)
