"""Each scenario prints one figure line so a regression shows as a number."""

from __future__ import annotations

import json
import os
from pathlib import Path


def figure(scenario: str, **values: object) -> None:
    line = f"[reliability] {scenario}: " + ", ".join(f"{k}={v}" for k, v in values.items())
    print(line)
    target = os.environ.get("C2P_RELIABILITY_REPORT")
    if target:
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(json.dumps({"scenario": scenario, **{k: str(v) for k, v in values.items()}}) + "\n")
