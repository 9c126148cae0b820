"""A fake CRM in a process of its own, for benchmarks: its records, threads and CPU are then not refbot's.

A 600,000-record org takes the Salesforce fake a few hundred megabytes; measured in the same process as
a sync, that memory and the fake's JSON work would be counted as refbot's. `FakeProcess` starts the fake
in a spawned child and runs named functions there (`"module:function"`, called with the fake and the
arguments given), so a benchmark seeds and changes records without holding them:

    with FakeProcess("crmfake.salesforce:SalesforceFake") as crm:
        crm.call("bench.salesforce_read_bench:seed", 100_000, 300_000, 200_000)
        env = crm.env  # SALESFORCE_LOGIN_URL, …, REQUESTS_CA_BUNDLE
"""

from __future__ import annotations

import importlib
import multiprocessing
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any


def _resolve(name: str) -> Any:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _child(pipe: Connection, factory: str, kwargs: dict[str, Any]) -> None:
    fake = _resolve(factory)(**kwargs).start()
    pipe.send(fake.env())
    try:
        while True:
            function, args = pipe.recv()
            if function is None:
                return
            try:
                pipe.send(("ok", _resolve(function)(fake, *args)))
            except Exception as error:  # handed back to the parent, which raises it there
                pipe.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        fake.stop()


class FakeProcess:
    """One fake CRM (`factory` is `"module:Class"` of a `crmfake.FakeCrm`) served from a child process."""

    def __init__(self, factory: str, **kwargs: Any) -> None:
        context = multiprocessing.get_context("spawn")  # no threads or sockets of the parent carried over
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_child, args=(child, factory, kwargs), daemon=True)
        self.env: dict[str, str] = {}

    def start(self) -> FakeProcess:
        self._process.start()
        self.env = self._pipe.recv()
        return self

    def call(self, function: str, *args: Any) -> Any:
        """Run `function(fake, *args)` in the child and return what it returns (it must pickle)."""
        self._pipe.send((function, args))
        status, value = self._pipe.recv()
        if status == "error":
            raise RuntimeError(f"{function} failed in the fake's process: {value}")
        return value

    def stop(self) -> None:
        if self._process.is_alive():
            self._pipe.send((None, ()))
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)

    def __enter__(self) -> FakeProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
