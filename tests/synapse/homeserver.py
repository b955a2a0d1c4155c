"""Provision a throw-away Synapse homeserver on 127.0.0.1 for integration tests.

Synapse is installed once into a cached virtual environment (default
``~/.cache/c2p-bot/synapse-venv``, override with ``C2P_SYNAPSE_VENV``) and
reused on later runs. Each :class:`SynapseServer` gets its own temporary
directory with a generated config, an SQLite database and a log file, and
listens on a free loopback port. Nothing here talks to anything but PyPI (for
the one-time install) and 127.0.0.1.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

#: Version range of Synapse that the tests are written against.
SYNAPSE_REQUIREMENT = "matrix-synapse>=1.160,<1.170"
DEFAULT_VENV = Path("~/.cache/c2p-bot/synapse-venv").expanduser()
VENV_ENV_VAR = "C2P_SYNAPSE_VENV"
READY_MARKER = ".c2p-synapse-ready"
START_TIMEOUT = 60.0
INSTALL_TIMEOUT = 900.0


class SynapseUnavailable(RuntimeError):
    """Synapse could not be installed or started; the message says why."""


def venv_path() -> Path:
    override = os.environ.get(VENV_ENV_VAR)
    return Path(override).expanduser() if override else DEFAULT_VENV


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _importable(venv: Path) -> bool:
    python = _venv_python(venv)
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import synapse.app.homeserver"],
        capture_output=True,
        timeout=120,
    )
    return probe.returncode == 0


def ensure_synapse_venv(venv: Path | None = None) -> Path:
    """Return the Python of a virtualenv with Synapse, creating it if needed.

    Creation is guarded by a file lock so concurrent test runs don't race, and
    a marker file is written only after a successful install, so an
    interrupted install is redone from scratch next time.
    """
    venv = venv or venv_path()
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / (venv.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = venv / READY_MARKER
        if marker.exists() and marker.read_text() == SYNAPSE_REQUIREMENT and _importable(venv):
            return _venv_python(venv)
        if venv.exists():
            shutil.rmtree(venv)
        base_python = getattr(sys, "_base_executable", None) or sys.executable
        try:
            subprocess.run(
                [base_python, "-m", "venv", str(venv)],
                check=True,
                capture_output=True,
                timeout=300,
            )
            subprocess.run(
                [
                    str(_venv_python(venv)),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    SYNAPSE_REQUIREMENT,
                ],
                check=True,
                capture_output=True,
                timeout=INSTALL_TIMEOUT,
            )
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or b"").decode(errors="replace")[-3000:]
            raise SynapseUnavailable(
                f"could not install {SYNAPSE_REQUIREMENT} into {venv}: {exc}\n{tail}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise SynapseUnavailable(f"installing Synapse into {venv} timed out") from exc
        if not _importable(venv):
            raise SynapseUnavailable(f"Synapse installed into {venv} but cannot be imported")
        marker.write_text(SYNAPSE_REQUIREMENT)
        return _venv_python(venv)


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM Synapse if the test process dies.

    Keeps a killed pytest from leaving an orphaned server behind.
    """
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unpadded_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


_RELAXED = {"per_second": 1000, "burst_count": 1000}


def build_config(workdir: Path, port: int, shared_secret: str) -> dict[str, Any]:
    """The Synapse configuration used for tests (JSON is valid YAML)."""
    return {
        "server_name": "localhost",
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(workdir / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}},
        "log_config": str(workdir / "log.config"),
        "media_store_path": str(workdir / "media_store"),
        "signing_key_path": str(workdir / "localhost.signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_urlsafe(32),
        "form_secret": secrets.token_urlsafe(32),
        "enable_registration": False,
        "report_stats": False,
        "enable_metrics": False,
        "url_preview_enabled": False,
        "presence": {"enabled": False},
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        # Nothing federates: no federation listener, and no remote servers allowed.
        "federation_domain_whitelist": [],
        "rc_message": _RELAXED,
        "rc_registration": _RELAXED,
        "rc_login": {"address": _RELAXED, "account": _RELAXED, "failed_attempts": _RELAXED},
        "rc_joins": {"local": _RELAXED, "remote": _RELAXED},
        "rc_joins_per_room": _RELAXED,
        "rc_invites": {"per_room": _RELAXED, "per_user": _RELAXED, "per_issuer": _RELAXED},
        "rc_3pid_validation": _RELAXED,
        "rc_admin_redaction": _RELAXED,
        "rc_key_requests": _RELAXED,
        "rc_room_creation": _RELAXED,
        "rc_media_create": _RELAXED,
        "rc_delayed_event_mgmt": _RELAXED,
        "rc_reports": _RELAXED,
        "rc_user_directory": _RELAXED,
        "rc_profile": _RELAXED,
        "rc_presence": {"per_user": _RELAXED},
    }


