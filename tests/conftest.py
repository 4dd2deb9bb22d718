import pytest
import torch

from coursekit import data


@pytest.fixture(scope="session")
def digits():
    return data.digits()


@pytest.fixture
def one_thread():
    """torch on one thread for the test (small networks: one thread is faster than two that fight for a busy
    CPU); a module opts in with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def isolation_mode(tmp_path_factory):
    """The grader's --isolation for test classes: "auto" where the sandbox works or the grader is
    not root; "none" (said on the terminal) where the grader is root but the sandbox cannot start
    a kernel (a container without SYS_ADMIN), which `coursekit grade` would refuse."""
    from pathlib import Path

    from coursekit.grading import grade
    where = tmp_path_factory.mktemp("isolation")
    try:
        grade.class_isolation("auto", where, Path(__file__).resolve().parents[1] / "solutions", where / "out")
        return "auto"
    except RuntimeError as err:
        print(f"\ngrading tests run without the sandbox: {err}")
        return "none"
