"""herdref: the specification, reference herd and checker for the server herd protocol.

The names below are imported on first use (PEP 562), not with the package: every module of
herdref imports this package first, and ``herdref serve`` binds its port before it needs the
protocol or the node (``herdref/herd/listen.py`` says why)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each public name lives.
_HOMES: dict[str, str] = {
    **dict.fromkeys(("ConfigError", "HerdConfig", "load_config", "load_preset"), "herdref.herd.config"),
    **dict.fromkeys(("HerdNode", "PlacesLookup", "Reaction", "Session"), "herdref.herd.node"),
    "LocationTable": "herdref.herd.state",
    **dict.fromkeys(
        (
            "At",
            "IAmAt",
            "Message",
            "Peer",
            "ProtocolError",
            "WhatsAt",
            "format_message",
            "parse_line",
            "parse_line_lark",
        ),
        "herdref.protocol",
    ),
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then kept in the package);
    ``herdref.__version__``: the installed distribution's version (pyproject.toml is its one
    source), looked up on first use so that importing herdref does not import
    ``importlib.metadata`` (tens of milliseconds on every ``herdref serve`` start)."""
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import metadata

    try:
        return metadata.version("herdref")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
