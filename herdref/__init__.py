"""herdref: the specification, reference herd and checker for the server herd protocol."""

from herdref.herd.config import ConfigError, HerdConfig, load_config, load_preset
from herdref.herd.node import HerdNode, PlacesLookup, Reaction, Session
from herdref.herd.state import LocationTable
from herdref.protocol import (
    At,
    IAmAt,
    Message,
    Peer,
    ProtocolError,
    WhatsAt,
    format_message,
    parse_line,
    parse_line_lark,
)

__all__ = [
    "At",
    "ConfigError",
    "HerdConfig",
    "HerdNode",
    "IAmAt",
    "LocationTable",
    "Message",
    "Peer",
    "PlacesLookup",
    "ProtocolError",
    "Reaction",
    "Session",
    "WhatsAt",
    "format_message",
    "load_config",
    "load_preset",
    "parse_line",
    "parse_line_lark",
]


def __getattr__(name: str) -> str:
    """``herdref.__version__``: the installed distribution's version (pyproject.toml is its one
    source), looked up on first use so that importing herdref does not import
    ``importlib.metadata`` (tens of milliseconds on every ``herdref serve`` start)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import metadata

    try:
        return metadata.version("herdref")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"
