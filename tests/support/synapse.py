"""Fixtures for tests that need a real Synapse homeserver (re-exported by the conftest.py of
tests/synapse and tests/matrix, and imported by the tests elsewhere that need them).

The ``synapse`` fixture starts one server per test session. If it can't be
installed or started (``SynapseUnavailable``), tests fail under CI (any
true-ish ``CI``) and are skipped elsewhere. Any other error while provisioning
is a bug in the test tooling: it errors the tests everywhere, never a skip.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from nio import AsyncClient

from tests.support.ci import need_server
from tests.synapse.helpers import make_client
from tests.synapse.homeserver import SynapseServer, SynapseUnavailable, start_synapse


def provision_synapse(start: Callable[[], SynapseServer] = start_synapse) -> SynapseServer:
    """``start()``, or fail (CI) / skip (elsewhere) when Synapse is unavailable.

    Only ``SynapseUnavailable`` means "no server here"; any other exception is
    a provisioning bug and propagates, so it is never hidden as a skip.
    """
    try:
        return start()
    except SynapseUnavailable as exc:
        need_server(f"Synapse homeserver unavailable: {exc}")


@pytest.fixture(scope="session")
def synapse() -> Iterator[SynapseServer]:
    """A running Synapse on 127.0.0.1 (server name ``localhost``), one per session."""
    server = provision_synapse()
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
