"""`make demo`: one Ctrl-C stops every process it started, within ten seconds.

The test runs `make demo` itself: its preparation (migrate, seed_demo, demo_admin) on a SQLite file of its own,
whatever DATABASE_URL the suite runs on, then the supervisor and Procfile.demo on free ports. Once every process
is up it sends SIGINT to make's process group, as a terminal's Ctrl-C does, and expects make, the supervisor
and every process below them to be gone. Linux only: the process tree is read from /proc.
"""

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STOP_WITHIN = 10.0
# Preparing the database takes most of it; generous for a slow CI machine.
UP_WITHIN = 60.0
Q_WORKERS = 2
# A django-q2 cluster is its main process, a sentinel, the workers, a monitor and a pusher.
CLUSTER_PROCESSES = 2 + Q_WORKERS + 2
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists() or shutil.which("make") is None, reason="needs Linux's /proc and make"
)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """State, parent and process group of a process; None once it is gone (a zombie is there until reaped)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid, pgrp = data.rsplit(")", 1)[1].split()[:3]  # the name in parentheses may hold anything
    return state, int(ppid), int(pgrp)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))):
            children.setdefault(stat[1], []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def _reaping_orphans():
    """Make the test the reaper of the demo's orphans, as init would be: a zombie counts as gone only once
    reaped, and not every init reaps (a container's may not), which would fail the test for no fault of ours."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _reap_orphans(pids) -> None:
    for pid in pids:
        stat = _stat(pid)
        if stat and stat[0] == "Z" and stat[1] == os.getpid():
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _up(make_pid: int, web_port: int, sim_port: int, wz_port: int, partner_port: int, fourpyun_port: int,
        log: str) -> dict[str, bool]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/health/", timeout=1) as answer:  # noqa: S310
            web = answer.status == 200
    except OSError:
        web = False
    living = [pid for pid in _descendants(make_pid) if (_stat(pid) or ("Z",))[0] != "Z"]
    return {
        "web": web,
        "tomda": _listening(sim_port),
        "wanzhuang": _listening(wz_port),
        # The partner simulator's callback receiver listens once it has started.
        "partner": _listening(partner_port),
        "fourpyun": _listening(fourpyun_port),
        "cluster": sum("qcluster" in _cmdline(pid) for pid in living) >= CLUSTER_PROCESSES,
        "inbox": "inbox worker started" in log,
        "sessions": "waiting until stopped" in log,
    }


def _report(log_path: Path, pids) -> str:
    lines = log_path.read_text(errors="replace").splitlines()[-200:]
    output = "\n".join(line if len(line) <= 300 else line[:300] + " …" for line in lines)
    left = "\n".join(f"  {pid} {_stat(pid)} {_cmdline(pid)}" for pid in sorted(pids)) or "  none"
    return f"\nprocesses left:\n{left}\noutput of make demo (last lines):\n{output}"


def _kill_everything(make: subprocess.Popen, pids) -> None:
    """After a failure: nothing the test started may outlive it."""
    for pid in pids:
        stat = _stat(pid)
        if stat and stat[0] != "Z":
            with contextlib.suppress(ProcessLookupError):
                if stat[2] != os.getpgrp():
                    os.killpg(stat[2], signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)
    make.kill()
    make.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_stat(pid) for pid in pids):
        _reap_orphans(pids)
        time.sleep(0.05)


