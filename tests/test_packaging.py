"""The set-up: environment.yml agrees with pyproject.toml, the torch installer picks the right
build, and .ci/run calls exactly the README's test command."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    out = {}
    for req in reqs:
        name, spec = _split(req)
        assert out.get(name, spec) == spec, f"{name} has two different specifiers in pyproject.toml"
        out[CONDA_NAMES.get(name, name)] = spec
    return out


def environment_requirements() -> dict[str, str]:
    out = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and re.match(r"^\S", line):
            break
        m = re.match(r"^  - ([^#\s][^#]*)", line)
        if in_deps and m:
            name, spec = _split(m.group(1).strip())
            out[name] = spec
    return out


def test_environment_yml_and_pyproject_declare_the_same_dependencies():
    py = pyproject_requirements()
    env = environment_requirements()
    env.pop("python")
    env.pop("pip")
    assert env == py


def test_requires_python_matches_environment():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = (ROOT / "environment.yml").read_text()
    assert f"python{meta['requires-python']}" in env.replace(" ", "")


def test_torch_is_a_floor_not_a_pin():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch_req = [r for r in meta["dependencies"] if r.startswith("torch")]
    assert torch_req == ["torch>=2.3"], "never hard-pin torch: a student's CUDA build must be kept"


def test_ci_run_calls_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    commands = [line.strip() for line in ci.splitlines() if line.strip().startswith("make ")]
    assert commands == ["make test"]
    assert "make test" in readme and "make lab" in readme
    # the two commands come first: before the first section heading after the title
    intro = readme.split("\n## ", 1)[0]
    assert "make lab" in intro and "make test" in intro


# --- the torch installer's decisions -----------------------------------------------------

sys.path.insert(0, str(ROOT / "scripts"))
import install_torch  # noqa: E402


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(install_torch, "pip_install", lambda args, dry_run: seen.append(args) or 0)
    monkeypatch.delenv("TORCH_INDEX_URL", raising=False)
    monkeypatch.delenv("TORCH_SPEC", raising=False)
    return seen


def test_installer_keeps_a_suitable_torch(monkeypatch, calls):
    monkeypatch.setattr(install_torch, "installed_torch", lambda: "2.11.0+cu128")
    assert install_torch.main([]) == 0
    assert calls == []


def test_installer_replaces_a_too_old_torch(monkeypatch, calls, tmp_path):
    monkeypatch.setattr(install_torch, "installed_torch", lambda: "1.13.1")
    monkeypatch.setattr(install_torch, "find_links", lambda: [])
    monkeypatch.setattr(install_torch, "has_nvidia_gpu", lambda: True)
    install_torch.main([])
    assert calls == [["torch>=2.3"]]


def test_installer_prefers_a_local_wheel(monkeypatch, calls, tmp_path):
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    import platform
    system = {"linux": "linux", "darwin": "macosx", "win32": "win"}[sys.platform]
    for version in ("2.13.0+cpu", "2.12.0+cpu", "2.1.0+cpu"):
        (tmp_path / f"torch-{version}-{tag}-{tag}-{system}_{platform.machine().lower()}.whl").touch()
    (tmp_path / f"torch-2.14.0-cp39-cp39-{system}_{platform.machine().lower()}.whl").touch()
    monkeypatch.setattr(install_torch, "installed_torch", lambda: None)
    monkeypatch.setattr(install_torch, "find_links", lambda: [str(tmp_path)])
    install_torch.main([])
    assert len(calls) == 1 and calls[0][0].endswith(f"torch-2.13.0+cpu-{tag}-{tag}-{system}_{platform.machine().lower()}.whl")


def test_installer_gpu_cpu_and_override(monkeypatch, calls):
    monkeypatch.setattr(install_torch, "installed_torch", lambda: None)
    monkeypatch.setattr(install_torch, "find_links", lambda: [])
    monkeypatch.setattr(install_torch.sys, "platform", "linux")
    monkeypatch.setattr(install_torch, "has_nvidia_gpu", lambda: True)
    install_torch.main([])
    monkeypatch.setattr(install_torch, "has_nvidia_gpu", lambda: False)
    install_torch.main([])
    monkeypatch.setenv("TORCH_INDEX_URL", "https://example.invalid/cu121")
    install_torch.main([])
    assert calls == [["torch>=2.3"],
                     ["torch>=2.3", "--index-url", install_torch.CPU_INDEX],
                     ["torch>=2.3", "--index-url", "https://example.invalid/cu121"]]


def test_installer_dry_run_on_this_machine_names_a_plan():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "install_torch.py"), "--dry-run"],
                         capture_output=True, text=True, check=True).stdout
    assert "[install_torch]" in out
    assert ("already installed" in out) or ("running:" in out)
