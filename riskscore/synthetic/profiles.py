"""The parts of a world: one scenario's parameters, what the platform records, scenario names."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from riskscore.io.raw import show
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.synthetic.params import check_probability, fail, floats, weight_total, whole

__all__ = ["BENIGN_SCENARIOS", "GROOMING_SCENARIOS", "Platform", "ScenarioProfile"]

#: Most events of one conversation (ten times the longest a drawn or stress world gives):
#: a larger ``events`` max ran the generator out of memory.
MAX_CONVERSATION_EVENTS: Final = 10_000


@dataclass(frozen=True, slots=True)
class ScenarioProfile:
    """Parameters of one scenario (one row of ``default_world.toml``'s ``[[scenarios]]``).

    Role A is the older account (the adult; the groomer in grooming scenarios), role B
    the younger one (the child). Times of day are drawn in B's local time. Pairs are
    ranges ``[low, high)`` or Beta shapes ``[a, b]`` as named; ``docs/synthetic.md``
    explains each field.
    """

    name: str
    is_grooming: bool
    story: str
    imitates: str
    events: tuple[float, float, float, float]  # lognormal median, sigma; min, max
    span_hours: tuple[float, float, float, float]  # lognormal median, sigma; min, max
    start_hour: tuple[float, float]  # local start window of conversations shorter than a day
    p_a_initiates: float
    p_request: float  # opens with a contact request from the initiator
    p_accept: float
    p_request_public: float  # request sent on public (else group)
    phase1_channel: tuple[float, float, float]  # public, group, direct
    phase2_channel: tuple[float, float, float, float, float, float]  # c2 = max(c1, draw)
    onset_fraction: tuple[float, float]  # phase 2 starts this far into the body
    move_within_min: tuple[float, float]  # if > 0: phase 2 starts this many minutes in
    night_phase1: tuple[float, float]  # Beta shapes of the night share
    night_phase2: tuple[float, float]
    a_share: tuple[float, float]  # Beta shapes of A's share of messages
    media: tuple[float, float, float]  # per message: phase 1, phase 2 by A, phase 2 by B
    external: tuple[float, float]  # per phase 2 message: by A, by B
    escalation: tuple[float, float]  # range of the time-warp exponent (> 1: accelerating)
    p_block: float  # B blocks A at the end
    p_report: float  # B reports A at the end
    p_stray: float  # a message on a random public/group/direct channel
    p_quiet: float  # hard case: no night shift, no channel move (marker: media)
    max_unanswered: int  # messages the initiator sends to a request never accepted

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise fail("scenario name", f"must be text, got {show(self.name)}")
        where = f"scenario {self.name!r}"
        if not isinstance(self.is_grooming, bool):  # 1 passed as True, then crashed generate
            got = show(self.is_grooming)
            raise fail(f"{where}.is_grooming", f"must be true or false, got {got}")
        for name in ("story", "imitates"):
            if not isinstance(getattr(self, name), str):
                raise fail(f"{where}.{name}", f"must be text, got {show(getattr(self, name))}")
        sizes = {
            "events": 4,
            "span_hours": 4,
            "start_hour": 2,
            "phase1_channel": 3,
            "phase2_channel": 6,
            "onset_fraction": 2,
            "move_within_min": 2,
            "night_phase1": 2,
            "night_phase2": 2,
            "a_share": 2,
            "media": 3,
            "external": 2,
            "escalation": 2,
        }
        for name, size in sizes.items():
            object.__setattr__(self, name, floats(f"{where}.{name}", getattr(self, name), size))
        for name in ("events", "span_hours"):
            median, sigma, low, high = getattr(self, name)
            if not (median > 0 and sigma >= 0 and 0 < low <= high):
                raise fail(
                    f"{where}.{name}",
                    f"needs median > 0, sigma >= 0 and 0 < min <= max, got {getattr(self, name)}",
                )
        if self.events[3] > MAX_CONVERSATION_EVENTS:
            raise fail(
                f"{where}.events",
                f"max must be at most {MAX_CONVERSATION_EVENTS}, got {self.events[3]}",
            )
        for name in ("start_hour", "onset_fraction", "move_within_min", "escalation"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise fail(f"{where}.{name}", f"needs 0 <= low <= high, got {[low, high]}")
        if self.start_hour[1] > 24.0 or self.onset_fraction[1] > 1.0 or self.escalation[0] <= 0:
            raise fail(
                where,
                "start_hour must lie in [0, 24], onset_fraction in [0, 1] and escalation above 0",
            )
        for name in ("night_phase1", "night_phase2", "a_share"):
            if min(getattr(self, name)) <= 0:
                raise fail(f"{where}.{name}", f"Beta shapes must be > 0, got {getattr(self, name)}")
        for name in ("phase1_channel", "phase2_channel"):
            weight_total(f"{where}.{name}", getattr(self, name), getattr(self, name))
        for name in ("media", "external"):
            for value in getattr(self, name):
                check_probability(f"{where}.{name}", value)
        for name in (
            "p_a_initiates",
            "p_request",
            "p_accept",
            "p_request_public",
            "p_block",
            "p_report",
            "p_stray",
            "p_quiet",
        ):
            object.__setattr__(
                self, name, check_probability(f"{where}.{name}", getattr(self, name))
            )
        # a bound on a body of at most MAX_CONVERSATION_EVENTS (the generator holds it as a float)
        object.__setattr__(
            self,
            "max_unanswered",
            whole(f"{where}.max_unanswered", self.max_unanswered, 0, MAX_CONVERSATION_EVENTS),
        )

    def replace(self, **changes: Any) -> ScenarioProfile:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Platform:
    """What the platform records of each event.

    Attributes
    ----------
    contact_events : bool
        ``contact_request`` and ``contact_accept`` are recorded; otherwise the
        approach and its acceptance show as plain messages.
    media_events : bool
        ``media`` is recorded; otherwise media shows as a plain message.
    safety_events : bool
        ``block`` and ``report`` are recorded; otherwise they leave no event.
    time_zones : bool
        ``recipient_tz_offset_min`` is recorded; otherwise every event carries 0
        (UTC), whatever the recipient's real local time.
    channels : tuple of str
        Surfaces the platform has (``public`` and ``direct`` always). An event on a
        surface it lacks is recorded on the nearest more public one it has.
    """

    contact_events: bool = True
    media_events: bool = True
    safety_events: bool = True
    time_zones: bool = True
    channels: tuple[str, ...] = tuple(CHANNEL_NAMES)

    def __post_init__(self) -> None:
        for name in ("contact_events", "media_events", "safety_events", "time_zones"):
            if not isinstance(getattr(self, name), bool):
                raise fail(
                    f"platform.{name}", f"must be true or false, got {getattr(self, name)!r}"
                )
        given = self.channels
        if isinstance(given, (str, Mapping)) or not isinstance(given, (list, tuple)):
            raise fail("platform.channels", f"must be a list of names, got {show(given)}")
        if not all(isinstance(c, str) for c in given):
            raise fail("platform.channels", f"must be a list of names, got {show(given)}")
        channels = tuple(given)
        unknown = sorted(set(channels) - set(CHANNEL_NAMES))
        if unknown:
            raise fail(
                "platform.channels", f"unknown channel(s) {unknown}; known: {list(CHANNEL_NAMES)}"
            )
        if not {"public", "direct"} <= set(channels):
            raise fail(
                "platform.channels", f"must include 'public' and 'direct', got {list(channels)}"
            )
        # Kept in the privacy order of the schema, each once.
        object.__setattr__(self, "channels", tuple(c for c in CHANNEL_NAMES if c in channels))

    @property
    def channel_map(self) -> tuple[int, ...]:
        """Recorded channel code for each channel code: the nearest available at or below."""
        available = [CHANNEL_NAMES.index(c) for c in self.channels]
        return tuple(max(a for a in available if a <= code) for code in range(len(CHANNEL_NAMES)))


#: Scenario names: grooming variants and benign scenarios, in code order.
GROOMING_SCENARIOS: Final = ("grooming_fast", "grooming_slow", "grooming_refused")
BENIGN_SCENARIOS: Final = (
    "adult_daytime",
    "family",
    "teacher_coach",
    "adult_romance",
    "teen_peers",
    "older_sibling",
    "spam_sweep",
)
