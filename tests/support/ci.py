"""The CI skip policy: a server a test needs may be missing on a laptop, never under CI.

Any true-ish ``CI`` (``1``, ``true``, ``yes``, ``on``, in any case) counts as CI,
because CI services spell it differently (GitHub and GitLab say ``true``, others
``1``). Under CI a missing server fails the test with the reason; elsewhere it
skips it with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest

TRUE_ISH = frozenset({"1", "true", "yes", "on"})


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``CI`` (from ``environ``, default ``os.environ``) is set to a true-ish value."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() in TRUE_ISH


def need_server(reason: str, environ: Mapping[str, str] | None = None) -> NoReturn:
    """A server a test needs is missing: fail under CI, skip elsewhere; either way say why."""
    if in_ci(environ):
        pytest.fail(f"required test server unavailable under CI: {reason}")
    pytest.skip(reason)
