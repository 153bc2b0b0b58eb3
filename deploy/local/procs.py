"""Small process helpers for the local runtime: free ports, pid files, starting and stopping."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import psutil

from deploy.local.errors import RuntimeProblem

T = TypeVar("T")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_free_port(port: int, what: str, env_var: str) -> None:
    if not port_is_free(port):
        raise RuntimeProblem(
            f"port {port} (for {what}) is already in use; stop what uses it "
            f"(`ss -ltnp 'sport = :{port}'`) or choose another with {env_var}=<port>"
        )


def read_pid(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` if that process still runs; a stale file is removed."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    if psutil.pid_exists(pid):
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return pid
        except psutil.NoSuchProcess:
            pass
    pid_file.unlink(missing_ok=True)
    return None


def spawn(
    argv: Sequence[str], log_file: Path, pid_file: Path, env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a detached child (own session, so Ctrl-C in the terminal reaches only the supervisor)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd, start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def stop_pid(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever is left."""
    try:
        proc = psutil.Process(pid)
        family = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    for p in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _gone, alive = psutil.wait_procs(family, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=5)


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1,
               log_file: Path | None = None) -> T:
    """Poll ``predicate`` until it returns a truthy value; raise a clear problem on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    hint = f"; see {log_file}" if log_file else ""
    raise RuntimeProblem(f"{what} did not become ready within {timeout:.0f}s{hint}")
