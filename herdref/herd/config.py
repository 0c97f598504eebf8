"""The herd file: one TOML document describing the whole herd (CONF-1).

The server, the CLI, the benchmark and the checker all read the same file, so a herd is
described once. Every mistake in it is a :class:`ConfigError` naming the key at fault; the CLI
prints it as one line and exits 2.

```toml
[servers]
Bailey = { port = 12000 }                 # host defaults to 127.0.0.1
# Bailey = { port = 12000, peer_port = 13000 }   # links connect here, not to port (LINK-1);
#                                               # with [peers] tls_* it is the TLS listener (PEER-4)
[links]                                   # undirected "talks with" edges
pairs = [["Clark", "Jaquez"], ["Clark", "Bona"]]
mode = "persistent"                       # or "ephemeral" (LINK-1)
[places]
provider = "auto"                         # "auto", "fixture", "legacy" or "new" (PLACES-1)
[log]
dir = "herd-logs"                         # each server writes <dir>/<name>.log
max_file_bytes = 33554432                 # then renames it <name>.log.1 and starts anew (LIMIT-5)
[peers]                                   # optional; both parts may be used together
secret_file = "peer-secret"               # PEER-3: HMAC-proved greetings
tls_cert = "tls/{name}.crt"               # PEER-4: TLS between servers, on each peer_port;
tls_key = "tls/{name}.key"                # {name} is replaced by the server's name
tls_ca = "tls/ca.crt"
```
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Literal

__all__ = [
    "DEFAULT_LOG_MAX_FILE_BYTES",
    "DEFAULT_PRESET",
    "ConfigError",
    "HerdConfig",
    "Limits",
    "PeerTlsSettings",
    "PlacesSettings",
    "ServerAddress",
    "dump_config",
    "load_config",
    "load_preset",
    "parse_config",
    "preset_names",
]

DEFAULT_PRESET: Final = "default"
#: LIMIT-5: a server's log file is rotated once it holds this much (``[log] max_file_bytes``).
DEFAULT_LOG_MAX_FILE_BYTES: Final = 32 * 1024 * 1024
LinkMode = Literal["persistent", "ephemeral"]
PlacesProvider = Literal["auto", "fixture", "legacy", "new"]
PlacesShape = Literal["legacy", "native"]
_LINK_MODES: Final = ("persistent", "ephemeral")
_PROVIDERS: Final = ("auto", "fixture", "legacy", "new")
_SHAPES: Final = ("legacy", "native")


class ConfigError(ValueError):
    """The herd file is unreadable or describes an impossible herd."""


@dataclass(frozen=True, slots=True)
class ServerAddress:
    host: str
    #: The client port (and, in a herd without TLS, the peer port too: FLOOD-6).
    port: int
    #: LINK-1: where neighbours' links connect (required with TLS, PEER-4); None: ``port``.
    peer_port: int | None = None


@dataclass(frozen=True, slots=True)
class PeerTlsSettings:
    """PEER-4: the files of TLS between servers. ``{name}`` in a path stands for the server's
    name, so one herd file gives every server its own certificate and key."""

    cert: Path
    key: Path
    ca: Path

    def for_server(self, name: str) -> PeerTlsSettings:
        """The paths of server ``name``, with ``{name}`` replaced."""
        return PeerTlsSettings(
            *(Path(str(path).replace("{name}", name)) for path in (self.cert, self.key, self.ca))
        )


@dataclass(frozen=True, slots=True)
class PlacesSettings:
    """Where WHATSAT gets its places (PLACES-1). The API key is never stored here: only where
    to read it from (PLACES-6), so a config object can be logged or printed safely."""

    #: "auto": Nearby Search (New) when an API key is configured, else the offline fixture.
    provider: PlacesProvider = "auto"
    #: Base URL of the Google endpoint; ``None`` means Google's own host for the provider.
    base_url: str | None = None
    #: For provider "new": "legacy" wraps results in the legacy envelope, "native" passes
    #: Google's ``{"places": [...]}`` through.
    shape: PlacesShape = "legacy"
    api_key_env: str = "HERDREF_PLACES_API_KEY"
    api_key_file: Path | None = None
    timeout_s: float = 5.0
    connect_timeout_s: float = 2.0
    max_concurrent: int = 32
    cache_ttl_s: float = 0.0
    #: LIMIT-6: a longer answer from Google is a Places failure, never read whole.
    max_response_bytes: int = 1_048_576


@dataclass(frozen=True, slots=True)
class Limits:
    """LIMIT-1..4, LIMIT-7: what clients may cost a server."""

    max_line_bytes: int = 65_536
    max_connections: int = 10_000
    idle_timeout_s: float = 300.0
    max_pending_reply_bytes: int = 1_048_576
    #: LIMIT-7: the client IDs one server keeps records for.
    max_clients: int = 1_000_000


@dataclass(frozen=True, slots=True)
class HerdConfig:
    servers: dict[str, ServerAddress]
    links: frozenset[frozenset[str]]
    link_mode: LinkMode = "persistent"
    places: PlacesSettings = field(default_factory=PlacesSettings)
    #: Server ``name`` logs to ``log_dir / f"{name}.log"`` (LOG-1).
    log_dir: Path = Path("herd-logs")
    #: LIMIT-5: a log file past this size is rotated to ``<name>.log.1``.
    log_max_file_bytes: int = DEFAULT_LOG_MAX_FILE_BYTES
    limits: Limits = field(default_factory=Limits)
    #: PEER-3: path of the shared secret that peers prove they know; ``None`` = open herd.
    peer_secret_file: Path | None = None
    #: PEER-4: TLS on the links between servers (each server's ``peer_port``); ``None`` = plain.
    peer_tls: PeerTlsSettings | None = None

    def neighbours(self, name: str) -> tuple[str, ...]:
        """The servers ``name`` talks with, in herd-file order."""
        return tuple(
            other for other in self.servers if other != name and frozenset((name, other)) in self.links
        )

    def address(self, name: str) -> ServerAddress:
        try:
            return self.servers[name]
        except KeyError:
            known = ", ".join(self.servers)
            raise ConfigError(f"unknown server {name!r} (this herd has {known})") from None


def _table(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table")
    return value


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    # bool is an int in Python; a port of `true` is still a mistake.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ConfigError(f"{where} has the wrong type")
    if not isinstance(value, kind):
        raise ConfigError(f"{where} has the wrong type")
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> Any:
    if value not in choices:
        raise ConfigError(f"{where} must be one of {', '.join(choices)}, not {value!r}")
    return value


_SERVER_KEYS: Final = ("port", "host", "peer_port")


def _reject_unknown_keys(table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    """ConfigError naming the first unknown key of ``table`` (and the known key it resembles)."""
    unknown = sorted(set(table) - set(known))
    if not unknown:
        return
    import difflib

    close = difflib.get_close_matches(unknown[0], known, n=1)
    hint = f" (did you mean `{close[0]}`?)" if close else f" (known keys: {', '.join(known)})"
    raise ConfigError(f"unknown key `{unknown[0]}` in [{where}]{hint}")


def _parse_servers(servers: dict[str, Any]) -> dict[str, ServerAddress]:
    if not servers:
        raise ConfigError("[servers] names no server")
    parsed: dict[str, ServerAddress] = {}
    taken: dict[tuple[str, int], str] = {}
    for name, entry in servers.items():
        if not name or any(octet in name for octet in " \t\r\n\f\v"):
            raise ConfigError(f"server name {name!r} is empty or holds white space")
        _expect(entry, dict, f"servers.{name}")
        # Before any type check: a misspelt `prot = 12001` must be named, not reported as a
        # missing `port` of the wrong type.
        _reject_unknown_keys(entry, _SERVER_KEYS, f"servers.{name}")
        port = _expect(entry.get("port"), int, f"servers.{name}.port")
        if not 1 <= port <= 65_535:
            raise ConfigError(f"servers.{name}.port {port} is outside 1..65535")
        host = _expect(entry.get("host", "127.0.0.1"), str, f"servers.{name}.host")
        peer_port: int | None = None
        if "peer_port" in entry:
            peer_port = _expect(entry["peer_port"], int, f"servers.{name}.peer_port")
            if not 1 <= peer_port <= 65_535:
                raise ConfigError(f"servers.{name}.peer_port {peer_port} is outside 1..65535")
        for user, number in ((name, port), (f"{name} (peer_port)", peer_port)):
            if number is None:
                continue
            if (host, number) in taken:
                raise ConfigError(f"servers {taken[host, number]} and {user} both use {host}:{number}")
            taken[host, number] = user
        parsed[name] = ServerAddress(host, port, peer_port)
    return parsed


def _parse_links(links: dict[str, Any], servers: dict[str, ServerAddress]) -> frozenset[frozenset[str]]:
    pairs = _expect(links.get("pairs", []), list, "links.pairs")
    edges: set[frozenset[str]] = set()
    for index, pair in enumerate(pairs):
        where = f"links.pairs[{index}]"
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(end, str) for end in pair)):
            raise ConfigError(f"{where} must be a pair of server names")
        for end in pair:
            if end not in servers:
                raise ConfigError(f"{where} names unknown server {end!r}")
        if pair[0] == pair[1]:
            raise ConfigError(f"{where} links {pair[0]!r} to itself")
        edges.add(frozenset(pair))
    return frozenset(edges)


def _optional_path(value: Any, where: str, base: Path) -> Path | None:
    if value is None:
        return None
    relative: str = _expect(value, str, where)
    return base / relative


_PLACES_KEYS: Final = frozenset(
    {
        "provider",
        "base_url",
        "shape",
        "api_key_env",
        "api_key_file",
        "timeout_s",
        "connect_timeout_s",
        "max_concurrent",
        "cache_ttl_s",
        "max_response_bytes",
    }
)


def _check_places(places: PlacesSettings, table: dict[str, Any]) -> None:
    # PLACES-6: a key written into the herd file would end up in version control and in
    # printed configs; the message names the key, never its value.
    if "api_key" in table:
        raise ConfigError(
            "places.api_key is not allowed: put the key in the environment or places.api_key_file"
        )
    unknown = set(table) - _PLACES_KEYS
    if unknown:
        raise ConfigError(f"places has unknown keys: {', '.join(sorted(unknown))}")
    if not (0 < places.timeout_s < float("inf")):
        raise ConfigError("places.timeout_s must be a positive number of seconds")
    if not (0 < places.connect_timeout_s < float("inf")):
        raise ConfigError("places.connect_timeout_s must be a positive number of seconds")
    if places.max_concurrent < 1:
        raise ConfigError("places.max_concurrent must be at least 1")
    if places.max_response_bytes < 1024:
        raise ConfigError("places.max_response_bytes must be at least 1024")
    if not (0 <= places.cache_ttl_s < float("inf")):
        raise ConfigError("places.cache_ttl_s must be a number of seconds >= 0 (0: no cache)")


_TLS_KEYS: Final = ("tls_cert", "tls_key", "tls_ca")


def _parse_peer_tls(
    peers_table: dict[str, Any], servers: dict[str, ServerAddress], base_dir: Path
) -> PeerTlsSettings | None:
    """PEER-4: TLS needs all three files and a peer_port on every server (without TLS a
    peer_port is optional: a plain listener for links, LINK-1). The files themselves are read by the server
    that uses them (``herdref.herd.peer_tls``), so one herd file can serve machines that each hold
    only their own key."""
    given = [key for key in _TLS_KEYS if key in peers_table]
    if not given:
        return None  # LINK-1: a peer_port without TLS is a plain listener for links
    missing = [key for key in _TLS_KEYS if key not in peers_table]
    if missing:
        raise ConfigError(
            f"[peers] sets {', '.join(given)} but not {', '.join(missing)}: TLS needs all three (PEER-4)"
        )
    for name, address in servers.items():
        if address.peer_port is None:
            raise ConfigError(f"servers.{name}.peer_port is required when [peers] configures TLS (PEER-4)")
    cert, key, ca = (_optional_path(peers_table[key], f"peers.{key}", base_dir) for key in _TLS_KEYS)
    assert cert is not None and key is not None and ca is not None
    return PeerTlsSettings(cert, key, ca)


def parse_config(text: str, *, base_dir: Path = Path(".")) -> HerdConfig:
    """Build a :class:`HerdConfig` from herd-file text; relative paths are taken from
    ``base_dir`` (the directory of the file)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    unknown = set(document) - {"servers", "links", "places", "log", "limits", "peers"}
    if unknown:
        raise ConfigError(f"unknown tables: {', '.join(sorted(unknown))}")
    servers = _parse_servers(_table(document, "servers"))
    links_table = _table(document, "links")
    links = _parse_links(links_table, servers)
    link_mode = _choice(links_table.get("mode", "persistent"), _LINK_MODES, "links.mode")

    places_table = _table(document, "places")
    defaults = PlacesSettings()
    places = PlacesSettings(
        provider=_choice(places_table.get("provider", defaults.provider), _PROVIDERS, "places.provider"),
        base_url=_expect(places_table.get("base_url", ""), str, "places.base_url") or None,
        shape=_choice(places_table.get("shape", defaults.shape), _SHAPES, "places.shape"),
        api_key_env=_expect(places_table.get("api_key_env", defaults.api_key_env), str, "places.api_key_env"),
        api_key_file=_optional_path(places_table.get("api_key_file"), "places.api_key_file", base_dir),
        timeout_s=float(
            _expect(places_table.get("timeout_s", defaults.timeout_s), (int, float), "places.timeout_s")
        ),
        connect_timeout_s=float(
            _expect(
                places_table.get("connect_timeout_s", defaults.connect_timeout_s),
                (int, float),
                "places.connect_timeout_s",
            )
        ),
        max_concurrent=_expect(
            places_table.get("max_concurrent", defaults.max_concurrent), int, "places.max_concurrent"
        ),
        cache_ttl_s=float(
            _expect(places_table.get("cache_ttl_s", defaults.cache_ttl_s), (int, float), "places.cache_ttl_s")
        ),
        max_response_bytes=_expect(
            places_table.get("max_response_bytes", defaults.max_response_bytes),
            int,
            "places.max_response_bytes",
        ),
    )
    _check_places(places, places_table)
    log_table = _table(document, "log")
    log_dir = base_dir / _expect(log_table.get("dir", "herd-logs"), str, "log.dir")
    log_max_file_bytes = _expect(
        log_table.get("max_file_bytes", DEFAULT_LOG_MAX_FILE_BYTES), int, "log.max_file_bytes"
    )
    if log_max_file_bytes < 4096:
        raise ConfigError("log.max_file_bytes must be at least 4096")

    limits_table = _table(document, "limits")
    limit_defaults = Limits()
    limits = Limits(
        max_line_bytes=_expect(
            limits_table.get("max_line_bytes", limit_defaults.max_line_bytes), int, "limits.max_line_bytes"
        ),
        max_connections=_expect(
            limits_table.get("max_connections", limit_defaults.max_connections), int, "limits.max_connections"
        ),
        idle_timeout_s=float(
            _expect(
                limits_table.get("idle_timeout_s", limit_defaults.idle_timeout_s),
                (int, float),
                "limits.idle_timeout_s",
            )
        ),
        max_pending_reply_bytes=_expect(
            limits_table.get("max_pending_reply_bytes", limit_defaults.max_pending_reply_bytes),
            int,
            "limits.max_pending_reply_bytes",
        ),
        max_clients=_expect(
            limits_table.get("max_clients", limit_defaults.max_clients), int, "limits.max_clients"
        ),
    )
    if limits.max_line_bytes < 64:
        raise ConfigError("limits.max_line_bytes must be at least 64")
    if limits.max_clients < 1:
        raise ConfigError("limits.max_clients must be at least 1")

    peers_table = _table(document, "peers")
    unknown_peer_keys = set(peers_table) - {"secret_file", *_TLS_KEYS}
    if unknown_peer_keys:
        # PEER-3: a misspelt key would otherwise leave the herd open without a word.
        raise ConfigError(f"[peers] has unknown keys: {', '.join(sorted(unknown_peer_keys))}")
    secret_file = _optional_path(peers_table.get("secret_file"), "peers.secret_file", base_dir)
    peer_tls = _parse_peer_tls(peers_table, servers, base_dir)
    return HerdConfig(
        servers=servers,
        links=links,
        link_mode=link_mode,
        places=places,
        log_dir=log_dir,
        log_max_file_bytes=log_max_file_bytes,
        limits=limits,
        peer_secret_file=secret_file,
        peer_tls=peer_tls,
    )


