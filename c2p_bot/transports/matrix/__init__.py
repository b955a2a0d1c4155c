"""Matrix transport (matrix-nio with end-to-end encryption).

``attach_matrix(runtime, config.matrix, keyring)`` registers a :class:`MatrixTransport` with the
runtime; ``await transport.start()`` / ``await transport.stop()`` run it. See README.md here.
"""

from c2p_bot.transports.matrix.session import MatrixStartError
from c2p_bot.transports.matrix.transport import MATRIX_PACING, MatrixTransport, attach_matrix

__all__ = ["MATRIX_PACING", "MatrixStartError", "MatrixTransport", "attach_matrix"]
