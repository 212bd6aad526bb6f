"""The feature table: one row of features per conversation, with its ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from riskscore._optional import import_extra
from riskscore.exceptions import SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FeatureTable"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class FeatureTable:
    """Features of each conversation.

    Attributes
    ----------
    conversation_id : array of shape (n_conversations,)
        Conversation ids, sorted.
    values : array of shape (n_conversations, n_features)
        Feature values (float64). NaN only where an age or a pair fact is unknown
        (the nullable features of the registry).
    names : tuple of str
        Feature names, in column order.
    adult_id, child_id : array of shape (n_conversations,)
        Account ids of the older and the younger participant.
    first_event_at, last_event_at : int64 array of shape (n_conversations,) or None
        Epoch seconds of each conversation's first and latest event (None: not known,
        for a table built from feature values alone).
    """

    conversation_id: npt.NDArray[Any]
    values: FloatArray
    names: tuple[str, ...]
    adult_id: npt.NDArray[Any]
    child_id: npt.NDArray[Any]
    first_event_at: IntArray | None = None
    last_event_at: IntArray | None = None

    def __len__(self) -> int:
        return len(self.conversation_id)

    def __repr__(self) -> str:
        return f"FeatureTable(n_conversations={len(self)}, n_features={len(self.names)})"

    def take(self, index: npt.ArrayLike) -> FeatureTable:
        """The rows at the given positions (or boolean mask), as a new table."""
        idx = np.asarray(index)
        return FeatureTable(
            conversation_id=self.conversation_id[idx],
            values=self.values[idx],
            names=self.names,
            adult_id=self.adult_id[idx],
            child_id=self.child_id[idx],
            first_event_at=None if self.first_event_at is None else self.first_event_at[idx],
            last_event_at=None if self.last_event_at is None else self.last_event_at[idx],
        )

    def column(self, name: str) -> FloatArray:
        """The values of one feature.

        Parameters
        ----------
        name : str
            A feature name from :attr:`names`.
        """
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise KeyError(f"no feature {name!r}; features are {list(self.names)}") from None

    def positions(self, names: Sequence[str]) -> list[int]:
        """The column of each of ``names`` in :attr:`values`, found by name, never by
        position: a table whose columns were reordered or subset (through pandas, say) is
        read as its names say.

        Parameters
        ----------
        names : sequence of str
            Feature names (those a model reads).

        Raises
        ------
        SchemaError
            The table's names do not match its columns (one name per column), or it lacks
            one of ``names`` or holds one twice (which column is meant cannot be told).

        Examples
        --------
        >>> import numpy as np
        >>> from riskscore import FeatureTable
        >>> t = FeatureTable(np.array([1]), np.array([[1.0, 2.0]]), ("b", "a"),
        ...                  np.array(["x"]), np.array(["y"]))
        >>> t.positions(["a", "b"])
        [1, 0]
        """
        if self.values.ndim != 2 or self.values.shape[1] != len(self.names):
            raise SchemaError(
                f"the feature table has {len(self.names)} names for values of shape "
                f"{self.values.shape}: one name per column"
            )
        index: dict[str, int] = {}
        twice = []
        for j, name in enumerate(self.names):
            if name in index and name in names and name not in twice:
                twice.append(name)
            index.setdefault(name, j)
        missing = [name for name in names if name not in index]
        if missing:
            raise SchemaError(f"the feature table lacks features the model reads: {missing}")
        if twice:
            raise SchemaError(
                f"the feature table holds features the model reads in two columns each: "
                f"{twice}; which one is meant cannot be told"
            )
        return [index[name] for name in names]

    def to_arrow(self) -> pa.Table:
        """Ids and features as a :class:`pyarrow.Table`."""
        cols: dict[str, Any] = {
            "conversation_id": self.conversation_id,
            "adult_id": self.adult_id,
            "child_id": self.child_id,
        }
        cols.update({name: self.values[:, j] for j, name in enumerate(self.names)})
        return pa.table(cols)

    def to_pandas(self) -> pd.DataFrame:
        """Ids and features as a :class:`pandas.DataFrame`.

        Needs the extra ``riskscore-metadata[pandas]``.
        """
        import_extra("pandas", "pandas", needed_by="FeatureTable.to_pandas()")  # pyarrow's too
        frame: pd.DataFrame = self.to_arrow().to_pandas()
        return frame
