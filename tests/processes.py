"""refbot as a real process: a command run to completion, or `refbot serve` running beside a test.

A child gets a clean environment — this checkout importable, and nothing else of the shell that runs the
tests (no token, database or setting leaking in) — plus what the test passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import BOT_TOKEN, MANAGER, SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent


def child_env(**env: str) -> dict[str, str]:
    """The environment for a refbot child process: the shell's basics, this checkout on PYTHONPATH, and `env`."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    return {**{k: v for k, v in os.environ.items() if k in keep}, "PYTHONPATH": str(ROOT), **env}


def refbot(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`refbot ARGS` run to completion, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(**(env or {})),
        cwd=cwd,
    )


class Serve:
    """`refbot serve --port 0` as a process, its output collected line by line as it comes. It talks to the
    Slack Web API at `api_url` and runs no schedule unless `env` (REFBOT_… variables) says otherwise.
    `command` runs another process kind instead: `("serve", "--workers", "2")`, `("worker",)`."""

    def __init__(
        self, database_url: str, api_url: str, cwd: Path, *, command: tuple[str, ...] = ("serve",), **env: str
    ) -> None:
        settings = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
            "REFBOT_MANAGERS": MANAGER,
            "REFBOT_OUTBOX_POLL_SECONDS": "0.2",
            "REFBOT_SCHEDULER": "off",
            "REFBOT_SLACK_TIMEOUT_SECONDS": "5",
            "REFBOT_LOG_LEVEL": "INFO",
        }
        environment = child_env(**{**settings, **env})
        self.command = command
        listens = command[0] == "serve"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *command, *(("--host", "127.0.0.1", "--port", "0") if listens else ())],
            cwd=cwd,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr))
        ]
        for reader in self._readers:
            reader.start()
        self.url = ""

    @staticmethod
    def _collect(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait_for_line(self, needle: str, *, stream: str = "stdout", timeout: float = 30) -> str:
        lines = self.stdout if stream == "stdout" else self.stderr
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in list(lines) if needle in line), None)
            if found is not None:
                return found
            if self.process.poll() is not None:
                time.sleep(0.1)  # let the readers catch the last lines
                raise AssertionError(f"refbot serve exited ({self.process.returncode}):\n{self.logs}")
            time.sleep(0.05)
        raise AssertionError(f"no {needle!r} from refbot serve within {timeout}s:\n{self.logs}")

    def ready(self, timeout: float = 30) -> str:
        """The server's URL once it listens (a `worker` has none: its start-up line instead)."""
        if self.command[0] == "worker":
            return self.wait_for_line("refbot worker running", timeout=timeout)
        self.url = self.wait_for_line("refbot listening on ", timeout=timeout).split()[3]
        return self.url

    def wait(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    @property
    def logs(self) -> str:
        return "\n".join(self.stderr)

    def stop(self) -> None:
        terminate(self.process)


def terminate(process: subprocess.Popen[Any], grace: float = 20) -> None:
    """SIGTERM, and SIGKILL if it has not exited after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
