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
__version__ = "0.1.0"
