"""The Matrix fixtures (tests/support/matrix.py, tests/support/synapse.py) for this directory."""

from tests.support.matrix import make_bot, make_human  # noqa: F401  (fixtures)
from tests.support.synapse import matrix_client, synapse  # noqa: F401  (fixtures)
