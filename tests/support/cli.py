"""Running the `c2p-bot` command as an operator would: a subprocess in a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(args: list[str], cwd: Path, stdin: str = "", env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m c2p_bot *args`` in ``cwd``, without the caller's ``C2P_*`` variables."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("C2P_")}
    full_env["XDG_CONFIG_HOME"] = str(cwd / ".config")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "c2p_bot", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=full_env)
