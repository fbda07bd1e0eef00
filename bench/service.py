"""Start the production command (gunicorn) over a copy of a database, on a free loopback port.

Shared by the load benchmark and the fault tests: ``with running_service(db) as svc: svc.url``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health/live", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"service at {url} did not come up in {timeout} s")


class Service:
    def __init__(self, database: Path, workers: int = 4, threads: int = 1, port: int | None = None,
                 secret_key: str | None = "bench-only", env: dict | None = None, prefix: list | None = None,
                 args: list | None = None):
        self.database, self.workers, self.threads = Path(database), workers, threads
        self.args = list(args or [])  # more gunicorn options (e.g. --preload)
        self.secret_key, self.extra_env, self.prefix = secret_key, dict(env or {}), list(prefix or [])
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Service":
        env = dict(os.environ, RISMEP_DATABASE=str(self.database), PYTHONPATH=str(ROOT), **self.extra_env)
        env.pop("RISMEP_SECRET_KEY", None)
        if self.secret_key is not None:  # None: the production default, the key kept in the database
            env["RISMEP_SECRET_KEY"] = self.secret_key
        self.proc = subprocess.Popen(
            [*self.prefix, str(BIN / "gunicorn"), "--workers", str(self.workers), "--threads", str(self.threads),
             "--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "5", *self.args, "api:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until_up(self.url)
        return self

    def kill9(self) -> None:
        """SIGKILL the whole process group: master and workers die mid-request, as in a power cut."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()


@contextlib.contextmanager
def running_service(database, **kwargs):
    svc = Service(database, **kwargs).start()
    try:
        yield svc
    finally:
        svc.stop()


def create_key(database: Path, role: str, *extra: str) -> str:
    """An API key made with the documented admin command (the key is the last line it prints)."""
    env = dict(os.environ, RISMEP_DATABASE=str(database), PYTHONPATH=str(ROOT))
    out = subprocess.run([str(BIN / "flask"), "--app", "api", "create-key", "--role", role, *extra],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1].strip()


def request(url: str, method: str = "GET", body=None, headers=None, timeout: float = 30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
