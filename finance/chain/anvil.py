"""Start a local anvil node (npm package @foundry-rs/anvil) for tests, benchmarks and fault drills.

Only ever binds to loopback.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

_DEFAULT_BIN = Path(__file__).resolve().parents[2] / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"


class AnvilUnavailable(RuntimeError):
    pass


class AnvilNode:
    def __init__(self, port: int, process: subprocess.Popen) -> None:
        self.port = port
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def anvil_binary() -> str:
    configured = Path(os.environ.get("TREASURER_ANVIL_BIN", _DEFAULT_BIN))
    binary = str(configured) if configured.exists() else shutil.which("anvil")
    if not binary:
        raise AnvilUnavailable(
            f"anvil not found at {configured}; run `make anvil` (npm package @foundry-rs/anvil) "
            "or set TREASURER_ANVIL_BIN"
        )
    return binary


def start_anvil(*extra: str, timeout: float = 30.0) -> AnvilNode:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [anvil_binary(), "--host", "127.0.0.1", "--port", str(port), "--silent", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AnvilUnavailable(f"anvil exited at start: {process.stderr.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return AnvilNode(port, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AnvilUnavailable(f"anvil did not open its port within {timeout:.0f} s")
