"""The kernel indicator stays Busy while `train` runs in JupyterLab, and the progress bar still shows.

The bug: with ipykernel 7 (kernel subshells) and JupyterLab >= 4.4 (comms over subshells, the
default `perCommTarget`), the progress bar of `tqdm.auto` is an ipywidgets widget; the first comm
of the `jupyter.widget` target makes JupyterLab send a `create_subshell_request` on the control
channel; ipykernel handles it at once, in its control thread, while the cell is still running, and
publishes `busy` then `idle` for it on IOPub; JupyterLab takes its kernel status from every IOPub
status whose parent is not one of jupyter_server's `untracked_message_types` (create_subshell_request
is not), so the indicator reads Idle for the rest of the training cell.

Here a headless client plays JupyterLab's part (jupyter_client): it answers the kernel's comm_opens
the way JupyterLab does, and reads the IOPub status messages the way JupyterLab's kernel connection
does. The kernel runs this checkout's coursekit (PYTHONPATH is the repository root).
"""
from __future__ import annotations

import json
import os
import queue
import sys
import time
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

try:   # what the server gives JupyterLab as `untracked_message_types` (page config) unless configured
    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager
    UNTRACKED = frozenset(MappingKernelManager.class_traits()["untracked_message_types"].default())
except ImportError:   # jupyter_server 2.x's default
    UNTRACKED = frozenset({
        "comm_info_request", "comm_info_reply", "kernel_info_request", "kernel_info_reply", "shutdown_request",
        "shutdown_reply", "interrupt_request", "interrupt_reply", "debug_request", "debug_reply", "stream",
        "display_data", "update_display_data", "execute_input", "execute_result", "error", "status",
        "clear_output", "debug_event", "input_request", "input_reply"})

SETUP = """
import time
import torch
from torch import nn
from coursekit.training import train
import coursekit.training.loop as loop

class SlowToy(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(4))

    def loss(self, batch):
        time.sleep(0.04)   # a step that takes a while, as a real one does
        (x,) = batch
        return {"loss": ((x - self.w) ** 2).mean()}

batches = [(torch.randn(8, 4),)] * 10
print(loop.__file__)
"""
STEPS = 60
TRAIN = "history = train(SlowToy(), batches, epochs=6, lr=0.1, device='cpu', seed=0)"


class JupyterLabClient:
    """A kernel client doing, for this test, what JupyterLab 4.4+ does: a comm opened by the kernel
    gets a subshell per comm target (create_subshell_request, control channel) when the kernel
    supports subshells; the kernel status is the last IOPub status whose parent is tracked."""

    def __init__(self, kc):
        self.kc = kc
        info = kc.kernel_info(reply=True, timeout=30)["content"]
        self.subshells = "kernel subshells" in info.get("supported_features", [])
        self.targets: set[str] = set()
        self.sent: dict[str, str] = {}   # msg_id -> what the frontend sent

    def on_iopub(self, msg) -> None:
        if msg["msg_type"] == "comm_open":
            target = msg["content"]["target_name"]
            if self.subshells and target not in self.targets:
                self.targets.add(target)
                request = self.kc.session.msg("create_subshell_request", {})
                self.kc.control_channel.send(request)
                self.sent[request["header"]["msg_id"]] = f"create_subshell_request for comm target {target!r}"

    def run(self, code: str, timeout: float = 120) -> dict:
        """Execute `code`, answering as JupyterLab would; return the IOPub messages in order and what
        JupyterLab's indicator showed after each."""
        msg_id = self.kc.execute(code)
        messages, shown, status = [], [], None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            self.on_iopub(msg)
            if msg["msg_type"] == "status" and msg["parent_header"].get("msg_type") not in UNTRACKED:
                status = msg["content"]["execution_state"]
            messages.append(msg)
            shown.append(status)
            if (msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == msg_id
                    and msg["content"]["execution_state"] == "idle"):
                reply = self.kc.get_shell_msg(timeout=10)
                assert reply["content"]["status"] == "ok", reply["content"]
                return {"msg_id": msg_id, "messages": messages, "shown": shown}
        raise TimeoutError(f"no idle for {code!r} within {timeout} s")

    def describe(self, msg) -> str:
        parent = msg["parent_header"]
        return self.sent.get(parent.get("msg_id"), parent.get("msg_type"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    specs = tmp_path_factory.mktemp("kernels")   # this interpreter's kernel, whatever else is installed
    (specs / "this").mkdir()
    (specs / "this" / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "this interpreter", "language": "python"}))
    km = jupyter_client.KernelManager(
        kernel_name="this", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    km.start_kernel(cwd=str(ROOT), env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        client = JupyterLabClient(kc)
        setup = client.run(SETUP)
        printed = "".join(m["content"]["text"] for m in setup["messages"] if m["msg_type"] == "stream")
        assert Path(printed.strip()).resolve() == ROOT / "coursekit" / "training" / "loop.py", printed
        yield client
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def training(lab):
    return lab.run(TRAIN)


def test_the_indicator_stays_busy_while_train_runs(lab, training):
    messages, msg_id = training["messages"], training["msg_id"]
    statuses = [(i, m) for i, m in enumerate(messages) if m["msg_type"] == "status"]
    own = [(i, m["content"]["execution_state"]) for i, m in statuses if m["parent_header"].get("msg_id") == msg_id]
    assert [s for _, s in own] == ["busy", "idle"], own
    start, end = own[0][0], own[1][0]
    foreign_idle = [f"IOPub status idle, parent {lab.describe(m)} (JupyterLab "
                    f"{'ignores it' if m['parent_header'].get('msg_type') in UNTRACKED else 'shows it'})"
                    for i, m in statuses if start < i < end and m["parent_header"].get("msg_id") != msg_id
                    and m["content"]["execution_state"] == "idle"]
    shown = training["shown"][start:end]
    assert all(s == "busy" for s in shown) and not any("shows it" in f for f in foreign_idle), (
        "while the training cell ran, the kernel published:\n  " + "\n  ".join(foreign_idle)
        + f"\nand JupyterLab's indicator read {sorted(set(shown))}")


def test_the_progress_bar_shows_and_updates_in_place(training):
    messages = [m for m in training["messages"] if m["parent_header"].get("msg_id") == training["msg_id"]
                or m["msg_type"] in ("update_display_data",)]
    shown = [m for m in messages if m["msg_type"] == "display_data"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert len(shown) == 1, [m["content"]["data"].keys() for m in shown]   # one output in the notebook
    display_id = shown[0]["content"].get("transient", {}).get("display_id")
    assert display_id, f"the bar is not a display updated in place: {sorted(shown[0]['content']['data'])}"
    assert updates and all(m["content"]["transient"]["display_id"] == display_id for m in updates)
    assert len(updates) <= STEPS + 2   # throttled by tqdm's mininterval, never more than one a step
    last = updates[-1]["content"]["data"]
    assert "training SlowToy" in last["text/html"] and f"{STEPS}/{STEPS}" in last["text/html"]
    assert last["text/plain"].startswith("training SlowToy: 100%") and f"{STEPS}/{STEPS}" in last["text/plain"]
    assert not [m for m in training["messages"] if m["msg_type"].startswith("comm_")]


def test_a_terminal_gets_the_text_bar(capsys):
    import torch
    from torch import nn

    from coursekit.training import train

    class Toy(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(2))

        def loss(self, batch):
            return {"loss": ((batch[0] - self.w) ** 2).mean()}

    train(Toy(), [(torch.ones(4, 2),)] * 3, epochs=2, device="cpu", desc="toy run")
    err = capsys.readouterr().err
    assert "toy run: 100%" in err and "6/6" in err