def build_log_config(log_file: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "formatters": {
            "plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"},
        },
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "plain",
                "filename": str(log_file),
                "level": "WARNING",
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


class SynapseServer:
    """One running Synapse process with its own temporary state."""

    def __init__(self, python: Path, workdir: Path | None = None) -> None:
        self.python = python
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="c2p-synapse-"))
        self.port = 0
        self.shared_secret = secrets.token_urlsafe(32)
        self.process: subprocess.Popen[bytes] | None = None
        self._output: Any = None
        #: Seconds spent making sure the venv exists / starting the process.
        self.install_seconds = 0.0
        self.start_seconds = 0.0
        atexit.register(self.stop)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def server_name(self) -> str:
        return "localhost"

    @property
    def log_file(self) -> Path:
        return self.workdir / "homeserver.log"

    @property
    def output_file(self) -> Path:
        return self.workdir / "synapse.out"

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "media_store").mkdir(exist_ok=True)
        seed = secrets.token_bytes(32)
        key_file = self.workdir / "localhost.signing.key"
        key_file.write_text(f"ed25519 a_test {_unpadded_b64(seed)}\n")
        key_file.chmod(0o600)
        (self.workdir / "log.config").write_text(
            json.dumps(build_log_config(self.log_file), indent=1)
        )
        config = self.workdir / "homeserver.yaml"
        config.write_text(
            json.dumps(build_config(self.workdir, self.port, self.shared_secret), indent=1)
        )
        return config

    def start(self, timeout: float = START_TIMEOUT, attempts: int = 3) -> None:
        """Start Synapse and wait until the client API answers.

        A free port is picked each attempt (another process could grab it
        between the probe and Synapse's bind).
        """
        last_error = ""
        for _ in range(attempts):
            self.port = free_port()
            config = self._write_config()
            self._output = open(self.output_file, "ab")  # noqa: SIM115 - closed in stop()
            self.process = subprocess.Popen(
                [str(self.python), "-m", "synapse.app.homeserver", "-c", str(config)],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
            try:
                self._wait_ready(timeout)
                return
            except SynapseUnavailable as exc:
                last_error = str(exc)
                self.stop(remove_workdir=False)
        raise SynapseUnavailable(last_error)

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        url = self.base_url + "/_matrix/client/versions"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise SynapseUnavailable(
                    f"Synapse exited with code {code} during start-up:\n{self.diagnostics()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.2)
        raise SynapseUnavailable(
            f"Synapse did not answer {url} within {timeout:.0f}s:\n{self.diagnostics()}"
        )

    def diagnostics(self, limit: int = 4000) -> str:
        parts = []
        for path in (self.output_file, self.log_file):
            if path.exists():
                parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-limit:]}")
        return "\n".join(parts)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise RuntimeError(f"{method} {path} failed: {exc.code} {detail}") from exc

    def register_user(self, name: str, password: str, admin: bool = False) -> str:
        """Register a user via the shared-secret admin API; return the user id.

        This is what ``register_new_matrix_user`` does, without starting
        another Python process.
        """
        nonce = self._request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, name, password):
            mac.update(part.encode())
            mac.update(b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        result = self._request(
            "POST",
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": name,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        return str(result["user_id"])

    def stop(self, remove_workdir: bool = True) -> None:
        """Terminate Synapse (kill it if it lingers) and clean up."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._output is not None:
            self._output.close()
            self._output = None
        if remove_workdir and self._own_workdir:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.workdir)

    def __enter__(self) -> SynapseServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_synapse(venv: Path | None = None, workdir: Path | None = None) -> SynapseServer:
    """Install Synapse if needed, start it, and return the running server."""
    started = time.monotonic()
    python = ensure_synapse_venv(venv)
    server = SynapseServer(python, workdir)
    server.install_seconds = time.monotonic() - started
    started = time.monotonic()
    server.start()
    server.start_seconds = time.monotonic() - started
    return server
