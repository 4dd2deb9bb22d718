"""Each submission's kernel as its own unprivileged user, in a private view of the file system.

When the grader runs as root on Linux, an active `Isolation` makes every kernel start through
this module's launcher (a Jupyter kernelspec whose command runs this file with the standard
library only). Still root, the launcher

1. enters a mount namespace of its own (nothing it mounts is seen outside);
2. makes what the kernel needs readable (the Python installation, the virtual environment,
   the package: where a folder above them is closed to others, such as `/root`, an empty
   folder is laid over it and only the needed paths are put back);
3. lays an empty, read-only folder over every hidden path: the solutions (and their
   repository's `.git`, which holds them too), the submissions, the grader's output and its
   own working folders;
4. puts the submission's scratch folder (owned by the new user, mode 700) at `/tmp`,
   `/var/tmp` and `/dev/shm`, so the only place it can write is its own;
   and, when the kernel talks to the grader over Unix sockets in that folder (the grader's
   nbval plugin asks for that), a network namespace of its own: no network, and no reach to
   another kernel's ports (whose output channel would show the hidden tests being run);
5. drops every privilege: no supplementary groups, the new user and group, no new privileges
   (set-uid programs stay powerless), a cap on its processes; then starts the kernel in `/tmp`.

After the run, `reap(uid)` kills every process of that user (a daemon, a detached writer), so
nothing outlives its grading. The grader itself (pytest, nbval, the report) stays root and
outside the namespace: the kernel cannot read the notebook it runs (hidden tests included),
the report, or the log, and cannot write them.

Without root, or off Linux, `Isolation.detect()` says why and the grader runs kernels as its
own user with the weaker guarantees that README lists.
"""
from __future__ import annotations

import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Isolation", "reap", "uid_processes", "KERNEL_NAME", "SANDBOX_UIDS"]

KERNEL_NAME = "coursekit-sandbox"
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
MAX_PROCESSES = 512   # threads count too (torch starts one per core)
SANDBOX_UIDS = range(1_500_000_000, 2_100_000_000)
"""The user ids kernels run as: far above any real account, and a fresh one for every run."""
_TRIED: dict[str, str | None] = {}
_UID_LOCK = threading.Lock()
_UID_NEXT = [SANDBOX_UIDS.start + secrets.randbelow(500_000_000)]


