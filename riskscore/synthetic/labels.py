"""Ground truth of synthetic data: per conversation (:class:`Labels`) and per adult
(:class:`AdultLabels`), and their Arrow form (``labels.parquet``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from riskscore.exceptions import SchemaError
from riskscore.io.columnar import arrow_to_raw
from riskscore.io.columns import to_float
from riskscore.io.ids import check_ids
from riskscore.io.nested_fields import field_paths
from riskscore.io.number_rules import NumberRules, check_numbers
from riskscore.io.problems import Problems, raise_first
from riskscore.io.raw import RawColumns, as_python_value
from riskscore.io.text import NOT_UTF8
from riskscore.io.validate import refuse_content, refuse_repeated_names

__all__ = [
    "LABEL_FILE_COLUMNS",
    "AdultLabels",
    "Labels",
    "boolean_labels",
    "labels_from_arrow",
    "labels_of",
    "onset_indexes",
    "read_label_ids",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _is_label(value: object) -> bool:
    """Whether one value of a column of mixed types is a label: a boolean, or the integer 0
    or 1 (a float is not, as in a float column)."""
    if isinstance(value, (bool, np.bool_)):
        return True
    return isinstance(value, (int, np.integer)) and value in (0, 1)


def boolean_labels(values: npt.ArrayLike, column: str = "is_grooming") -> BoolArray:
    """Ground truth as booleans: true/false, or the whole numbers 0 and 1.

    Parameters
    ----------
    values : array-like of shape (n_conversations,)
        The labels as read.
    column : str, default "is_grooming"
        Named in the error.

    Returns
    -------
    array of bool, shape (n_conversations,)

    Raises
    ------
    SchemaError
        Any other value (text such as ``"False"``, which a cast would read as true;
        another number), naming the column, the first such row and its value.

    Examples
    --------
    >>> boolean_labels([True, False]).tolist(), boolean_labels([1, 0]).tolist()
    ([True, False], [True, False])
    >>> boolean_labels(["True", "False"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    riskscore.exceptions.SchemaError: labels column 'is_grooming' row 0 holds 'True' (str): ...
    """
    array = np.asarray(values)
    if array.dtype == np.bool_:
        return array
    floats = array.dtype.kind == "f"
    if array.dtype.kind in "iu":
        bad = (array != 0) & (array != 1)
    elif floats:  # refused whole, but a missing label (NaN) is the row to name
        missing = np.isnan(array.ravel())
        bad = missing if missing.any() else np.ones(array.size, dtype=bool)
    else:
        bad = np.array([not _is_label(v) for v in array.ravel()], dtype=bool)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = as_python_value(array.ravel()[row])
        # a float column: 1.0 is not read as true, nor NaN (a missing label) as anything
        fix = "; a float column is not read as labels: give booleans or integers" * floats
        raise SchemaError(
            f"labels column {column!r} row {row} holds {value!r} ({type(value).__name__}"
            f"{f', one of {int(bad.sum())} missing' if floats and value != value else ''}): "
            f"expected true or false, or the integers 0 and 1{fix}",
            column=column,
            row=row,
            value=value,
        )
    return array.astype(bool)


_ONSET: Final = "the index of an event in its conversation (-1 for a benign one)"
_ONSET_RULES: Final = NumberRules(
    low=-1,
    high=2**53,  # beyond, a float index has lost digits; no conversation is that long
    out_of_range=f"is out of range: expected {_ONSET}",
    empty=f"is missing: expected {_ONSET}",
    fractional=f"is not a whole number: expected {_ONSET}",
)


def onset_indexes(values: npt.ArrayLike, column: str = "onset_index") -> IntArray:
    """Grooming onsets as int64 event indexes: whole numbers from -1 (integers, whole
    floats or number text, as the events' number columns read them).

    Parameters
    ----------
    values : array-like of shape (n_conversations,)
        The onsets as read.
    column : str, default "onset_index"
        Named in the error.

    Returns
    -------
    array of int64, shape (n_conversations,)

    Raises
    ------
    SchemaError
        A fraction (which a cast would cut to another event), a boolean, text that is no
        number, an empty value or one out of range, naming the column, the first such row
        and its value.

    Examples
    --------
    >>> onset_indexes([3, -1]).tolist(), onset_indexes([3.0, -1.0]).tolist()
    ([3, -1], [3, -1])
    >>> onset_indexes([2.7, -1])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    riskscore.exceptions.SchemaError: labels column 'onset_index', row 0: 2.7 is not a whole ...
    """
    array = np.asarray(values)
    problems = Problems(len(array), {column: array})
    numbers = array if array.dtype.kind in "iu" else to_float(column, array, problems, _ONSET)
    onsets = check_numbers(column, numbers, _ONSET_RULES, problems, -1, np.int64)
    _refuse_first(problems)
    return onsets


@dataclass(frozen=True, slots=True, eq=False)
class Labels:
    """Ground truth per conversation, aligned with ``MessageTable.conversations``.

    Attributes
    ----------
    conversation_id : array of shape (n_conversations,)
        Conversation ids, sorted (equal to ``messages.conversations``).
    is_grooming : array of shape (n_conversations,)
        Observed label: whether the conversation is labelled grooming (bool). Equal
        to ``is_grooming_true`` unless ``label_noise`` flipped some.
    onset_index : array of shape (n_conversations,)
        0-based index, within the conversation in time order, of its first event
        showing grooming behaviour; -1 for truly benign conversations (int64), even
        where noise labelled them grooming. Defined in ``docs/synthetic.md``.
    adult_id : array of shape (n_conversations,)
        Account id of the older participant; the groomer in grooming conversations.
    scenario : array of shape (n_conversations,)
        Name of the scenario that generated the conversation (str); empty
        (``NO_SCENARIO``) for labels read from a file that gives none.
    is_grooming_true : array of shape (n_conversations,), optional
        Ground truth (bool); defaults to a copy of ``is_grooming``.
    truth_given : bool
        Whether the ground truth was given (the generator's labels, a file with an
        ``is_grooming_true`` column) rather than copied from ``is_grooming``: an
        evaluation scores against the truth only where it was given, and
        :meth:`to_arrow` writes no copy as truth.

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> labels = generate(50, prevalence=0.1, seed=0).labels
    >>> len(labels), int(labels.is_grooming.sum())
    (50, 5)
    """

    conversation_id: npt.NDArray[Any]
    is_grooming: BoolArray
    onset_index: IntArray
    adult_id: npt.NDArray[Any]
    scenario: npt.NDArray[np.str_]
    is_grooming_true: BoolArray = field(default=None)  # type: ignore[arg-type]
    truth_given: bool = True

    def __post_init__(self) -> None:
        if self.is_grooming_true is None:
            object.__setattr__(self, "is_grooming_true", np.array(self.is_grooming, dtype=bool))
            object.__setattr__(self, "truth_given", False)
        n = len(self.conversation_id)
        for name in LABEL_FILE_COLUMNS:
            values = getattr(self, name)
            if np.ndim(values) != 1 or len(values) != n:
                raise ValueError(
                    f"Labels.{name} must be one-dimensional with {n} values (one per "
                    f"conversation_id), got shape {np.shape(values)}"
                )

    def __len__(self) -> int:
        return len(self.conversation_id)

    def __repr__(self) -> str:
        return f"Labels(n_conversations={len(self)}, n_grooming={int(self.is_grooming.sum())})"

    def to_arrow(self) -> pa.Table:
        """The labels as a :class:`pyarrow.Table`, one row per conversation.

        Examples
        --------
        >>> from riskscore.synthetic import generate
        >>> generate(10, seed=0).labels.to_arrow().column_names[-2:]
        ['scenario', 'is_grooming_true']
        """
        truth = {"is_grooming_true": pa.array(self.is_grooming_true, type=pa.bool_())}
        return pa.table(
            {
                "conversation_id": self.conversation_id,
                "is_grooming": pa.array(self.is_grooming, type=pa.bool_()),
                "onset_index": pa.array(self.onset_index, type=pa.int64()),
                "adult_id": self.adult_id,
                "scenario": pa.array(self.scenario.astype(str), type=pa.string()),
                **(truth if self.truth_given else {}),
            }
        )

    def per_adult(self) -> AdultLabels:
        """Ground truth per adult account (the older side of each conversation).

        Returns
        -------
        AdultLabels
            One row per distinct ``adult_id``, sorted by id.

        Examples
        --------
        >>> from riskscore.synthetic import generate
        >>> adults = generate(200, prevalence=0.05, seed=0).labels.per_adult()
        >>> int(adults.n_conversations.sum()), int(adults.n_grooming_conversations.sum())
        (200, 10)
        """
        adult_id, code = np.unique(self.adult_id, return_inverse=True)
        code = code.reshape(-1)
        n_grooming = np.bincount(code, self.is_grooming_true, len(adult_id)).astype(np.int64)
        return AdultLabels(
            adult_id=adult_id,
            is_groomer=n_grooming > 0,
            n_conversations=np.bincount(code, minlength=len(adult_id)).astype(np.int64),
            n_grooming_conversations=n_grooming,
        )

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Labels:
        """Labels from a table written by :meth:`to_arrow` (e.g. ``labels.parquet``).

        Parameters
        ----------
        table : pyarrow.Table
            Columns ``conversation_id``, ``is_grooming``, ``onset_index`` and
            ``adult_id``; optionally ``scenario`` (empty text when not given: a
            platform's own labels have no generator scenario) and ``is_grooming_true``
            (defaults to ``is_grooming``).

        Raises
        ------
        SchemaError
            A column is missing or holds nulls, a column is named like message content
            (:func:`riskscore.io.validate.refuse_content`) or twice, ``is_grooming`` holds a
            value that is not true or false (:func:`boolean_labels`), or ``onset_index``
            one that is no event index (:func:`onset_indexes`).
        """
        refuse_content(field_paths(table.schema), "labels")  # nested fields too, as events
        refuse_repeated_names(table.column_names, "labels: ")
        missing = [c for c in _LABEL_COLUMNS if c not in table.column_names]
        if missing:
            raise SchemaError(
                f"labels table lacks column(s) {missing}; found {table.column_names}. "
                f"Expected {list(_LABEL_COLUMNS)} as written by Labels.to_arrow",
                column=missing[0],
            )
        given = [c for c in _OPTIONAL_COLUMNS if c in table.column_names]
        for name in (*_LABEL_COLUMNS, *given):
            if table.column(name).null_count:
                row = int(np.flatnonzero(table.column(name).is_null().to_numpy(False))[0])
                raise SchemaError(
                    f"labels column {name!r} row {row} is null "
                    f"({table.column(name).null_count} nulls): every conversation needs a value",
                    column=name,
                    row=row,
                )

        def column(name: str) -> npt.NDArray[Any]:
            return np.asarray(table.column(name).to_numpy(zero_copy_only=False))

        # ids converted as the events' columns are (a whole decimal as its integer), and
        # text that is not UTF-8 refused by the events' one rule
        text = ["conversation_id", "adult_id", *(["scenario"] if "scenario" in given else [])]
        raw = arrow_to_raw(table.select(text))
        conversation_id = read_label_ids(
            "conversation_id", raw["conversation_id"], raw.not_utf8.get("conversation_id")
        )
        adult_id = read_label_ids("adult_id", raw["adult_id"], raw.not_utf8.get("adult_id"))
        return cls(
            conversation_id=conversation_id,
            is_grooming=boolean_labels(column("is_grooming")),
            onset_index=onset_indexes(column("onset_index")),
            adult_id=adult_id,
            scenario=(
                _utf8_checked("scenario", raw).astype(str)
                if "scenario" in given
                else np.full(len(conversation_id), NO_SCENARIO)
            ),
            is_grooming_true=(
                boolean_labels(column("is_grooming_true"), "is_grooming_true")
                if "is_grooming_true" in given
                else None  # type: ignore[arg-type]
            ),
        )


def read_label_ids(
    name: str, values: npt.NDArray[Any], not_utf8: npt.NDArray[np.bool_] | None = None
) -> npt.NDArray[Any]:
    """A labels id column read by the events' one id rule (:func:`check_ids`), whatever its
    type and wherever the labels come from (a labels file, a pandas DataFrame): the first
    id it refuses (or, at the rows ``not_utf8`` holds, text that is not UTF-8:
    :func:`~riskscore.io.text.utf8_cells`) raises, naming column, row and value; a whole
    float is its integer (``7.0`` is ``7``, as in the events); integers beyond int64 are
    their decimal text, integers still (:class:`~riskscore.io.ids.DecimalIds`), as in the
    events. Text ids end
    as numpy text, which drops trailing NULs: the rule has refused every control character
    by then.

    Examples
    --------
    >>> import numpy as np
    >>> read_label_ids("conversation_id", np.array([7.0, 8.0])).tolist()
    [7, 8]
    """
    problems = _problems(name, values, not_utf8)
    ids = check_ids(name, values, problems)
    _refuse_first(problems)
    return ids.astype(str) if ids.dtype == object else ids


def _problems(
    name: str, values: npt.NDArray[Any], not_utf8: npt.NDArray[np.bool_] | None
) -> Problems:
    """The problems of column ``name`` holding ``values``, first its cells that are not
    UTF-8 text (``not_utf8``: :func:`~riskscore.io.text.utf8_cells`), as the events'
    validator counts them."""
    problems = Problems(len(values), {name: values})
    if not_utf8 is not None:
        problems.add(name, not_utf8, NOT_UTF8)
    return problems


def _refuse_first(problems: Problems) -> None:
    """Raise for the first bad row of ``problems`` (:func:`raise_first`), if any, naming
    the labels: a row of a labels file, which no option sets aside."""
    if problems.bad.any():
        raise_first(problems, np.flatnonzero(problems.bad), table="labels")


def _utf8_checked(name: str, raw: RawColumns) -> npt.NDArray[Any]:
    """Column ``name`` of ``raw``, refused at its first cell that is not UTF-8 text."""
    _refuse_first(_problems(name, raw[name], raw.not_utf8.get(name)))
    return np.asarray(raw[name])


@dataclass(frozen=True, slots=True, eq=False)
class AdultLabels:
    """Ground truth per adult account, from :meth:`Labels.per_adult`.

    Attributes
    ----------
    adult_id : array of shape (n_adults,)
        Account ids, sorted.
    is_groomer : array of shape (n_adults,)
        Whether the account has at least one (truly) grooming conversation.
    n_conversations : array of shape (n_adults,)
        Conversations in which the account is the older participant.
    n_grooming_conversations : array of shape (n_adults,)
        Of those, how many are grooming (its fan-out to targets).

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> adults = generate(300, prevalence=0.05, seed=1).labels.per_adult()
    >>> bool((adults.n_grooming_conversations <= adults.n_conversations).all())
    True
    """

    adult_id: npt.NDArray[Any]
    is_groomer: BoolArray
    n_conversations: IntArray
    n_grooming_conversations: IntArray

    def __len__(self) -> int:
        return len(self.adult_id)

    def to_arrow(self) -> pa.Table:
        """The table as a :class:`pyarrow.Table`, one row per adult."""
        return pa.table(
            {
                "adult_id": self.adult_id,
                "is_groomer": pa.array(self.is_groomer, type=pa.bool_()),
                "n_conversations": pa.array(self.n_conversations, type=pa.int64()),
                "n_grooming_conversations": pa.array(
                    self.n_grooming_conversations, type=pa.int64()
                ),
            }
        )


_LABEL_COLUMNS: Final = ("conversation_id", "is_grooming", "onset_index", "adult_id")
#: Read when a labels file has them: the generator's scenario and the ground truth.
_OPTIONAL_COLUMNS: Final = ("scenario", "is_grooming_true")
#: The scenario of labels that give none (a platform's own labels): no scenario's name.
NO_SCENARIO: Final = ""
#: Every column of a labels file that is read (the last two optional); no other is loaded.
LABEL_FILE_COLUMNS: Final = (*_LABEL_COLUMNS, *_OPTIONAL_COLUMNS)


def labels_from_arrow(table: pa.Table) -> Labels:
    """Labels from a :class:`pyarrow.Table`; same as :meth:`Labels.from_arrow`.

    Parameters
    ----------
    table : pyarrow.Table
        A table written by :meth:`Labels.to_arrow`, e.g. read from ``labels.parquet``.

    Returns
    -------
    Labels

    Examples
    --------
    >>> from riskscore.synthetic import generate, labels_from_arrow
    >>> labels = generate(20, prevalence=0.1, seed=1).labels
    >>> labels_from_arrow(labels.to_arrow()).onset_index.tolist() == labels.onset_index.tolist()
    True
    """
    return Labels.from_arrow(table)


def labels_of(labels: Any) -> Any:
    """``labels`` as :class:`Labels` when given as a table that holds no label arrays as
    attributes (an Arrow table or record batch, a polars DataFrame or any table with the
    Arrow stream interface, a dict of columns as :func:`riskscore.read_messages` takes one),
    read by :meth:`Labels.from_arrow` (the events' one id rule, no nulls, no content
    column); anything else as it is (:class:`Labels`, an object with the label arrays such
    as a pandas DataFrame, a boolean array).

    Raises
    ------
    SchemaError
        As :meth:`Labels.from_arrow`, or the table cannot be read as Arrow.

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> labels = generate(20, prevalence=0.1, seed=1).labels
    >>> labels_of(labels.to_arrow()).is_grooming.tolist() == labels.is_grooming.tolist()
    True
    """
    if hasattr(labels, "conversation_id") or not (
        isinstance(labels, (pa.Table, pa.RecordBatch, Mapping))
        or hasattr(labels, "__arrow_c_stream__")
    ):
        return labels
    try:
        table = pa.table(labels)
    except pa.ArrowException as exc:
        raise SchemaError(
            f"labels: the {type(labels).__name__} cannot be read as Arrow ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]})"
        ) from None
    return Labels.from_arrow(table)
