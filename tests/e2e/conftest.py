"""Fixtures for the end-to-end suite.

The suite builds nothing: it starts an already built `switchyard` binary (env SWITCHYARD_BIN,
default <target dir>/debug/switchyard, honouring CARGO_TARGET_DIR) in DEMO MODE, where the
built-in provider simulator serves every provider on a loopback port, and talks to it with the
official `openai` and `anthropic` Python SDKs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
MASTER_KEY = "sk-e2e-master-key"
# Per-request ceiling for SDK calls: nothing in the demo should take seconds, and a hung
# request must fail the test instead of stalling the suite.
TIMEOUT = 15.0


def _binary() -> Path:
    if os.environ.get("SWITCHYARD_BIN"):
        return Path(os.environ["SWITCHYARD_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return Path(target) / "debug" / "switchyard"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment less anything that would configure a real provider."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (
            k.endswith("_API_KEY")
            or k.endswith("_BASE_URL")
            or k.startswith("SWITCHYARD_")
            or k in ("AZURE_OPENAI_ENDPOINT", "GOOGLE_API_KEY")
        )
    }
    env.setdefault("RUST_LOG", "info")
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


@dataclass
class Gateway:
    url: str  # http://127.0.0.1:PORT
    proc: subprocess.Popen
    log_path: Path
    key: str | None = None

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "<no log>"


def _start(name: str, extra_env: dict[str, str] | None = None, key: str | None = None):
    binary = _binary()
    if not binary.is_file():
        pytest.exit(
            f"switchyard binary not found at {binary}; build it with `cargo build -p switchyard` "
            "or set SWITCHYARD_BIN",
            returncode=2,
        )
    port = _free_port()
    logdir = Path(tempfile.mkdtemp(prefix=f"switchyard-e2e-{name}-"))
    log_path = logdir / "gateway.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [str(binary), "serve", "--listen", f"127.0.0.1:{port}"],
        env=_demo_env(extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=logdir,  # no stray config file is picked up from the repo
    )
    gw = Gateway(url=f"http://127.0.0.1:{port}", proc=proc, log_path=log_path, key=key)
    deadline = time.monotonic() + 30
    last = None
    while True:
        if proc.poll() is not None:
            log.close()
            pytest.exit(f"switchyard ({name}) exited with {proc.returncode}:\n{gw.log_tail()}", returncode=2)
        try:
            r = httpx.get(f"{gw.url}/health/ready", timeout=1.0)
            if r.status_code == 200:
                break
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.HTTPError as e:
            last = repr(e)
        if time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.exit(f"switchyard ({name}) not ready after 30 s ({last}):\n{gw.log_tail()}", returncode=2)
        time.sleep(0.05)
    return gw, log


def _stop(gw: Gateway, log) -> None:
    if gw.proc.poll() is None:
        gw.proc.send_signal(signal.SIGTERM)
        try:
            gw.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            gw.proc.kill()
            gw.proc.wait(timeout=5)
    log.close()


@pytest.fixture(scope="session")
def gateway():
    """A demo-mode gateway without a master key."""
    gw, log = _start("demo")
    yield gw
    _stop(gw, log)
    # The demo gateway must not have crashed or panicked during the run.
    assert gw.proc.returncode in (0, -signal.SIGTERM), f"exit code {gw.proc.returncode}\n{gw.log_tail()}"
    assert "panicked" not in gw.log_path.read_text(errors="replace"), gw.log_tail(80)


@pytest.fixture(scope="session")
def auth_gateway():
    """A demo-mode gateway with SWITCHYARD_MASTER_KEY set."""
    gw, log = _start("auth", {"SWITCHYARD_MASTER_KEY": MASTER_KEY}, key=MASTER_KEY)
    yield gw
    _stop(gw, log)


# ---- clients ------------------------------------------------------------------------------
# max_retries=0 everywhere: the SDKs retry 5xx and timeouts by default, which would hide what
# the gateway answered and multiply the suite's time.


@pytest.fixture(scope="session")
def oai(gateway) -> openai.OpenAI:
    client = openai.OpenAI(base_url=gateway.openai_base, api_key="sk-anything", max_retries=0, timeout=TIMEOUT)
    yield client
    client.close()


@pytest.fixture
async def aoai(gateway):
    async with openai.AsyncOpenAI(
        base_url=gateway.openai_base, api_key="sk-anything", max_retries=0, timeout=TIMEOUT
    ) as client:
        yield client


@pytest.fixture(scope="session")
def anth(gateway) -> anthropic.Anthropic:
    client = anthropic.Anthropic(base_url=gateway.url, api_key="sk-anything", max_retries=0, timeout=TIMEOUT)
    yield client
    client.close()


@pytest.fixture
async def aanth(gateway):
    async with anthropic.AsyncAnthropic(
        base_url=gateway.url, api_key="sk-anything", max_retries=0, timeout=TIMEOUT
    ) as client:
        yield client
