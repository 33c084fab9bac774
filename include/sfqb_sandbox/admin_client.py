"""A small client for a running sandbox: start it, wait for it, and drive ``/_sandbox/``.

Used by the tests, the demo and the benchmark. Not part of sfqb.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from .server import CONNECTIONS_FILE


class SandboxAdmin:
    """Admin calls against the servers described by ``DIR/connections.json``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.connections: dict = json.loads((self.data_dir / CONNECTIONS_FILE).read_text())
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = self.connections["ca_bundle"]

    def url(self, service: str, path: str) -> str:
        return f"{self.connections[service]['admin_url']}/{path.lstrip('/')}"

    def call(self, service: str, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, self.url(service, path), json=body, timeout=120)
        response.raise_for_status()
        return response.json() if response.content else None

    def services(self) -> list[str]:
        return [
            name
            for name in ("quickbooks", "quickbooks_desktop", "salesforce")
            if name in self.connections
        ]

    def reset(self, service: str, seed: str | None = None) -> Any:
        return self.call(service, "POST", "reset", {"seed": seed})

    def seed(self, service: str, size: str) -> Any:
        return self.call(service, "POST", "seed", {"size": size})

    def counters(self, service: str) -> dict:
        return self.call(service, "GET", "counters")

    def clear_counters(self, service: str | None = None) -> None:
        for name in [service] if service else self.services():
            self.call(name, "DELETE", "counters")

    def add_fault(self, service: str, **rule: Any) -> dict:
        return self.call(service, "POST", "faults", rule)

    def clear_faults(self, service: str | None = None) -> None:
        for name in [service] if service else self.services():
            self.call(name, "DELETE", "faults")

    def set_latency(self, service: str, ms: float, jitter_ms: float = 0) -> None:
        self.call(service, "POST", "latency", {"ms": ms, "jitter_ms": jitter_ms})

    def set_clock(self, service: str, **body: Any) -> dict:
        return self.call(service, "POST", "clock", body)


class SandboxProcess:
    """``python -m sfqb_sandbox serve`` as a child process."""

    def __init__(
        self, data_dir: Path, seed: str | None = None, extra_args: list[str] | None = None
    ):
        self.data_dir = Path(data_dir)
        self.seed = seed
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> SandboxAdmin:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / CONNECTIONS_FILE).unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "sfqb_sandbox", "serve", "--data-dir", str(self.data_dir)]
        if self.seed:
            cmd += ["--seed", self.seed]
        log = open(self.data_dir / "sandbox.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(
            cmd + self.extra_args, stdout=log, stderr=log, env=os.environ.copy()
        )
        deadline = time.monotonic() + timeout
        while not (self.data_dir / CONNECTIONS_FILE).exists():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"sandbox exited with {self.proc.returncode}; see "
                    f"{self.data_dir / 'sandbox.log'}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"sandbox did not start within {timeout} s")
            time.sleep(0.1)
        return SandboxAdmin(self.data_dir)

    def stop(self, timeout: float = 20) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
