"""Rebuild the committed stablecoin artifact: `python -m finance.chain.contracts.build`.

The artifact is committed so that running the treasurer never needs a compiler; this module
is the one command that regenerates it after `Stablecoin.vy` changes (vyper is a dev dependency).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "Stablecoin.vy"
ARTIFACT = HERE / "Stablecoin.json"


def build() -> dict:
    vyper = Path(sys.executable).with_name("vyper")
    out = subprocess.run(
        [str(vyper), "-f", "abi,bytecode", str(SOURCE)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    version = subprocess.run([str(vyper), "--version"], check=True, capture_output=True, text=True).stdout
    return {
        "contractName": "Stablecoin",
        "compiler": f"vyper {version.strip()}",
        "abi": json.loads(out[0]),
        "bytecode": out[1].strip(),
    }


if __name__ == "__main__":
    ARTIFACT.write_text(json.dumps(build(), indent=2) + "\n")
    print(f"wrote {ARTIFACT.relative_to(Path.cwd()) if ARTIFACT.is_relative_to(Path.cwd()) else ARTIFACT}")
