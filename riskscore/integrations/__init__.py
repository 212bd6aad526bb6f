"""Integrations that embed riskscore in messaging backends.

Each integration lives in its own module and needs its own optional extra, so
importing :mod:`riskscore` never imports a messaging server:

- :mod:`riskscore.integrations.synapse`: a module for the Matrix homeserver
  Synapse (``pip install 'riskscore-metadata[synapse]'``), see ``docs/synapse.md``.
"""

__all__: list[str] = []
