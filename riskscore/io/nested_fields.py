"""Fields nested in a source's columns, by their dotted paths (``meta.text``): what the
content rule (:func:`riskscore.io.content_names.is_content_column`) reads besides the column
names, so that a content-like field cannot hide inside a column of another name, in an
Arrow schema, a DataFrame, a dict of columns or an online event alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pyarrow as pa

__all__ = ["column_paths", "field_paths", "holds_time", "value_paths"]

#: Python values that hold fields or other values (:func:`value_paths`).
_CONTAINERS: Final = (Mapping, list, tuple, np.ndarray)
#: What :func:`value_paths` does with a container it meets: walk a column's value, walk a
#: value nested in one, leave one walked.
_ROOT, _NESTED, _LEAVE = "root", "nested", "leave"


def field_paths(schema: pa.Schema) -> list[str]:
    """The column names of an Arrow schema, then the dotted paths of the fields nested in
    them (``meta.text`` for a struct column ``meta`` with a field ``text``; lists, maps,
    dictionaries, run-end encoded and extension columns are seen through), so that a
    content-like field cannot hide inside a column of another name."""
    paths = list(schema.names)
    for field in schema:
        paths.extend(_type_paths(field.name, field.type))
    return paths


def _type_paths(name: str, kind: pa.DataType) -> list[str]:
    """The dotted paths of the fields nested in the Arrow type ``kind`` of column ``name``."""
    paths = []
    todo = [(name, kind)]
    while todo:
        prefix, kind = todo.pop()
        for child_name, child in _nested_types(kind):
            path = prefix if child_name is None else f"{prefix}.{child_name}"
            if child_name is not None:
                paths.append(path)
            todo.append((path, child))
    return paths


def value_paths(name: str, values: Sequence[object]) -> list[str]:
    """The dotted paths of the fields nested in the Python values of a column or field
    ``name`` (``meta.text`` for a value ``{"text": ...}``; lists, tuples and arrays are
    seen through), once each: what :func:`field_paths` gives for the same values read as
    Arrow, so that a dict of lists, a DataFrame or an online event cannot hide content in
    a column of another name either."""
    paths: dict[str, None] = {}
    if not any(issubclass(kind, _CONTAINERS) for kind in set(map(type, values))):
        return []  # the usual column of scalars: one pass over the types, not each value
    # A loop, not recursion: the nesting is the sender's to choose, and so are cycles (a
    # list appended to itself) and sharing (one list in another twice, 60 levels deep): a
    # nested container with containers in it is not walked again inside itself
    # (``inside``: those being walked, each left at its _LEAVE entry) nor twice at one
    # path (``walked``: no new path). A column's own values need no such record (their
    # cycles are met one level down), so the usual column of records costs no more.
    todo = [(name, value, _ROOT) for value in values if isinstance(value, _CONTAINERS)]
    inside: set[int] = set()
    walked: set[tuple[str, int]] = set()
    while todo:
        prefix, item, step = todo.pop()
        if step is _LEAVE:
            inside.discard(id(item))
            continue
        if id(item) in inside:
            continue
        kids = []
        if isinstance(item, Mapping):
            for key, child in item.items():
                path = f"{prefix}.{key}"
                paths[path] = None
                if isinstance(child, _CONTAINERS):
                    kids.append((path, child, _NESTED))
        elif not isinstance(item, np.ndarray) or item.dtype == object:  # numbers hold none
            # a 0-d array is one value: ravel() makes it iterable
            children = item.ravel() if isinstance(item, np.ndarray) else item
            kids = [(prefix, kid, _NESTED) for kid in children if isinstance(kid, _CONTAINERS)]
        if kids and step is _NESTED:
            if (prefix, id(item)) in walked:
                continue
            walked.add((prefix, id(item)))
            inside.add(id(item))
            todo.append((prefix, item, _LEAVE))
        todo.extend(kids)
    return list(paths)


def column_paths(name: str, values: object) -> list[str]:
    """The dotted paths of the fields nested in a column of a DataFrame or a dict of
    columns: by its Arrow type when it has one (``pd.ArrowDtype``, a ``pyarrow`` array),
    otherwise by its Python values (:func:`value_paths`); none in a column of numbers."""
    kind = getattr(getattr(values, "dtype", None), "pyarrow_dtype", None)
    kind = getattr(values, "type", None) if kind is None else kind
    if isinstance(kind, pa.DataType):
        return _type_paths(name, kind)
    if hasattr(values, "to_numpy"):  # a pandas column: only one of objects holds fields
        if values.dtype != object:  # type: ignore[attr-defined]
            return []
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and values.dtype == object:
        return value_paths(name, values.ravel().tolist())
    if isinstance(values, (list, tuple)):
        return value_paths(name, values)
    return []  # numbers, or what the reader refuses as no column (never consumed here)


def holds_time(kind: pa.DataType) -> bool:
    """Whether the Arrow type ``kind`` is, or holds at any depth, a date or time: what
    Arrow's JSON reader makes of text that looks like one (``"2026-01-01"`` in a
    ``channel`` field is a timestamp there), text that JSON has no other type for and
    that a message must quote as written.

    Examples
    --------
    >>> holds_time(pa.struct([("d", pa.timestamp("s"))])), holds_time(pa.list_(pa.string()))
    (True, False)
    """
    todo = [kind]
    while todo:
        kind = todo.pop()
        if pa.types.is_temporal(kind):
            return True
        todo.extend(child for _, child in _nested_types(kind))
    return False


def _nested_types(kind: pa.DataType) -> list[tuple[str | None, pa.DataType]]:
    """The types nested in ``kind``: a struct's or a union's fields by name; a container's
    values (and a map's keys) without a name of their own (``None``)."""
    if isinstance(kind, pa.BaseExtensionType):
        return [(None, kind.storage_type)]
    if pa.types.is_struct(kind) or pa.types.is_union(kind):
        return [(kind.field(i).name, kind.field(i).type) for i in range(kind.num_fields)]
    if pa.types.is_map(kind):
        return [(None, kind.key_type), (None, kind.item_type)]
    if pa.types.is_dictionary(kind):
        return [(None, kind.value_type)]
    if pa.types.is_run_end_encoded(kind):
        return [(None, kind.value_type)]
    lists = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list,
             pa.types.is_list_view, pa.types.is_large_list_view)  # fmt: skip
    if any(is_(kind) for is_ in lists):
        return [(None, kind.value_type)]
    return []