def test_one_ctrl_c_stops_every_process_of_make_demo(tmp_path):
    web_port, sim_port, wz_port, partner_port, fourpyun_port = _free_ports(5)
    env = {
        name: value for name, value in os.environ.items()
        # The suite's settings and an outer make's (make test) are not the demo's.
        if name not in {"DJANGO_SETTINGS_MODULE", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", REDIS_URL="", Q_WORKERS=str(Q_WORKERS),
    )
    argv = [
        "make", "--no-print-directory", "demo", "HOST=127.0.0.1", f"PORT={web_port}", f"TOMDA_SIM_PORT={sim_port}",
        f"WANZHUANG_SIM_PORT={wz_port}", f"PARTNER_SIM_PORT={partner_port}", f"FOURPYUN_SIM_PORT={fourpyun_port}",
        # This interpreter's virtualenv, installed already: `-o` keeps make from installing it again.
        f"BIN={Path(sys.executable).parent}", "-o", ".venv/.installed-stamp",
    ]
    log_path = tmp_path / "make-demo.log"
    seen: set[int] = set()
    with _reaping_orphans(), log_path.open("wb") as log:
        # A session of its own, as a terminal gives a command: the SIGINT below reaches make and the
        # supervisor, not the test.
        make = subprocess.Popen(  # noqa: S603 (make, our Makefile)
            argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + UP_WITHIN
            while not all((up := _up(make.pid, web_port, sim_port, wz_port, partner_port, fourpyun_port,
                                     log_path.read_text(errors="replace"))).values()):
                assert make.poll() is None, f"make demo ended (exit {make.returncode})" + _report(log_path, [])
                waiting = ", ".join(name for name, ok in up.items() if not ok)
                assert time.monotonic() < deadline, f"not up within {UP_WITHIN} s: {waiting}" + _report(log_path, [])
                time.sleep(0.2)
            seen = _descendants(make.pid) | {make.pid}

            os.killpg(make.pid, signal.SIGINT)
            sent = time.monotonic()
            while True:
                make.poll()
                _reap_orphans(seen - {make.pid})
                left = {pid for pid in seen if _stat(pid) is not None}
                if not left or time.monotonic() - sent > STOP_WITHIN:
                    break
                time.sleep(0.05)
            assert not left, (
                f"{len(left)} of the demo's {len(seen)} processes still there {STOP_WITHIN} s after Ctrl-C"
                + _report(log_path, left)
            )
        finally:
            _kill_everything(make, seen | _descendants(make.pid))


def _supervise(tmp_path: Path, procfile: str) -> tuple[subprocess.Popen, Path]:
    (tmp_path / "Procfile").write_text(procfile)
    log_path = tmp_path / "supervisor.log"
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    with log_path.open("wb") as log:
        supervisor = subprocess.Popen(  # noqa: S603 (our own interpreter and manage.py)
            [sys.executable, "manage.py", "demo_supervisor", str(tmp_path / "Procfile")], cwd=REPO, env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return supervisor, log_path


def _wait_for(condition, seconds: float, log_path: Path, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s" + _report(log_path, [])
        time.sleep(0.05)


def test_a_process_that_ends_stops_the_others_and_its_exit_status_is_the_supervisors(tmp_path):
    supervisor, log_path = _supervise(tmp_path, (
        "sleeper: python -c \"import time; time.sleep(60)\"\n"
        "quitter: python -c \"import time; time.sleep(1); raise SystemExit(3)\"\n"
    ))
    try:
        _wait_for(lambda: len(_descendants(supervisor.pid)) == 2, UP_WITHIN, log_path, "both processes started")
        children = _descendants(supervisor.pid)

        assert supervisor.wait(timeout=STOP_WITHIN) == 3, _report(log_path, [])
        assert "quitter ended (exit 3): stopping sleeper" in log_path.read_text()
        assert not [pid for pid in children if _stat(pid)], _report(log_path, children)
    finally:
        _kill_everything(supervisor, _descendants(supervisor.pid))


def test_a_process_deaf_to_sigterm_is_killed_after_the_grace(tmp_path):
    supervisor, log_path = _supervise(tmp_path, (
        "deaf: python -c \"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('deaf', flush=True); time.sleep(60)\"\n"
    ))
    try:
        _wait_for(lambda: "| deaf\n" in log_path.read_text(), UP_WITHIN, log_path, "the process started")
        children = _descendants(supervisor.pid)

        supervisor.send_signal(signal.SIGINT)

        assert supervisor.wait(timeout=STOP_WITHIN) == 128 + signal.SIGINT, _report(log_path, [])
        assert "deaf has not stopped: killing it" in log_path.read_text()
        assert not [pid for pid in children if _stat(pid)], _report(log_path, children)
    finally:
        _kill_everything(supervisor, _descendants(supervisor.pid))