def load_config(path: Path) -> HerdConfig:
    """Read and check a herd file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    return parse_config(text, base_dir=path.parent)


def preset_names() -> list[str]:
    """The herds shipped with herdref (the course's herds, year by year)."""
    from importlib import resources  # only for the presets: a --config start skips it

    folder = resources.files("herdref.herd").joinpath("presets")
    return sorted(
        entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml")
    )


def load_preset(name: str = DEFAULT_PRESET, *, base_dir: Path = Path(".")) -> HerdConfig:
    """A shipped herd by name; relative paths in it (log dir) are taken from ``base_dir``."""
    if name not in preset_names():
        raise ConfigError(f"no preset {name!r}; presets: {', '.join(preset_names())}")
    from importlib import resources

    text = resources.files("herdref.herd").joinpath("presets", f"{name}.toml").read_text(encoding="utf-8")
    return parse_config(text, base_dir=base_dir)


# ---- writing a herd file ---------------------------------------------------------------------

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")
#: TOML basic strings must escape the quote, the backslash and every control character but tab.
_MUST_ESCAPE: Final = re.compile(r'["\\\x00-\x08\x0a-\x1f\x7f]')
_SHORT_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string. Not ``json.dumps``: it writes characters beyond the BMP
    as surrogate pairs, which TOML rejects."""
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise ConfigError(f"{text!r} holds a lone surrogate, which no TOML file can")
    escaped = _MUST_ESCAPE.sub(lambda match: _SHORT_ESCAPES.get(match[0], f"\\u{ord(match[0]):04X}"), text)
    return f'"{escaped}"'


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # TOML's own forms: 5.0, 1e-05, inf, -inf, nan
    if isinstance(value, Path):
        return _toml_string(str(value))
    if isinstance(value, str):
        return _toml_string(value)
    raise TypeError(f"no TOML form for {value!r}")


def _changed_settings(settings: PlacesSettings | Limits, defaults: PlacesSettings | Limits) -> list[str]:
    """``key = value`` for each setting that differs from its default (None: not written)."""
    lines = []
    for setting in fields(settings):
        value = getattr(settings, setting.name)
        if value is not None and value != getattr(defaults, setting.name):
            lines.append(f"{setting.name} = {_toml_value(value)}")
    return lines


def dump_config(config: HerdConfig) -> str:
    """The herd file of ``config``: ``parse_config(dump_config(config)) == config``. Every
    value is escaped; paths are written as they are held (absolute stay absolute). Settings at
    their default are left out."""
    lines = ["[servers]"]
    for name, address in config.servers.items():
        parts = [f"host = {_toml_value(address.host)}", f"port = {address.port}"]
        if address.peer_port is not None:
            parts.append(f"peer_port = {address.peer_port}")
        lines.append(f"{_toml_key(name)} = {{ {', '.join(parts)} }}")
    lines += ["", "[links]", f"mode = {_toml_value(config.link_mode)}", "pairs = ["]
    for pair in sorted(sorted(link) for link in config.links):
        lines.append(f"    [{', '.join(_toml_value(end) for end in pair)}],")
    lines.append("]")
    places = _changed_settings(config.places, PlacesSettings())
    if places:
        lines += ["", "[places]", *places]
    lines += ["", "[log]", f"dir = {_toml_value(config.log_dir)}"]
    if config.log_max_file_bytes != DEFAULT_LOG_MAX_FILE_BYTES:
        lines.append(f"max_file_bytes = {config.log_max_file_bytes}")
    limits = _changed_settings(config.limits, Limits())
    if limits:
        lines += ["", "[limits]", *limits]
    peers = []
    if config.peer_secret_file is not None:
        peers.append(f"secret_file = {_toml_value(config.peer_secret_file)}")
    if config.peer_tls is not None:
        tls = config.peer_tls
        peers += [f"tls_{part} = {_toml_value(getattr(tls, part))}" for part in ("cert", "key", "ca")]
    if peers:
        lines += ["", "[peers]", *peers]
    return "\n".join(lines) + "\n"
