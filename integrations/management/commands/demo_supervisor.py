"""`manage.py demo_supervisor`: run the processes of Procfile.demo together; Ctrl-C stops every one of them.

Each process runs in a session of its own, so a terminal's Ctrl-C reaches only the supervisor, and each hears
exactly one SIGTERM from it, sent to the process itself, not to its process group. That is what qcluster needs:
told alone, its main process stops the cluster in about a second. A SIGTERM to its whole group kills the
cluster's sentinel at once (the sentinel keeps SIGTERM's default action) while it waits on the stop event,
and the main process then waits forever in stop_event.set() for the dead waiter; a second signal arriving
while the first is being handled can deadlock it as well. Honcho signals the group (os.killpg), which is why
the demo does not use it.

Whatever has not exited STOP_GRACE seconds after the stop is killed with its process group, and so is
whatever a process leaves behind in its group when it exits.
"""

import contextlib
import ctypes
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# Seconds a process has to stop after SIGTERM before it is killed: the demo's processes stop in about one, and
# a Ctrl-C of the demo should be over within ten.
STOP_GRACE = 5.0
# Seconds to go on copying output once every process has exited: only something that escaped its process
# group could still be writing, and it must not keep the supervisor from ending.
DRAIN_AT_MOST = 1.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")
SUPERVISOR = "supervisor"  # the name on the supervisor's own lines
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def procfile_read(path: Path, environ) -> dict[str, list[str]]:
    """The processes of a Procfile, by name, each as its argv with $VARIABLES taken from `environ`."""
    processes = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path.name}:{number}"
        match = PROCFILE_LINE.match(line)
        if not match:
            raise CommandError(f"{where}: not `name: command`")
        name, command = match.groups()
        if name in processes:
            raise CommandError(f"{where}: {name} appears twice")
        try:
            words = shlex.split(command)
        except ValueError as exc:  # an unclosed quote
            raise CommandError(f"{where}: {exc}") from exc
        processes[name] = [_expand(word, environ, where) for word in words]
    if not processes:
        raise CommandError(f"{path} names no process")
    return processes


def _expand(word: str, environ, where: str) -> str:
    def value(match):
        name = match.group(1) or match.group(2)
        if name not in environ:
            raise CommandError(f"{where}: ${name} is not set (make demo sets it)")
        return environ[name]

    return VARIABLE.sub(value, word)


def _exited(pid: int) -> bool:
    """Whether the process has exited, leaving it unreaped: until it is reaped, its pid (and so the id of
    its process group) cannot be given to another process, which makes killing the group afterwards safe."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _describe(returncode: int) -> str:
    return f"exit {returncode}" if returncode >= 0 else f"killed by {_signal_name(-returncode)}"


def _exit_code(returncode: int) -> int:
    """The supervisor's exit status when a process ended by itself: a process of the demo is not meant to end,
    so even its exit 0 is a failure; killed by a signal, 128 plus its number, as shells report it."""
    if returncode > 0:
        return returncode
    return 128 - returncode if returncode < 0 else 1


def _stop_with(parent_pid: int):
    """What a child runs before exec on Linux: SIGTERM when the supervisor dies, so that a supervisor killed
    with SIGKILL does not leave the demo running unseen in sessions of its own."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: between fork and exec nothing should be loaded

    def preexec():
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent_pid:  # the supervisor died before prctl took effect
            os._exit(1)

    return preexec


class _Child:
    def __init__(self, name: str, argv: list[str]):
        self.name = name
        self.argv = argv
        self.popen: subprocess.Popen | None = None
        self.returncode: int | None = None  # once exited and reaped
        self.pending = b""  # output after its last newline

    @property
    def running(self) -> bool:
        return self.popen is not None and self.returncode is None


