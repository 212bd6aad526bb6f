"""Integer codes of schema v1 events and channels, shared by the peers.

Plain ints (not the :mod:`riskscore.schema` enums) so the per-event loop of the Python
peer pays no enum attribute lookups; the values follow ``EventType`` and ``Channel``.
"""

from __future__ import annotations

from riskscore.schema import Channel, EventType

MESSAGE = int(EventType.MESSAGE)
REQUEST = int(EventType.CONTACT_REQUEST)
ACCEPT = int(EventType.CONTACT_ACCEPT)
BLOCK = int(EventType.BLOCK)
REPORT = int(EventType.REPORT)
MEDIA = int(EventType.MEDIA)
EPHEMERAL = int(Channel.EPHEMERAL)
ENCRYPTED = int(Channel.ENCRYPTED)
EXTERNAL = int(Channel.EXTERNAL)