@dataclass
class Isolation:
    """How kernels are isolated: `active` with the paths to hide and to keep readable, or not
    with `reason` (said in the run's summary)."""

    active: bool
    reason: str = ""
    hidden: list[str] = field(default_factory=list)
    readable: list[str] = field(default_factory=list)

    @classmethod
    def none(cls, reason: str) -> "Isolation":
        return cls(False, reason)

    @classmethod
    def detect(cls, hidden: list[Path]) -> "Isolation":
        """Users and a private file system where that is possible (Linux, root, mount
        namespaces allowed), after a trial start proves that the kernel's user can import what
        it needs; else not, with why."""
        if not sys.platform.startswith("linux"):
            return cls.none(f"{sys.platform} has no per-user sandbox here (Linux only)")
        if os.geteuid() != 0:
            return cls.none("the grader is not root, so it cannot run kernels as other users")
        iso = cls(True, "", sorted({str(Path(p).resolve()) for p in hidden if Path(p).exists()}), _readable())
        if "trial" not in _TRIED:   # once per process: the answer depends on the machine, not the paths
            _TRIED["trial"] = iso.trial()
        problem = _TRIED["trial"]
        return iso if problem is None else cls.none(f"the sandbox could not start a kernel ({problem})")

    def launcher(self, uid: int, scratch: Path) -> list[str]:
        """The command that starts `cmd` (appended after it) as `uid` in the sandbox."""
        # run as a file with the standard library only (-I -S): importing the package (and torch
        # with it) would cost every kernel start a second or more
        cmd = [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "--uid", str(uid if self.active else 0),
               "--scratch", str(scratch)]
        for p in self.hidden:
            cmd += ["--hide", p]
        for p in self.readable:
            cmd += ["--readable", p]
        return cmd + ["--"]

    def kernelspec(self, folder: Path, uid: int, scratch: Path) -> dict[str, str]:
        """Write a kernelspec that starts ipykernel in the sandbox; returns the environment
        variables that make Jupyter find it."""
        spec = folder / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True, exist_ok=True)
        argv = self.launcher(uid, scratch) + [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "coursekit sandbox",
                                                      "language": "python"}))
        return {"JUPYTER_PATH": str(folder)}

    def trial(self) -> str | None:
        """Start Python as a fresh user in the sandbox and import what a kernel needs; None
        when that works, else what went wrong."""
        import tempfile
        uid = next_uid()
        with tempfile.TemporaryDirectory(prefix="coursekit-trial-") as tmp:
            scratch = make_scratch(Path(tmp), uid)
            code = ("import os, coursekit, ipykernel, torch, nbformat; assert os.getuid() == %d; "
                    "open('/tmp/ok', 'w').write('ok')" % uid)
            try:
                done = subprocess.run(self.launcher(uid, scratch) + [sys.executable, "-c", code],
                                      capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            except (OSError, subprocess.TimeoutExpired) as err:
                return f"{type(err).__name__}: {err}"
            finally:
                reap(uid)
            if done.returncode != 0 or not (scratch / "ok").is_file():
                lines = (done.stderr or done.stdout or "no output").strip().splitlines()
                return f"exit {done.returncode}: {lines[-1] if lines else ''}"[:300]
        return None


def next_uid() -> int:
    """A user id no account and no running process has (each grading gets its own)."""
    import pwd
    with _UID_LOCK:
        while True:
            uid = _UID_NEXT[0]
            _UID_NEXT[0] += 1
            try:
                pwd.getpwuid(uid)
                continue
            except KeyError:
                pass
            if not uid_processes(uid):
                return uid


def make_scratch(parent: Path, uid: int | None) -> Path:
    """The kernel's own folder: `parent/scratch`, mode 700, owned by `uid` (None: by the grader)."""
    scratch = parent / "scratch"
    scratch.mkdir(mode=0o700)
    if uid is not None:
        os.chown(scratch, uid, uid)
    return scratch


def uid_processes(uid: int | range) -> list[int]:
    """The processes whose real or effective user is `uid` (or in the range `uid`)."""
    uids = uid if isinstance(uid, range) else range(uid, uid + 1)
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"State:") and line.split()[1] in (b"Z", b"X"):
                        break   # a zombie holds no resources and runs nothing: its parent reaps it
                    if line.startswith(b"Uid:"):
                        real, effective = (int(x) for x in line.split()[1:3])
                        if real in uids or effective in uids:
                            found.append(int(entry.name))
                        break
        except (OSError, ValueError):
            continue
    return found


def reap(uid: int, rounds: int = 100) -> int:
    """Kill every process of `uid`, however detached: stop them all (a stopped process cannot
    fork), then kill them, round after round until none is left. Returns how many were found
    at first."""
    first = len(uid_processes(uid))
    for _ in range(rounds):
        pids = uid_processes(uid)
        if not pids:
            return first
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
        time.sleep(0.01)
    return first


def _readable() -> list[str]:
    """What the kernel must be able to read: the Python installation, the environment and
    every folder on the grader's import path (the package included)."""
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths |= {p for p in sys.path if p and os.path.isdir(p)}
    paths.add(str(Path(__file__).resolve().parents[2]))   # the folder holding the coursekit package
    return sorted({os.path.realpath(p) for p in paths} | {os.path.abspath(p) for p in paths})


# ----------------------------------------------------------------------------- the launcher
_libc = None