class Command(BaseCommand):
    help = (
        "Run the processes of Procfile.demo (make demo) together, their output prefixed by their names. "
        "Ctrl-C or SIGTERM stops them all, and so does any of them ending."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "procfile", nargs="?", default=str(Path(settings.BASE_DIR) / "Procfile.demo"),
            help="the Procfile to run (default: Procfile.demo beside manage.py)",
        )

    def handle(self, *args, procfile, **options):
        path = Path(procfile)
        if not path.is_file():
            raise CommandError(f"No Procfile at {path}")
        environ = {
            **os.environ,
            # Through a pipe Python would hold output back in blocks; the demo shows it as it happens.
            "PYTHONUNBUFFERED": "1",
            # `python` in the Procfile is this interpreter, as in an activated virtualenv.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]),
        }
        children = [_Child(name, argv) for name, argv in procfile_read(path, environ).items()]
        self.width = max(len(SUPERVISOR), *(len(child.name) for child in children))
        self.signals: list[int] = []
        self.cause: str | None = None  # why the demo is stopping
        self.exit_code = 0
        self.asked = False  # whether it stops because a signal asked it to
        self.output_lost = False
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)
        selector = selectors.DefaultSelector()
        try:
            for child in children:
                if self.signals or not self._start(child, environ, selector):
                    break
            self._supervise(children, selector)
        finally:
            # Only reached with processes running if the supervisor itself failed: they must not outlive it.
            for child in children:
                if child.running:
                    _killpg(child.popen.pid, signal.SIGKILL)
                    child.returncode = child.popen.wait()
            selector.close()
        if self.asked:
            sys.exit(self.exit_code)  # stopped as asked: no error to print
        raise CommandError(f"{self.cause}; stopped the others", returncode=self.exit_code)

    def _on_signal(self, signum, frame):
        # Only noted: the loop acts on it. Anything that takes a lock here could deadlock against the code
        # the signal interrupted.
        self.signals.append(signum)

    def _start(self, child: _Child, environ, selector) -> bool:
        try:
            child.popen = subprocess.Popen(  # noqa: S603 (the commands of our own Procfile)
                child.argv, cwd=settings.BASE_DIR, env=environ, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_stop_with(os.getpid()),  # safe: the supervisor runs no threads
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self._stop_because(f"cannot start {child.name} ({shlex.join(child.argv)}): {exc}", 1)
            return False
        os.set_blocking(child.popen.stdout.fileno(), False)
        selector.register(child.popen.stdout, selectors.EVENT_READ, child)
        self._say(f"{child.name} started (pid {child.popen.pid}): {shlex.join(child.argv)}")
        return True

    def _stop_because(self, cause: str, exit_code: int, asked: bool = False) -> None:
        if self.cause is None:
            self.cause, self.exit_code, self.asked = cause, exit_code, asked

    def _supervise(self, children: list[_Child], selector) -> None:
        stop_started = None  # monotonic time of the SIGTERMs
        signals_then = 0
        killed = False
        while any(child.running for child in children) or (stop_started is None and self.cause is None):
            self._pump(selector, timeout=0.1)
            for child in children:
                if child.running and _exited(child.popen.pid):
                    self._reap(child)
                    if stop_started is None:
                        self._stop_because(
                            f"{child.name} ended ({_describe(child.returncode)})", _exit_code(child.returncode)
                        )
            if self.signals and self.cause is None:
                self._stop_because(f"{_signal_name(self.signals[0])} received", 128 + self.signals[0], asked=True)
            if stop_started is None and self.cause is not None:
                stop_started, signals_then = time.monotonic(), len(self.signals)
                running = [child for child in children if child.running]
                self._say(f"{self.cause}: stopping {', '.join(child.name for child in running) or 'nothing'}")
                for child in running:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child.popen.pid, signal.SIGTERM)
            # Past the grace, or Ctrl-C again while stopping: no more waiting.
            elif stop_started is not None and not killed and (
                time.monotonic() - stop_started > STOP_GRACE or len(self.signals) > signals_then
            ):
                killed = True
                for child in children:
                    if child.running:
                        self._say(f"{child.name} has not stopped: killing it")
                        _killpg(child.popen.pid, signal.SIGKILL)
        drain_until = time.monotonic() + DRAIN_AT_MOST
        while selector.get_map() and time.monotonic() < drain_until and self._pump(selector, timeout=0.2):
            pass  # what is still in the pipes
        for key in list(selector.get_map().values()):
            key.fileobj.close()

    def _reap(self, child: _Child) -> None:
        # What the process left in its group (a qcluster worker whose sentinel was killed, say) goes with it.
        _killpg(child.popen.pid, signal.SIGKILL)
        child.returncode = child.popen.wait()
        self._say(f"{child.name} stopped ({_describe(child.returncode)})")

    def _pump(self, selector, timeout: float) -> bool:
        """Copy what the processes wrote to our output, a line at a time under their names; whether any had."""
        if not selector.get_map():
            time.sleep(timeout)
            return False
        ready = selector.select(timeout)
        for key, _events in ready:
            child = key.data
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not data:  # the process and all it started have closed their output
                selector.unregister(key.fileobj)
                key.fileobj.close()
                if child.pending:
                    self._line(child.name, child.pending)
                    child.pending = b""
                continue
            *lines, child.pending = (child.pending + data).split(b"\n")
            for line in lines:
                self._line(child.name, line)
        self._flush()
        return bool(ready)

    def _line(self, name: str, line: bytes) -> None:
        if self.output_lost:
            return
        text = line.decode(errors="replace").rstrip("\r")
        try:
            self.stdout.write(f"{name:<{self.width}} | {text}")
        except OSError:
            self._lose_output()

    def _flush(self) -> None:
        if not self.output_lost:
            try:
                self.stdout.flush()
            except OSError:
                self._lose_output()

    def _lose_output(self) -> None:
        # The terminal is gone (SIGHUP comes with it) or the pipe closed: stopping the processes the usual way
        # matters more than showing it.
        self.output_lost = True

    def _say(self, message: str) -> None:
        self._line(SUPERVISOR, message.encode())
        self._flush()
