"""Independent implementations of riskscore's features, for honest benchmark comparisons.

Each peer module has one function, ``features(table)``: it takes a :class:`pyarrow.Table`
of schema v1 events (valid rows, as :func:`riskscore.synthetic.generate_parquet` writes
them; ``channel`` and ``event`` as text or dictionary-encoded) and returns
``(conversation_id, values)``, ``values`` of shape (n_conversations, n_features) with the
columns of :data:`riskscore.FEATURE_NAMES` in order and the rows sorted by conversation
id. Events sorted by conversation, then time, are used as they are; any other order is
sorted first (stable: events in the same second keep their input order), as
:func:`riskscore.read_messages` does. Unlike riskscore, the peers do not validate rows.

* :mod:`.polars_peer`: a lazy polars query, written as a polars expert would.
* :mod:`.pandas_peer`: vectorized pandas and numpy, written as a pandas expert would.
* :mod:`.python_peer`: a plain loop over events, the readability reference.

They implement the definitions of ``docs/features.md`` without calling riskscore's
feature code (only the registry's constants and the schema's names); ``tests/test_peers.py``
checks that each equals :func:`riskscore.extract_features`.
"""
