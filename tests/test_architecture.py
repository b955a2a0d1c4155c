"""The dependency rule: transports → core → storage → matching; no chat SDK below transports."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDKS = {"telegram", "nio", "aiohttp"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_storage_and_matching_never_import_a_chat_sdk() -> None:
    for package in ("c2p_bot/core", "storage", "matching"):
        for path in (ROOT / package).rglob("*.py"):
            assert not (_imports(path) & SDKS), f"{path} imports a chat SDK"


def test_matching_imports_nothing_from_the_project() -> None:
    for path in (ROOT / "matching").rglob("*.py"):
        assert not (_imports(path) & {"c2p_bot", "storage"}), path


def test_import_linter_contracts_hold() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_assert_in_production_code() -> None:
    """``python -O`` removes asserts: a check the code relies on raises an explicit error instead
    (c2p_bot.core.errors.InvariantError, TypeError, ValueError)."""
    found = []
    for package in ("c2p_bot", "storage", "matching"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            found += [f"{path.relative_to(ROOT)}:{node.lineno}"
                      for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert not found, "assert in production code: " + ", ".join(found)


def test_no_module_over_400_lines() -> None:
    """Every module stays readable in one sitting."""
    long = []
    for package in ("c2p_bot", "storage", "matching"):
        for path in (ROOT / package).rglob("*.py"):
            lines = len(path.read_text().splitlines())
            if lines > 400:
                long.append(f"{path.relative_to(ROOT)} ({lines})")
    assert not long, "modules over 400 lines: " + ", ".join(long)
