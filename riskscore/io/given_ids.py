"""Ids written back as given (private): decimal text that :mod:`riskscore.io.ids` made of
integer ids (beyond int64, or beside such an id), or that splitting group rooms made of
integer conversation ids (:class:`IntegerAndPairIds`), as those integers again, so that
reading what is written gives the table back, integers still, and a batch job names each
conversation as the online scorer does."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from riskscore.exceptions import SchemaError
from riskscore.io.id_marks import (
    INTEGER_TEXT_KEY,
    INTEGER_TEXT_MARK,
    PANDAS_ATTRS_KEY,
    integer_text_columns,
    is_text_kind,
    pandas_attrs,
)
from riskscore.io.ids import DecimalIds
from riskscore.io.pair_text import INTEGER_TEXT, IntegerAndPairIds
from riskscore.io.schema import INT64_MAX

__all__ = [
    "ACCOUNT_ID_COLUMNS",
    "INTEGER_TEXT",
    "IntegerAndPairIds",
    "as_given",
    "decimal_id_columns",
    "given_id",
    "holds_integer_text",
    "integer_ids_type",
    "integer_text_columns",
    "mark_integer_text",
]

AnyArray = npt.NDArray[Any]

_UINT64_MAX = 2**64 - 1

#: The account id columns of the events: one id space, held as decimal text both or neither.
ACCOUNT_ID_COLUMNS: Final = ("sender_id", "recipient_id")


def mark_integer_text(table: pa.Table, names: tuple[str, ...]) -> pa.Table:
    """``table`` with its text columns ``names`` marked as holding integer ids as decimal
    text beside pair ids (:data:`INTEGER_TEXT_KEY`), the one mark every writer of such
    ids sets.

    Examples
    --------
    >>> t = mark_integer_text(pa.table({"conversation_id": ["6", "9|3|4"]}), ("conversation_id",))
    >>> integer_text_columns(t.schema)
    ('conversation_id',)
    """
    if not names:
        return table
    fields = [
        field.with_metadata({**(field.metadata or {}), INTEGER_TEXT_KEY: INTEGER_TEXT_MARK})
        if field.name in names and is_text_kind(field.type)
        else field
        for field in table.schema
    ]
    # kept by pandas too, in its attributes (DataFrame.attrs), where it drops the fields'
    metadata = {**(table.schema.metadata or {})}
    marked = tuple(f.name for f in table.schema if f.name in names and is_text_kind(f.type))
    if marked:
        metadata[PANDAS_ATTRS_KEY] = pandas_attrs(table.schema.metadata, marked)
    return table.cast(pa.schema(fields, metadata=metadata))


def as_given(
    cols: dict[str, AnyArray],
    source_row: npt.NDArray[np.int64],
    *,
    decimal_ids: bool,
    arrow: bool = False,
) -> dict[str, Any]:
    """``cols`` (of :meth:`riskscore.MessageTable.columns`, rows named by ``source_row``)
    with the ids held as decimal text that are integers (the account ids when
    ``decimal_ids``, the table's ``decimal_ids``; the conversation ids when a
    :class:`DecimalIds` or :class:`IntegerAndPairIds` column, whose pair ids stay text) as
    those integers again: Python ints, or with ``arrow`` an Arrow array of one integer type
    per id space (the two account columns are one), int64 when every id fits, else uint64;
    so that reading what is written gives the table back, integers still. With ``arrow``
    (one type per column), a column that holds pair ids stays text, which its writer
    marks as integers (:func:`mark_integer_text`).

    Raises
    ------
    SchemaError
        With ``arrow``, an id space holds integers that no Arrow integer type holds
        together (a negative id beside one beyond int64, or an id beyond uint64): the
        first such row, by input row, is named.
    """
    held = decimal_id_columns(cols, decimal_ids=decimal_ids)
    spaces = [space for space in (ACCOUNT_ID_COLUMNS, ("conversation_id",)) if space[0] in held]
    out: dict[str, Any] = dict(cols)
    for space in spaces:
        ints = {name: _integers_of(cols[name]) for name in space}
        if arrow and any(isinstance(v, str) for v in ints.get("conversation_id", ())):
            continue  # pair ids: text, and so every id of the column
        if arrow:
            kind = integer_ids_type(ints, source_row)
            ints = {name: _arrow_array(values, kind) for name, values in ints.items()}
        out.update(ints)
    return out


def decimal_id_columns(cols: dict[str, AnyArray], *, decimal_ids: bool) -> tuple[str, ...]:
    """The id columns of ``cols`` (of :meth:`riskscore.MessageTable.columns`) whose
    integers are held as decimal text, one being beyond int64 or beside pair ids: the two
    account columns when ``decimal_ids`` (the table's ``decimal_ids``), the conversation
    ids when a :class:`DecimalIds` column, or an :class:`IntegerAndPairIds` column (group
    rooms made the integer ids text beside their pair ids, which stay text)."""
    accounts = ACCOUNT_ID_COLUMNS if decimal_ids else ()
    conversations = holds_integer_text(cols["conversation_id"])
    return (*accounts, *(("conversation_id",) if conversations else ()))


def holds_integer_text(ids: AnyArray) -> bool:
    """Whether the id column ``ids`` (of a table's events or conversations, features or
    scores) holds integers as their decimal text: a :class:`DecimalIds` or
    :class:`IntegerAndPairIds` column, whose ids :func:`given_id` gives as given."""
    return isinstance(ids, (DecimalIds, IntegerAndPairIds))


def given_conversation_ids(ids: AnyArray) -> list[Any]:
    """Conversation ids as given (:func:`as_given` of the column ``ids``, of a table's
    conversations, features or scores): integers held as decimal text (a
    :class:`DecimalIds` or :class:`IntegerAndPairIds` column) as those integers, as the
    online scorer and the review queue hold them; other ids (text ids, pair ids) as they
    are.

    Examples
    --------
    >>> given_conversation_ids(np.array(["6", "007"], dtype=object))
    ['6', '007']
    """
    given = as_given({"conversation_id": ids}, np.arange(len(ids)), decimal_ids=False)
    return list(given["conversation_id"].tolist())


def given_id(value: Any, decimal: bool) -> Any:
    """One id as given: with ``decimal`` (its id column holds integers as decimal text,
    one being beyond int64 or beside pair ids), its text as that integer again, as the
    online scorer holds it; else, and for text that is no integer's decimal text (a pair
    id ``room|account|account``), ``value`` as it is (a text id stays text: ``"6"`` and
    ``"007"`` are never ``6`` and ``7``).

    Examples
    --------
    >>> given_id("18446744073709551616", True), given_id("6", False), given_id("9|3|4", True)
    (18446744073709551616, '6', '9|3|4')
    """
    if decimal and isinstance(value, str) and INTEGER_TEXT.fullmatch(value):
        return int(value)
    return value


def _integers_of(decimal: AnyArray) -> AnyArray:
    """The ids of a column of integers held as decimal text as those integers (its pair
    ids, of an :class:`IntegerAndPairIds` column, as they are)."""
    return np.asarray([given_id(v, True) for v in decimal.tolist()], dtype=object).reshape(-1)


def _arrow_array(values: AnyArray, kind: pa.DataType) -> pa.Array:
    return pa.array(values.tolist(), type=kind)


#: What :func:`integer_ids_type` advises by default: events are written back.
_EVENTS_ADVICE = (
    "Keep the events in their source file, or give the ids as text there (both account "
    "columns, for account ids)."
)


def integer_ids_type(
    ints: dict[str, AnyArray],
    rows: npt.NDArray[np.int64],
    *,
    unit: str = "row",
    advice: str = _EVENTS_ADVICE,
) -> pa.DataType:
    """The Arrow type of integer ids ``ints`` (per column, Python ints; columns that are
    one id space), ``rows`` naming each position: int64 when every id fits, else uint64.

    Raises
    ------
    SchemaError
        Neither holds them all (a negative id beside one beyond int64, or an id beyond
        2**64 - 1): the first such ``unit`` by ``rows`` is named, with ``advice``.

    Examples
    --------
    >>> integer_ids_type({"a": np.array([7, 2**63], dtype=object)}, np.arange(2))
    DataType(uint64)
    """

    def where(test: Any) -> dict[str, npt.NDArray[np.bool_]]:
        return {name: np.asarray(test(values), dtype=bool) for name, values in ints.items()}

    beyond = where(lambda v: v > INT64_MAX)
    if not any(mask.any() for mask in beyond.values()):
        return pa.int64()
    too_big = where(lambda v: v > _UINT64_MAX)
    if any(mask.any() for mask in too_big.values()):
        column, i = _first(too_big, rows)
        why = "is beyond 2**64 - 1: no Arrow integer type holds it"
    else:
        negative = where(lambda v: v < 0)
        if not any(mask.any() for mask in negative.values()):
            return pa.uint64()
        column, i = _first(negative, rows)
        other, j = _first(beyond, rows)
        why = (
            f"is negative beside {ints[other][j]} (column {other!r}, row {int(rows[j])}), "
            "beyond int64: no Arrow integer type holds both (int64 ends at 2**63 - 1, "
            "uint64 begins at 0)"
        )
    value, row = ints[column][i], int(rows[i])
    raise SchemaError(
        f"column {column!r}, {unit} {row}: {value} {why}, so these integer ids cannot be "
        f"written as integers, and text would make them other ids. {advice}",
        column=column,
        row=row,
        value=value,
    )


def _first(masks: dict[str, npt.NDArray[np.bool_]], rows: npt.NDArray[np.int64]) -> tuple[str, int]:
    """The column and table position of the marked id of the lowest input row."""
    found = []
    for name, mask in masks.items():
        marked = np.flatnonzero(mask)
        if marked.size:
            i = int(marked[np.argmin(rows[marked])])
            found.append((int(rows[i]), name, i))
    _, name, i = min(found)
    return name, i
