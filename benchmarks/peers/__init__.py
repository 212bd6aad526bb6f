"""Peer implementations of riskscore's features, for honest benchmark comparisons.

Each peer takes the same :class:`pyarrow.Table` of schema v1 events (valid rows, as
written by :func:`riskscore.synthetic.generate_parquet`) and returns
``(conversation_id, values)`` with ``values`` of shape (n_conversations, n_features),
columns in :data:`riskscore.feature_specs.FEATURE_NAMES` order, rows sorted by
conversation id. Unlike riskscore, the peers do not validate rows.
"""
