"""A model of a herd, built from observations, and the properties every herd must keep.

``herd`` holds the model (what each server may and must hold), ``properties`` the properties over
observed tables and link logs, ``replies`` the judgement of single replies.
"""

from __future__ import annotations

from herdref.model.herd import (
    ConnectionLog,
    HerdModel,
    Link,
    Record,
    Snapshot,
    Tables,
    Violation,
    client_time_value,
    components,
    flooding_bound,
    link,
)
from herdref.model.properties import (
    check_agreement,
    check_convergence,
    check_duplicates,
    check_efficiency,
    check_known,
    check_monotonicity,
    check_no_leakage,
)
from herdref.model.replies import check_iamat_reply, check_whatsat_reply, expected_time_diff

__all__ = [
    "ConnectionLog",
    "HerdModel",
    "Link",
    "Record",
    "Snapshot",
    "Tables",
    "Violation",
    "check_agreement",
    "check_convergence",
    "check_duplicates",
    "check_efficiency",
    "check_iamat_reply",
    "check_known",
    "check_monotonicity",
    "check_no_leakage",
    "check_whatsat_reply",
    "client_time_value",
    "components",
    "expected_time_diff",
    "flooding_bound",
    "link",
]
