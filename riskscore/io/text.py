"""Text cells as an Arrow string array for the checks that match text in Arrow (channel
and event names, timestamps): a string that is not valid Unicode becomes a character no
rule accepts, so that its row is refused like any other bad value."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_text"]

#: Lone surrogates (as ``\ud800`` in JSON) have no UTF-8 encoding, so Arrow cannot hold them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def arrow_text(values: npt.NDArray[Any]) -> pa.Array:
    """``values`` (str, or None and NaN for missing) as an Arrow string array; a lone
    surrogate becomes U+FFFD, which no channel, event or timestamp accepts (the refusal
    quotes the value as given, not this replacement).

    Examples
    --------
    >>> import numpy as np
    >>> arrow_text(np.array(["direct", "di\\ud800rect", None], dtype=object)).to_pylist()
    ['direct', 'di\\ufffdrect', None]
    """
    import pyarrow as pa

    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except UnicodeEncodeError:
        clean = [_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for v in values.tolist()]
        return pa.array(np.asarray(clean, dtype=object), type=pa.string(), from_pandas=True)
