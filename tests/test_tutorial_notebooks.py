"""Run every tutorial notebook top to bottom, as a student would.

Each notebook asserts its key numbers (textbook values, hand calculations, raw
counts) in its own code cells, so a wrong engine fails here with the failing
cell's error. The kernel is this interpreter (a kernelspec written to a temporary
folder), started in ``tutorials/`` with ``CAUSALDSL_FAST=1`` so that Monte Carlo
cells use fewer draws (and tolerances derived from their standard errors).
"""

import json
import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
NOTEBOOKS = sorted(p.name for p in TUTORIALS.glob("*.ipynb"))
KERNEL = "causaldsl-tutorials"
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in IPython tracebacks
CELL_TIMEOUT = 300  # seconds for one cell; the whole set takes well under a minute


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernelspec folder whose one kernel is the interpreter running the tests."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / KERNEL
    spec.mkdir()
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "causaldsl tutorials (test interpreter)",
        "language": "python",
    }))
    return root


def test_the_five_tutorials_are_here():
    assert {"01_first_model.ipynb", "02_front_door.ipynb", "03_simpson.ipynb",
            "04_counterfactuals.ipynb", "05_continuous_widgets.ipynb"} <= set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, kernel_dir):
    nb = nbformat.read(TUTORIALS / name, as_version=4)
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = nbclient.NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, allow_errors=False,
                                     resources={"metadata": {"path": str(TUTORIALS)}})
    env = dict(os.environ)
    env["CAUSALDSL_FAST"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # several kernels may share one GPU
    try:
        client.execute(env=env)
    except CellExecutionError as e:  # the message holds the cell's source and its traceback
        pytest.fail(f"{name}: a cell failed\n{ANSI.sub('', str(e))}", pytrace=False)
    except (CellTimeoutError, DeadKernelError) as e:
        pytest.fail(f"{name}: {type(e).__name__}: {e}", pytrace=False)
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    # Every code cell ran, in order, and none left an error output behind.
    codes = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in codes), "a code cell did not run"
    errors = [o for c in codes for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
