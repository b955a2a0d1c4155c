"""Fixtures for tests that need a real Synapse homeserver.

The ``synapse`` fixture starts one server per test session. If it can't be
provisioned, tests fail under CI (``CI=true``) and are skipped elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from nio import AsyncClient

from tests.synapse.helpers import make_client
from tests.synapse.homeserver import SynapseServer, start_synapse


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Synapse is required under CI but could not be provisioned: {reason}")
    pytest.skip(f"Synapse homeserver unavailable: {reason}")


@pytest.fixture(scope="session")
def synapse() -> Iterator[SynapseServer]:
    """A running Synapse on 127.0.0.1 (server name ``localhost``), one per session."""
    try:
        server = start_synapse()
    except Exception as exc:  # any failure to provision means "unavailable"
        _unavailable(f"{type(exc).__name__}: {exc}")
        raise  # unreachable: _unavailable always raises
    try:
        yield server
    finally:
        server.stop()


MatrixClientFactory = Callable[..., Awaitable[AsyncClient]]


@pytest.fixture
async def matrix_client(
    synapse: SynapseServer, tmp_path: Path
) -> AsyncIterator[MatrixClientFactory]:
    """Factory ``await matrix_client(name, **kw)`` -> logged-in encrypted nio client.

    The store goes under the test's ``tmp_path``; every client it made is
    closed at teardown.
    """
    clients: list[AsyncClient] = []

    async def factory(name: str, **kwargs: object) -> AsyncClient:
        kwargs.setdefault("store_dir", tmp_path / f"store-{name}-{len(clients)}")
        client = await make_client(synapse, name, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()
