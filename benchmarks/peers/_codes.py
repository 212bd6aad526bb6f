"""Integer codes of schema v1 events and channels, for the vectorized peers.

Plain ints (not the :mod:`riskscore.io.schema` enums) for use in array expressions; the
values follow ``EventType`` and ``Channel``, which are also the orders of
``EVENT_NAMES`` and ``CHANNEL_NAMES`` that the peers' categorical codes follow.
"""

from __future__ import annotations

from riskscore.features.registry import FEATURE_NAMES
from riskscore.io.schema import Channel, EventType

#: riskscore's features that the peers do not compute: those of group rooms (they need
#: ``room_size`` and the facts of a pair over all its conversations) and the share of
#: events on a known clock. riskscore computes them on top of the peers' work.
NOT_IN_PEERS = (
    "child_tz_known_share",
    "group_contact_events",
    "pair_met_channel",
    "pair_hours_to_private",
)
#: The peers' columns, in riskscore's order.
PEER_FEATURES = tuple(name for name in FEATURE_NAMES if name not in NOT_IN_PEERS)

MESSAGE = int(EventType.MESSAGE)
REQUEST = int(EventType.CONTACT_REQUEST)
ACCEPT = int(EventType.CONTACT_ACCEPT)
BLOCK = int(EventType.BLOCK)
REPORT = int(EventType.REPORT)
MEDIA = int(EventType.MEDIA)
GROUP = int(Channel.GROUP)
EPHEMERAL = int(Channel.EPHEMERAL)
EXTERNAL = int(Channel.EXTERNAL)
