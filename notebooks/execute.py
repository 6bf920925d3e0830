"""Re-execute notebooks in place and store clean outputs: ``python notebooks/execute.py [NB ...]``.

Each notebook runs top to bottom in a fresh kernel whose working directory is ``notebooks/``
(so nothing printed depends on where the checkout is), without execution timings in the cell
metadata. ``tests/test_notebooks.py`` checks the stored outputs: no error, no stderr stream, no
absolute machine path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent


def execute(path: Path, timeout: int = 600) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute()
    nbformat.write(notebook, path)


if __name__ == "__main__":
    for name in sys.argv[1:] or sorted(p.name for p in HERE.glob("*.ipynb")):
        print("executing", name, flush=True)
        execute(HERE / Path(name).name)
