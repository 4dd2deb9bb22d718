"""Make `import coursekit` work in Colab or a bare Jupyter; every lecture's first cell imports it:

    import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

It does nothing when `coursekit` is already importable (`make lab`, Binder, nbval, `make notebooks`).
Otherwise it looks for the course repository from the kernel's working directory upwards (the
first folder holding `coursekit/`), installs it with `pip install -e`, and puts it on `sys.path`
so that this kernel imports it without a restart. Without a repository it raises an ImportError
that says what to do.

The kernel's working directory is the notebook's folder (JupyterLab, nbval, nbclient), which is
why this file sits next to the lectures; on Colab, `%cd` into `notebooks/` of the cloned
repository first (README: 'Colab and Binder').
"""
from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys

__all__ = ["ensure_coursekit"]


def ensure_coursekit(cwd: pathlib.Path | None = None) -> pathlib.Path | None:
    """Install the course repository above `cwd` (default: the working directory) when coursekit
    is not importable; return the repository it installed, or None when there was nothing to do."""
    if importlib.util.find_spec("coursekit") is not None:
        return None
    cwd = pathlib.Path.cwd() if cwd is None else pathlib.Path(cwd)
    root = next((p for p in [cwd, *cwd.parents] if (p / "coursekit").is_dir()), None)
    if root is None:
        raise ImportError("coursekit is not installed. Clone the course repository, run `pip install -e .` "
                          "in it and open this notebook from there (README: 'Colab and Binder').")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(root)], check=True)
    sys.path.insert(0, str(root))
    return root


ensure_coursekit()
