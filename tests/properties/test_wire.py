"""Wire tier of the property suite: the tests live in the package
(:mod:`herdref.checker.wire_properties`) so that ``pytest -m properties --herd-launch ...``
works from any folder; this module collects them in the checkout too.

    pytest -m properties tests/properties/test_wire.py \
        --herd-launch 'python3 server.py {name} --config {config}' --herd-config herd.toml
"""

from __future__ import annotations

import pytest

from herdref.checker.wire_properties import (
    test_iamat_reply_over_tcp,
    test_state_machine_over_tcp,
    test_whatsat_reply_over_tcp,
)

pytestmark = pytest.mark.properties

__all__ = ["test_iamat_reply_over_tcp", "test_state_machine_over_tcp", "test_whatsat_reply_over_tcp"]
