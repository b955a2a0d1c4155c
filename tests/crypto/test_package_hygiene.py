"""The crypto package imports only PyNaCl and the standard library, and never logs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import c2p_bot.core.crypto as crypto

PACKAGE_DIR = Path(crypto.__file__).parent
ALLOWED_TOP = {"nacl", "__future__"}


def _imports(path: Path) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


def test_only_stdlib_and_nacl() -> None:
    for path in PACKAGE_DIR.glob("*.py"):
        for name, level in _imports(path):
            if level:
                continue
            top = name.split(".")[0]
            assert top in ALLOWED_TOP or top in sys.stdlib_module_names, (path.name, name)
            assert top not in {"logging", "c2p_bot", "storage", "matching"}, (path.name, name)


def test_no_print_calls() -> None:
    for path in PACKAGE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", path.name


def test_all_exports_resolve() -> None:
    for name in crypto.__all__:
        assert hasattr(crypto, name), name
