"""``herdref bench``'s pure parts: the flooding bound it reports against."""

from __future__ import annotations

from herdref.herd.config import load_preset, parse_config
from herdref.tools.bench import flooding_bound


def test_the_bound_of_the_default_herd_counts_each_link_end_but_one_per_server_reached() -> None:
    config = load_preset()
    link_ends = sum(len(config.neighbours(name)) for name in config.servers)
    assert (link_ends, len(config.servers)) == (12, 5)
    assert flooding_bound(config) == 12 - (5 - 1)


def test_a_herd_in_two_parts_has_no_one_bound() -> None:
    text = '[servers]\nA = { port = 1 }\nB = { port = 2 }\nC = { port = 3 }\n[links]\npairs = [["A", "B"]]\n'
    assert flooding_bound(parse_config(text)) is None
