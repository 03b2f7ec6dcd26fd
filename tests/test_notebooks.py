"""The analysts' notebooks run top to bottom, and every figure they draw is a picture.

Each notebook under ``notebooks/`` is executed once, here, with nbclient (its tagged
``parameters`` cell keeps it small). pytest does not collect the notebooks themselves
(pyproject's ``testpaths`` leave ``notebooks/`` out), so CI runs each one once. A cell
tagged ``figure`` must carry an ``image/png`` output, and no output anywhere may be a
figure's bare text (``<Figure size 1100x400 with 2 Axes>``: what Jupyter prints when
nothing renders the figure). Every cell that builds or draws a figure must be tagged, so
the check cannot be dodged by leaving a tag off.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
FIGURE_TAG = "figure"
DRAWS = re.compile(r"\bFigure\(|\bdraw_\w+\(")
"""Source that builds a figure: such a cell must be tagged ``figure``."""
BARE_FIGURE = re.compile(r"^<Figure size \d+x\d+")


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def figure_problems(notebook: NotebookNode) -> list[str]:
    """What is wrong with an executed notebook's figures, one line per problem."""
    found = []
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        data = [output.get("data", {}) for output in cell.get("outputs", [])]
        if FIGURE_TAG in _tags(cell) and not any("image/png" in d for d in data):
            found.append(f"cell {number}: tagged {FIGURE_TAG!r} but has no image/png output")
        for d in data:
            if set(d) <= {"text/plain"} and BARE_FIGURE.match(str(d.get("text/plain", ""))):
                found.append(f"cell {number}: a figure printed as text: {d['text/plain']}")
    return found


def untagged_figures(notebook: NotebookNode) -> list[int]:
    """The code cells that build or draw a figure but are not tagged ``figure``."""
    return [number for number, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and DRAWS.search(cell.source)
            and FIGURE_TAG not in _tags(cell)]


def execute(path: Path) -> NotebookNode:
    """``path`` run top to bottom in a fresh kernel, from its own folder."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def test_there_are_notebooks_and_each_is_committed_clean_with_its_figures_tagged() -> None:
    assert len(NOTEBOOKS) >= 3
    figures = 0
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert "parameters" in _tags(notebook.cells[1]), f"{path.name}: no parameters cell"
        assert all(not cell.get("outputs") for cell in notebook.cells
                   if cell.cell_type == "code"), f"{path.name} is committed with outputs"
        assert untagged_figures(notebook) == [], path.name
        figures += sum(FIGURE_TAG in _tags(cell) for cell in notebook.cells)
    assert figures >= 5  # 01's sweep and slider figures, 02's three races


def test_the_check_catches_a_figure_left_as_text_and_a_figure_cell_without_a_picture() -> None:
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("figure = Figure()\nfigure", metadata={"tags": ["figure"]},
                                  outputs=[nbformat.v4.new_output(
                                      "execute_result", {"text/plain": "<Figure size 640x480 "
                                                         "with 0 Axes>"}, execution_count=1)]),
        nbformat.v4.new_code_cell("draw_race1(episode)"),
        nbformat.v4.new_code_cell("figure", metadata={"tags": ["figure"]}, outputs=[
            nbformat.v4.new_output("display_data", {"image/png": "iVBORw0KGgo=",
                                                    "text/plain": "<Figure size 640x480>"})]),
    ])
    assert figure_problems(notebook) == [
        "cell 0: tagged 'figure' but has no image/png output",
        "cell 0: a figure printed as text: <Figure size 640x480 with 0 Axes>"]
    assert untagged_figures(notebook) == [1]


@pytest.mark.slow  # a Jupyter kernel and a small study each: 7 to 25 s
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_notebook_runs_and_every_figure_cell_shows_a_picture(path: Path) -> None:
    notebook = execute(path)
    assert figure_problems(notebook) == []
    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert errors == []  # nbclient raises on an error; this states it
