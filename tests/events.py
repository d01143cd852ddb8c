"""load_event(name): the sample event events/NAME.json that `sam local invoke -e` and the tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


def load_event(name: str) -> dict[str, Any]:
    """events/NAME.json (NAME with or without the .json suffix) as a dict."""
    file_name = name if name.endswith(".json") else f"{name}.json"
    data: dict[str, Any] = json.loads((EVENTS_DIR / file_name).read_text())
    return data
