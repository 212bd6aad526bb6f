"""Research audit 40: the research workflow (notebooks, evaluation, synthetic worlds) as a
researcher reproducing a study would use it.

Each test failed on the code before its fix."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _code(notebook: str) -> str:
    cells = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_quickstart_notebook_splits_with_the_library() -> None:
    """Was: ``notebooks/01_quickstart.ipynb``, which the README says walks through the same
    steps, built its training labels by hand (an unused ``train_ids``, a ``Labels`` rebuilt
    from a mask over its private dataclass fields) instead of calling ``split_dataset``, and
    measured with scikit-learn instead of ``rs.evaluate``."""
    code = _code("01_quickstart.ipynb")
    assert "split_dataset(" in code
    assert "rs.evaluate(" in code
    for by_hand in ("train_ids", "__dataclass_fields__", "rs.synthetic.Labels(", "np.isin("):
        assert by_hand not in code, by_hand