def _call(name: str, *args) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if getattr(_libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}{args!r}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()   # noqa: E731
    _call("mount", enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def _below_any(path: str, folders: list[str]) -> bool:
    """Whether `path` is one of `folders` or inside one."""
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def _closed_ancestor(path: str) -> str | None:
    """The highest folder above `path` that others cannot enter, if any."""
    parts = Path(path).parts
    for i in range(2, len(parts)):
        folder = os.path.join(*parts[:i])
        try:
            if not os.stat(folder).st_mode & 0o001:
                return folder
        except OSError:
            return None
    return None


def _hold(paths: list[str]) -> list[tuple[str, int]]:
    """Descriptors to the outermost of `paths` (one inside another is held by it), opened before
    a mount covers them, so `_put_back` can bind them again afterwards."""
    held: list[tuple[str, int]] = []
    for p in sorted(set(paths), key=len):
        if not any(_below_any(p, [k]) for k, _ in held):
            held.append((p, os.open(p, os.O_PATH)))
    return held


def _put_back(held: list[tuple[str, int]]) -> None:
    """Bind each held path at its old place in the new view (making the mount point first)."""
    for p, fd in held:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(p, mode=0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(p), mode=0o755, exist_ok=True)
            open(p, "a").close()
        _mount(f"/proc/self/fd/{fd}", p, None, MS_BIND | MS_REC)
        os.close(fd)


def _open_up(readable: list[str]) -> None:
    """Lay an empty, enterable folder over each closed folder above a needed path, and put the
    needed paths back into it."""
    covers: dict[str, list[str]] = {}
    for p in readable:
        if os.path.exists(p):
            top = _closed_ancestor(p)
            if top is not None:
                covers.setdefault(top, []).append(p)
    for top, paths in sorted(covers.items(), key=lambda kv: len(kv[0])):
        held = _hold(paths)
        _mount("coursekit", top, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
        _put_back(held)


def launch(argv: list[str]) -> None:
    """`python -m coursekit.grading.sandbox --uid U --scratch DIR [--hide P]... [--readable P]... -- CMD...`"""
    import argparse
    import resource
    split = argv.index("--")
    p = argparse.ArgumentParser(prog="coursekit.grading.sandbox")
    p.add_argument("--uid", type=int, required=True)
    p.add_argument("--scratch", required=True)
    p.add_argument("--hide", action="append", default=[])
    p.add_argument("--readable", action="append", default=[])
    args, cmd = p.parse_args(argv[:split]), argv[split + 1:]
    if args.uid < 0 or not cmd:
        raise SystemExit("coursekit.grading.sandbox: needs --uid (0: the grader's own user) and a command after --")
    scratch = os.path.realpath(args.scratch)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "COURSEKIT_GRADER"))}
    if args.uid == 0:   # no isolation available: only a scratch folder as working directory and home
        env.update(HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=os.path.join(scratch, ".matplotlib"),
                   IPYTHONDIR=os.path.join(scratch, ".ipython"), XDG_CACHE_HOME=os.path.join(scratch, ".cache"))
        os.chdir(scratch)
        os.execvpe(cmd[0], cmd, env)
    # the connection file (and any other argument file in the grader's folders) is read now, as root
    network = CLONE_NEWNET
    if "-f" in cmd:
        i = cmd.index("-f") + 1
        with open(cmd[i], "rb") as f:
            connection = json.load(f)
        if connection.get("transport") == "ipc" and str(connection.get("ip", "")).startswith(scratch + os.sep):
            # the kernel's sockets are files in its scratch folder, which it sees as /tmp
            connection["ip"] = "/tmp/" + os.path.relpath(connection["ip"], scratch)
        else:
            network = 0   # TCP to the grader: the kernel must stay in the grader's network
        target = os.path.join(scratch, "kernel.json")
        with open(target, "w") as f:
            json.dump(connection, f)
        os.chown(target, args.uid, args.uid)
        os.chmod(target, 0o600)
        cmd[i] = "/tmp/kernel.json"
    _call("unshare", CLONE_NEWNS | network)   # a network of its own: no loopback, no other kernel's ports
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _open_up(args.readable + [scratch])   # the scratch too, when a covered folder holds it
    places = [p for p in ("/var/tmp", "/dev/shm", "/tmp") if os.path.isdir(p)]   # /tmp last: it covers the scratch
    # what the kernel needs that lives below those places (a checkout in /tmp, as CI clones may be):
    # opened now, put back read-only-as-it-was into the scratch view after the places are covered
    held = _hold([p for p in args.readable if os.path.isdir(p) and _below_any(p, places)
                  and not _below_any(scratch, [p]) and p not in places])
    for place in places:
        _mount(scratch, place, None, MS_BIND)
    _put_back(held)
    for path in args.hide:   # last: also inside what was put back
        if os.path.isdir(path):
            _mount("coursekit-hidden", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=4k")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)
    os.chdir("/tmp")
    resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
    os.setgroups([])
    os.setgid(args.uid)
    os.setuid(args.uid)
    _call("prctl", PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("coursekit.grading.sandbox: still root after dropping privileges; refusing to run")
    env.update(HOME="/tmp", TMPDIR="/tmp", USER="student", LOGNAME="student", MPLCONFIGDIR="/tmp/.matplotlib",
               IPYTHONDIR="/tmp/.ipython", JUPYTER_RUNTIME_DIR="/tmp/.jupyter", JUPYTER_DATA_DIR="/tmp/.jupyter",
               XDG_CACHE_HOME="/tmp/.cache", PYTHONDONTWRITEBYTECODE="1")
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvpe(cmd[0], cmd, env)


if __name__ == "__main__":
    try:
        launch(sys.argv[1:])
    except OSError as err:
        print(f"coursekit.grading.sandbox: {err}", file=sys.stderr)
        raise SystemExit(111) from None
