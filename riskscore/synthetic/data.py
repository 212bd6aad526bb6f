"""A labelled synthetic data set in memory, and its files (``events.parquet``,
``labels.parquet``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from riskscore.exceptions import SchemaError
from riskscore.io import read_messages, write_messages
from riskscore.io.files import check_regular_file
from riskscore.io.messages import MessageTable
from riskscore.io.nested_fields import field_paths
from riskscore.io.staging import staged_outputs
from riskscore.io.text import arrow_file
from riskscore.io.timestamps import DEFAULT_READ_MAX_FUTURE_S
from riskscore.io.validate import refuse_content, refuse_repeated_names
from riskscore.synthetic.labels import LABEL_FILE_COLUMNS, Labels

__all__ = ["SyntheticData"]


@dataclass(frozen=True, slots=True, eq=False)
class SyntheticData:
    """Synthetic message events and their ground truth.

    Attributes
    ----------
    messages : MessageTable
        The events, validated by :func:`riskscore.read_messages`.
    labels : Labels
        One row per conversation, in the order of ``messages.conversations``.

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> data = generate(20, prevalence=0.1, seed=3)
    >>> bool((data.labels.conversation_id == data.messages.conversations).all())
    True
    """

    messages: MessageTable
    labels: Labels

    def __repr__(self) -> str:
        return f"SyntheticData(messages={self.messages!r}, labels={self.labels!r})"

    def write(self, directory: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``events.parquet`` and ``labels.parquet`` into ``directory``.

        The same data always gives byte-identical files.

        Parameters
        ----------
        directory : str or path-like
            Created if missing; existing files of the same names are replaced, both
            once both are written.

        Returns
        -------
        tuple of pathlib.Path
            The events file and the labels file.

        Examples
        --------
        >>> import tempfile
        >>> from riskscore.synthetic import generate
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     events, labels = generate(20, seed=0).write(tmp)
        ...     print(events.name, labels.name)
        events.parquet labels.parquet
        """
        out = Path(directory)
        # both files, or the earlier ones: never the labels of another data set beside
        # these events (the same conversation ids)
        with staged_outputs(out) as stage:
            write_messages(self.messages, stage("events.parquet"))
            with arrow_file(stage("labels.parquet"), "wb") as sink:  # any name
                pq.write_table(self.labels.to_arrow(), sink)
        return out / "events.parquet", out / "labels.parquet"

    @classmethod
    def read(
        cls,
        directory: str | os.PathLike[str],
        *,
        max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
    ) -> SyntheticData:
        """Read a labelled data set that :meth:`write` (or ``riskscore generate``) wrote.

        Parameters
        ----------
        directory : str or path-like
            The folder of ``events.parquet`` and ``labels.parquet``.
        max_future_s : float, default DEFAULT_READ_MAX_FUTURE_S (five years)
            Events dated more than this after the time of reading are refused, as by
            :func:`riskscore.read_messages`; ``math.inf`` reads data dated ahead on purpose.

        Raises
        ------
        FileNotFoundError
            ``events.parquet`` or ``labels.parquet`` is not in ``directory``.
        SchemaError
            The events fail validation (see :func:`riskscore.read_messages`), or
            ``labels.parquet`` is not a regular file (a FIFO would block), not Parquet, or
            has a column named like content.

        Examples
        --------
        >>> import tempfile
        >>> from riskscore.synthetic import generate
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = generate(20, seed=0).write(tmp)
        ...     print(len(SyntheticData.read(tmp).labels.conversation_id))
        20
        """
        folder = Path(directory)
        events_path, labels_path = folder / "events.parquet", folder / "labels.parquet"
        if folder.exists() and not folder.is_dir():  # its events file named instead
            raise FileNotFoundError(
                f"{folder} is a file: labelled data is a directory with events.parquet and "
                f"labels.parquet (as `riskscore generate` writes), such as {folder.parent}"
            )
        for path in (events_path, labels_path):
            if not path.exists():
                raise FileNotFoundError(
                    f"{path} not found; labelled data is a directory with events.parquet and "
                    f"labels.parquet (as `riskscore generate` writes){_other_format(folder)}"
                )
        check_regular_file(labels_path, "labels file")  # as the events file: a FIFO blocks
        try:
            # only the label columns are loaded, once no column is named like message content
            schema = pq.read_schema(labels_path)
            names = schema.names
            refuse_content(field_paths(schema), "labels")  # nested fields too, as events
            refuse_repeated_names(names, f"{labels_path}: ")
            wanted = [n for n in names if n in LABEL_FILE_COLUMNS]
            table = pq.read_table(labels_path, columns=wanted)
        except pa.ArrowException as exc:
            raise SchemaError(f"cannot read labels {labels_path}: {exc}") from None
        labels = Labels.from_arrow(table)
        return cls(read_messages(events_path, max_future_s=max_future_s), labels)


def _other_format(folder: Path) -> str:
    """What to do when ``folder`` holds the events of ``riskscore generate --format csv``
    or ``jsonl`` (events.csv, events.jsonl) in place of events.parquet, or nothing."""
    other = [name for name in ("events.csv", "events.jsonl") if (folder / name).is_file()]
    if not other or (folder / "events.parquet").exists():
        return ""
    return (
        f"; {folder} holds {other[0]} (as `riskscore generate --format "
        f"{Path(other[0]).suffix[1:]}` writes): labelled data is read from Parquet, so "
        "generate it again without --format (Parquet is the default)"
    )
