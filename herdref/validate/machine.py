"""The stateful black-box run (see run_stateful); filled in once herdref.model lands."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from herdref.validate.runner import Outcome
    from herdref.validate.target import Target

__all__ = ["run_stateful"]


def run_stateful(target: Target, *, profile: str, examples: int | None) -> Outcome | None:
    """None: the shared model (herdref.model) is not available, so no stateful run."""
    try:
        import herdref.model  # noqa: F401
    except ImportError:
        return None
    return None
