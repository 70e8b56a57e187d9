"""Start the sandbox: as a blocking server (CLI) or in a background thread (tests, benchmarks).

`running_sandbox()` is the helper tests use: it serves a fresh `SandboxState` with uvicorn on a
free loopback port in a daemon thread, waits until the socket accepts, yields a `SandboxHandle`
(base URL, state, credentials) and stops the server at exit.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import uvicorn

from .app import create_app, quiet_injected_resets
from .state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FaultConfig, SandboxState


@dataclass
class SandboxHandle:
    """A running sandbox: where it listens and direct access to its state."""

    base_url: str
    port: int
    state: SandboxState

    @property
    def client_id(self) -> str:
        return self.state.default_client_id

    @property
    def client_secret(self) -> str:
        return self.state.default_client_secret

    def set_faults(self, **settings: Any) -> FaultConfig:
        """Replace the fault settings (same fields as `PUT /sandbox/faults`)."""
        config = FaultConfig.from_json(settings)
        self.state.set_faults(config)
        return config

    def reset(self, *, employees: int | None = None, seed: int | None = None) -> None:
        """Same as `POST /sandbox/reset` (also forgets webhooks and pending deliveries)."""
        self.state.reset(employees=employees, seed=seed)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Wait until no webhook delivery is pending (waiting, retrying or in flight); False
        when `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while self.state.dispatcher.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


def _build_server(state: SandboxState, host: str, port: int, log_level: str) -> uvicorn.Server:
    quiet_injected_resets()
    config = uvicorn.Config(
        create_app(state),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # Hanging (fault-injected) requests stop on `state.stopping`; this bounds the rest.
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


@contextmanager
def running_sandbox(
    *,
    employees: int = 100,
    seed: int = 0,
    today: date | None = None,
    rate_limit: bool = False,
    faults: FaultConfig | None = None,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 30.0,
) -> Iterator[SandboxHandle]:
    """Serve a sandbox over real HTTP in a background thread for the duration of the block.

    `port=0` picks a free port. Rate limiting is off by default here (tests opt in); the CLI
    defaults to Personio's limits.
    """
    state = SandboxState(
        employees=employees,
        seed=seed,
        today=today,
        rate_limit=rate_limit,
        faults=faults,
        client_id=client_id,
        client_secret=client_secret,
    )
    server = _build_server(state, host, port, "warning")
    thread = threading.Thread(target=server.run, name="personio-sandbox", daemon=True)
    thread.start()
    state.dispatcher.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Personio sandbox did not start")
            time.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield SandboxHandle(f"http://{host}:{bound}", bound, state)
    finally:
        state.stopping.set()
        server.should_exit = True
        state.dispatcher.stop()
        thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sandbox_command(
    port: int, employees: int, seed: int = 1, options: Sequence[str] = ()
) -> list[str]:
    """The command line that serves a sandbox in a process of its own."""
    return [
        sys.executable,
        "-m",
        "benefitsync.integrations.personio.sandbox",
        "--port",
        str(port),
        "--employees",
        str(employees),
        "--seed",
        str(seed),
        "--log-level",
        "warning",
        *options,
    ]


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until the sandbox `process` accepts connections on `port` (RuntimeError when it
    exits or `timeout` seconds pass first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the Personio sandbox process did not start") from None
            time.sleep(0.1)


@contextmanager
def sandbox_process(
    *,
    employees: int,
    seed: int = 1,
    options: Sequence[str] = (),
    startup_timeout: float = 300.0,
) -> Iterator[str]:
    """Serve a sandbox from a separate process for the duration of the block; yields its base
    URL. Benchmarks use this so serving Personio does not share the measured process's CPU
    (and GIL); `options` are further command-line options (e.g. `--rate-limit off`)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        sandbox_command(port, employees, seed, options), stdout=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process, startup_timeout)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's options (shared by `python -m …sandbox` and `benefitsync personio-sandbox`)."""
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--employees", type=int, default=250, help="number of employees")
    parser.add_argument("--seed", type=int, default=1, help="seed for data and faults")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", choices=("personio", "off"), default="personio")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument(
        "--faults",
        default=None,
        help='fault settings as JSON, e.g. \'{"rate_500": 0.05, "rate_timeout": 0.01}\'',
    )
    parser.add_argument(
        "--webhook-retry-scale",
        type=float,
        default=None,
        help="multiply webhook retry delays (1 = Personio's 1 min … 2 days; 0.001 for demos)",
    )
    parser.add_argument("--log-level", default="info")


def state_from_options(options: argparse.Namespace | dict[str, Any]) -> SandboxState:
    opts = vars(options) if isinstance(options, argparse.Namespace) else options
    faults_json = json.loads(opts["faults"]) if opts.get("faults") else {}
    faults = FaultConfig.from_json(
        {
            "seed": opts["seed"],
            "latency_ms": opts.get("latency_ms") or 0.0,
            "latency_jitter_ms": opts.get("latency_jitter_ms") or 0.0,
            **(
                {"webhook_retry_scale": opts["webhook_retry_scale"]}
                if opts.get("webhook_retry_scale") is not None
                else {}
            ),
            **faults_json,
        }
    )
    return SandboxState(
        employees=opts["employees"],
        seed=opts["seed"],
        today=opts.get("today"),
        rate_limit=opts.get("rate_limit", "personio") == "personio",
        faults=faults,
        client_id=opts.get("client_id") or DEFAULT_CLIENT_ID,
        client_secret=opts.get("client_secret") or DEFAULT_CLIENT_SECRET,
    )


def run_from_options(options: argparse.Namespace | dict[str, Any]) -> int:
    """Build the sandbox, print its demo credentials, serve until interrupted."""
    opts = vars(options) if isinstance(options, argparse.Namespace) else options
    state = state_from_options(opts)
    base = f"http://{opts['host']}:{opts['port']}"
    print(
        f"Personio sandbox on {base}  ({len(state.employees)} employees, seed {state.seed}, "
        f"rate limit {'personio' if state.rate_limit else 'off'}, today {state.clock.today()})\n"
        f"  Client ID:     {state.default_client_id}\n"
        f"  Client Secret: {state.default_client_secret}\n"
        f"  Control API:   {base}/sandbox  (see docs/personio.md)\n"
        f"  Webhooks:      {base}/v2/webhooks  (company_id {state.company_id})",
        flush=True,
    )
    server = _build_server(state, opts["host"], opts["port"], opts.get("log_level") or "info")
    state.dispatcher.start()
    try:
        server.run()
    finally:
        state.stopping.set()
        state.dispatcher.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benefitsync.integrations.personio.sandbox",
        description="A local Personio API (v1, v2 tokens and webhooks) for demos, tests and "
        "benchmarks.",
    )
    add_arguments(parser)
    return run_from_options(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
