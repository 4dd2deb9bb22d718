"""Install the right PyTorch build into the running Python environment, once.

Run by `make lab` and `make test` before the course's own requirements, because a bare
`torch` requirement with no torch installed makes pip fetch the newest CUDA build (several
GB) even on a machine with no GPU. The rules, in order:

1. A torch that is already importable and new enough is kept (a GPU machine's CUDA build,
   e.g. 2.11, is never replaced).
2. ``TORCH_SPEC`` / ``TORCH_INDEX_URL`` in the environment, if set, are used as given.
3. A torch wheel for this interpreter in one of pip's ``find-links`` folders (a lab machine
   or CI image that ships one) is installed from that file.
4. An NVIDIA GPU (``nvidia-smi`` answers), macOS or Windows: the default build from PyPI
   (CUDA on Linux, MPS on macOS). Windows users with a GPU should set TORCH_INDEX_URL to a
   CUDA index, see README.
5. Linux with no NVIDIA GPU: the CPU-only build from PyTorch's CPU index, falling back to
   PyPI's default build if that index cannot be reached.

Usage: python scripts/install_torch.py [--dry-run]
"""
from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import subprocess
import sys

MIN_VERSION = (2, 3)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def say(msg: str) -> None:
    print(f"[install_torch] {msg}", flush=True)


def installed_torch() -> str | None:
    """The version of an importable torch, checked in a subprocess so nothing is cached."""
    out = subprocess.run(
        [sys.executable, "-c", "import torch, sys; sys.stdout.write(torch.__version__)"],
        capture_output=True, text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:2])


def find_links() -> list[str]:
    """pip's find-links folders, from the environment and pip's own configuration."""
    dirs = os.environ.get("PIP_FIND_LINKS", "").split()
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.endswith("find-links"):
            dirs += value.strip().strip("'\"").split()
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def local_wheel() -> str | None:
    """A torch wheel in a find-links folder that this interpreter can install."""
    py_tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    machine = platform.machine().lower()
    system = {"linux": "linux", "darwin": "macosx", "win32": "win"}.get(sys.platform, sys.platform)
    candidates = []
    for folder in find_links():
        for path in glob.glob(os.path.join(folder, "torch-*.whl")):
            name = os.path.basename(path)
            version = name.split("-")[1]
            if py_tag in name and system in name and machine in name and version_tuple(version) >= MIN_VERSION:
                candidates.append((version_tuple(version), path))
    return max(candidates)[1] if candidates else None


def has_nvidia_gpu() -> bool:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    return subprocess.run([smi, "-L"], capture_output=True).returncode == 0


def pip_install(args: list[str], dry_run: bool) -> int:
    cmd = [sys.executable, "-m", "pip", "install", *args]
    say("running: " + " ".join(cmd))
    return 0 if dry_run else subprocess.run(cmd).returncode


def main(argv: list[str]) -> int:
    dry_run = "--dry-run" in argv
    spec = os.environ.get("TORCH_SPEC", f"torch>={MIN_VERSION[0]}.{MIN_VERSION[1]}")
    floor = ".".join(map(str, MIN_VERSION))

    version = installed_torch()
    if version is not None and version_tuple(version) >= MIN_VERSION:
        say(f"torch {version} is already installed and new enough (>= {floor}); keeping it.")
        return 0
    if version is not None:
        say(f"torch {version} is older than {floor}; installing a newer build.")

    if os.environ.get("TORCH_INDEX_URL"):
        say(f"TORCH_INDEX_URL is set: installing {spec} from it.")
        return pip_install([spec, "--index-url", os.environ["TORCH_INDEX_URL"]], dry_run)

    wheel = local_wheel()
    if wheel is not None:
        say(f"found a local torch wheel: {wheel}; installing it (no download of torch).")
        return pip_install([wheel], dry_run)

    if has_nvidia_gpu() or sys.platform in ("darwin", "win32"):
        why = "an NVIDIA GPU answers nvidia-smi" if has_nvidia_gpu() else f"platform {sys.platform}"
        say(f"{why}: installing the default PyPI build of {spec}.")
        return pip_install([spec], dry_run)

    say(f"no NVIDIA GPU found: installing the CPU-only build of {spec} from {CPU_INDEX}.")
    rc = pip_install([spec, "--index-url", CPU_INDEX], dry_run)
    if rc != 0:
        say("the CPU index could not be used; falling back to PyPI's default build (large download).")
        rc = pip_install([spec], dry_run)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
