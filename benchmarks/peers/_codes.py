"""Integer codes of schema v1 events and channels, for the vectorized peers.

Plain ints (not the :mod:`riskscore.io.schema` enums) for use in array expressions; the
values follow ``EventType`` and ``Channel``, which are also the orders of
``EVENT_NAMES`` and ``CHANNEL_NAMES`` that the peers' categorical codes follow.
"""

from __future__ import annotations

from riskscore.io.schema import Channel, EventType

MESSAGE = int(EventType.MESSAGE)
REQUEST = int(EventType.CONTACT_REQUEST)
ACCEPT = int(EventType.CONTACT_ACCEPT)
BLOCK = int(EventType.BLOCK)
REPORT = int(EventType.REPORT)
MEDIA = int(EventType.MEDIA)
EPHEMERAL = int(Channel.EPHEMERAL)
EXTERNAL = int(Channel.EXTERNAL)
