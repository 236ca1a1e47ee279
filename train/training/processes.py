"""Processes: whether the one that wrote something is still alive, stopping a child, and
worker pools that end with the process that started them."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from joblib import parallel_config

PARENT_POLL_SECONDS = 0.5  # how soon a worker notices that its parent is gone


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def left_by_dead_process(name: str, prefix: str) -> bool:
    """Whether a file named ``<prefix><pid>-...`` was left by a process that is gone (a name
    that does not parse is not ours to remove)."""
    pid = name[len(prefix):].split("-", 1)[0] if name.startswith(prefix) else ""
    return pid.isdigit() and not alive(int(pid))


def terminate(process, timeout: float = 20) -> None:
    """Stop a child process (a ``subprocess.Popen``): SIGTERM, then SIGKILL if it lingers."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def identity(pid: int | None = None) -> str:
    """``<pid>:<start time>``: the start time (Linux) tells a live process from a later one
    that was given the same pid."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_time(pid) or ''}"


def still_running(process_identity: str) -> bool:
    """Whether the process an ``identity`` names is still the one running."""
    pid_text, _, started = process_identity.partition(":")
    if not pid_text.isdigit() or not alive(int(pid_text)):
        return False
    now = _start_time(int(pid_text))
    return not (started and now and now != started)


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22, counted after the command name


@contextmanager
def workers_end_with_this_process():
    """joblib's process workers started inside this block exit within a second of this
    process dying, even by SIGKILL (they would otherwise finish their task and idle on)."""
    with parallel_config(backend="loky", initializer=_exit_with_parent, initargs=(os.getpid(),)):
        yield


def _exit_with_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
