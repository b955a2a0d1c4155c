"""The Synapse fixtures (tests/support/synapse.py) for the tests in this directory."""

from tests.support.synapse import matrix_client, synapse  # noqa: F401  (fixtures)
