"""Input: schema v1, the readers, the one validator, the event table and its chunks.

Everything that enters riskscore passes through here, and nothing here imports another
riskscore subpackage (only :mod:`riskscore.exceptions`).

- :mod:`~riskscore.io.schema`: column names, codes and bounds of schema v1.
- :mod:`~riskscore.io.readers`: :func:`read_messages` (CSV, JSON lines, Parquet, Arrow,
  pandas, dicts of arrays), :func:`read_chunk` (one part of a larger input, rows named by
  their position in the whole) and :func:`write_messages`;
  :mod:`~riskscore.io.files` and :mod:`~riskscore.io.jsonl` read files for it, and
  :mod:`~riskscore.io.columnar` turns tables into numpy columns of schema v1.
- :mod:`~riskscore.io.validate`: the validator of a batch of columns (raise or quarantine);
  :mod:`~riskscore.io.ids`, :mod:`~riskscore.io.timestamps`,
  :mod:`~riskscore.io.tz_offsets` and :mod:`~riskscore.io.columns` check the columns for it
  (:mod:`~riskscore.io.time_text` reads timestamps given as text), :mod:`~riskscore.io.raw`
  keeps
  the raw columns and their cells as read, :mod:`~riskscore.io.problems` reports the
  rows refused, :mod:`~riskscore.io.text` gives text cells to Arrow, and
  :mod:`~riskscore.io.decimals` reads decimals (columns and cells) as numbers.
- :mod:`~riskscore.io.groups`: the one rule for group conversations (rooms split into pair
  conversations, broadcasts set aside, group contact), shared by batch, online, Spark and
  the Synapse module; :mod:`~riskscore.io.pair_ids` names a room's pairs, and the ids one
  conversation carries as its room grows.
- :mod:`~riskscore.io.events`: the same rules for one event at a time (online scoring).
- :mod:`~riskscore.io.messages`: :class:`MessageTable`, and how a table is built (sorted,
  coded: :mod:`~riskscore.io.coding`); :mod:`~riskscore.io.summaries`: :class:`Quarantine`
  and the group summary, what reading set aside.
- :mod:`~riskscore.io.chunks`: parts of a table at conversation boundaries.
- :mod:`~riskscore.io.segments`, :mod:`~riskscore.io.threads`: per-conversation gathers
  and worker threads for large tables.
- :mod:`~riskscore.io.arrow`: writing Arrow tables to Parquet, CSV or JSON lines;
  :mod:`~riskscore.io.time_order` writes an events file in time order in bounded memory.
- :mod:`~riskscore.io.markdown`: the one rule for a row of a Markdown table in a report.
- :mod:`~riskscore.io.time_zones`: IANA time zones and their UTC offset at an instant (the
  Synapse module's users' clocks).
- :mod:`~riskscore.io.given_times`: the one rule of a time a person gives (a command-line
  option, a console query parameter): from 2000-01-01, the earliest event time, to 2200.
- :mod:`~riskscore.io.sqlite`: the one way riskscore opens a SQLite file (WAL, busy
  timeout, created 0600), for the review queue, checkpoints and Synapse state.
- :mod:`~riskscore.io.staging`: a job's output files appear together, or not at all;
  :mod:`~riskscore.io.private`: files that name accounts are created ``0600``.
"""

from riskscore.io.messages import MessageTable, Quarantine
from riskscore.io.readers import read_chunk, read_messages, write_messages
from riskscore.io.validate import check_column_names, validate_columns

__all__ = [
    "MessageTable",
    "Quarantine",
    "check_column_names",
    "read_chunk",
    "read_messages",
    "validate_columns",
    "write_messages",
]
