"""The compiled stablecoin, committed beside its source (rebuild: `python -m finance.chain.contracts.build`)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_ARTIFACT = Path(__file__).resolve().parent / "contracts" / "Stablecoin.json"


@cache
def stablecoin_artifact() -> dict[str, Any]:
    return json.loads(_ARTIFACT.read_text())


def stablecoin_abi() -> list[dict[str, Any]]:
    return stablecoin_artifact()["abi"]
