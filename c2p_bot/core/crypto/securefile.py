"""Owner-only (0600) secret files: atomic exclusive creation, checked reads."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from .errors import CryptoError

_MAX_SIZE = 4096


def make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and every missing parent with mode 0700 (whatever the umask).

    Folders that already exist are left as they are. (``Path.mkdir(parents=True)`` gives only
    the last folder the mode; the others get the umask's default, usually 0755.)
    """
    missing = []
    for folder in (directory, *directory.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
            os.chmod(folder, 0o700)


def create_secret_file(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 (folders it creates 0700); never overwrite.

    Raises :class:`FileExistsError` if it already exists.
    """
    make_private_dirs(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        data = memoryview(text.encode("ascii"))
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    os.close(fd)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def read_secret_file(path: Path, error: type[CryptoError], what: str) -> str | None:
    """Return the text of ``path``, or ``None`` if it does not exist.

    Refuses (raises ``error``) files readable or writable by group/others,
    non-regular files and oversized or non-ASCII content.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"Cannot open {what} {path}: {exc.strerror}", code="unreadable") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{what} {path} is not a regular file", code="not_a_file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise error(
                f"{what} {path} is accessible by other users (mode {mode:04o}); "
                f"restrict it with: chmod 600 {path}",
                code="insecure_permissions",
            )
        data = os.read(fd, _MAX_SIZE + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_SIZE:
        raise error(f"{what} {path} is too large", code="malformed")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise error(f"{what} {path} is malformed", code="malformed") from None
