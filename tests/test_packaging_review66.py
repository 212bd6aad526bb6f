"""Review of the packaging (66): the dependency floors, installed as pip installs them into
an environment that already holds some of them.

pip keeps an installed version that meets a requirement, and a package's own requirements
decide what else it may pick: pyarrow 26 declares no numpy requirement but refuses NumPy 1.x
on import, and pandas 2.1 to 2.2.1 allow NumPy 2 but fail on import with it. Each floor is
therefore one that works with every version of the others that the requirements allow.
"""

from __future__ import annotations

from test_packaging import PROJECT, _floors

#: The first release of each dependency built for NumPy 2 (whose import works with it);
#: pip may pair any allowed release with NumPy 2, and pyarrow 26 with nothing older.
FIRST_FOR_NUMPY_2 = {
    "numpy": "2.0",
    "scipy": "1.13",
    "numba": "0.60",
    "scikit-learn": "1.4.2",
    "pyarrow": "16",
    "pandas": "2.2.2",
    "matplotlib": "3.8.4",
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_every_floor_imports_with_numpy_2_and_numpy_1_is_not_allowed() -> None:
    """Was: ``numpy>=1.26`` beside ``pyarrow>=18``: in an environment holding numpy 1.26
    (or where another package caps numpy below 2), ``pip install riskscore-metadata``
    added pyarrow 26, ``pip check`` found nothing wrong, and ``riskscore --help`` ended in
    ``ImportError: pyarrow requires NumPy 2.0 or newer``. And ``pandas>=2.1`` let
    ``pip install 'riskscore-metadata[pandas]' 'pandas<2.2'`` pair pandas 2.1 with NumPy 2,
    whose import fails in pyarrow's own pandas check: ``riskscore generate`` failed too."""
    extras = PROJECT["optional-dependencies"]
    floors = _floors(PROJECT["dependencies"] + extras["pandas"] + extras["plots"])
    assert [
        name
        for name, first in FIRST_FOR_NUMPY_2.items()
        if _version(floors[name]) < _version(first)
    ] == []
