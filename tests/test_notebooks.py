"""The notebooks run top to bottom on a fresh install, and are stored with clean outputs.

``python notebooks/execute.py`` re-executes them and stores their outputs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: A path of this machine or another in stored outputs: where the checkout, the virtual
#: environment or a temporary folder happened to be.
ABSOLUTE_PATH = re.compile(
    r"(?<![\w.])(?:/work|/root|/home|/tmp|/var/folders|/Users|[A-Z]:\\)[/\\]"
)


def _outputs(notebook: Any) -> list[Any]:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def _text(output: Any) -> str:
    if output.get("output_type") == "stream":
        return str(output.get("text", ""))
    data = output.get("data", {})
    return "".join(str(v) for k, v in data.items() if k.startswith("text/"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    outputs = _outputs(notebook)
    assert outputs, "stored without outputs: run python notebooks/execute.py"
    assert not [o for o in outputs if o.get("output_type") == "error"]
    stderr = [_text(o) for o in outputs if o.get("output_type") == "stream" and o.name == "stderr"]
    assert not stderr, f"stderr in stored outputs (warnings?): {stderr}"
    paths = [m.group(0) for o in outputs for m in [ABSOLUTE_PATH.search(_text(o))] if m]
    assert not paths, f"absolute paths in stored outputs: {paths}"
    assert all("execution" not in cell.metadata for cell in notebook.cells), "timings stored"


def test_lm_notebook_shows_a_learning_curve() -> None:
    path = next(p for p in NOTEBOOKS if p.name.startswith("03_"))
    notebook = nbformat.read(path, as_version=4)
    assert any("image/png" in o.get("data", {}) for o in _outputs(notebook))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    assert not [o for o in _outputs(notebook) if o.get("output_type") == "error"]
