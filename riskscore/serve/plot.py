"""The case page's timeline of one conversation's metadata, as inline SVG.

Events over time (x, UTC) by channel (y, ordered by privacy) and direction (colour and
marker: adult to child, child to adult, the adult named "older account" when it declared an
age under 18), other event types (contact request, block, report, media, ...) with their
own markers, the child's night (22:00 to 06:00 in the child's local time) shaded, and each
move to a more private channel than any before marked with a dashed line. Metadata only:
there is no content to show.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from riskscore._units import DAY_S, HOUR_S, MINUTE_S
from riskscore._words import plural
from riskscore.features.constants import NIGHT_END_MIN, NIGHT_MINUTES, NIGHT_START_MIN
from riskscore.io.schema import CHANNEL_NAMES, EVENT_NAMES, EventType
from riskscore.moderation.cases import Case
from riskscore.serve.timeline import TimelineEvent, TimelineStore

__all__ = ["Timeline", "case_timelines", "timeline_svg"]

#: Nights shaded at most (a longer span is drawn without shading, and says so).
MAX_NIGHTS = 120
# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
_ADULT_COLOUR = "#0072B2"
_CHILD_COLOUR = "#D55E00"
_MARKERS = {
    EventType.MESSAGE: ("^", "v"),
    EventType.CONTACT_REQUEST: ("P", "P"),
    EventType.CONTACT_ACCEPT: ("*", "*"),
    EventType.BLOCK: ("X", "X"),
    EventType.REPORT: ("D", "D"),
}
_SVG_HEADER = re.compile(r"^.*?(?=<svg)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Timeline:
    """A rendered timeline: the SVG and a text summary of what it shows (its alt text);
    ``nights`` the UTC spans shaded as the child's nights, each on the child's clock of
    its time (none beyond :data:`MAX_NIGHTS`)."""

    svg: str
    summary: str
    n_events: int
    channel_moves: int
    nights: tuple[tuple[int, int], ...] = ()


#: The night window as the legend writes it (the features' window, 22:00-06:00).
_NIGHT_TEXT = "{:02d}:{:02d}-{:02d}:{:02d}".format(
    *divmod(NIGHT_START_MIN, 60), *divmod(NIGHT_END_MIN, 60)
)
#: Changes of the child's offset a summary names one by one (more are counted).
_OFFSETS_NAMED = 3


def _night_spans(t0: int, t1: int, offset_min: int) -> list[tuple[int, int]]:
    """UTC spans of the child's nights (the features' window, :data:`NIGHT_START_MIN` up
    to :data:`NIGHT_END_MIN` local) that overlap [t0, t1]."""
    offset = offset_min * MINUTE_S
    first_day = (t0 + offset) // DAY_S - 1
    last_day = (t1 + offset) // DAY_S + 1
    spans = []
    for day in range(first_day, last_day + 1):
        start = day * DAY_S + NIGHT_START_MIN * MINUTE_S - offset
        end = start + NIGHT_MINUTES * MINUTE_S
        if end >= t0 and start <= t1:
            spans.append((max(start, t0), min(end, t1)))
    return spans


def _child_clocks(events: Sequence[TimelineEvent], adult_id: Any) -> list[tuple[int, int]]:
    """The child's clock as the night-time features read it at each event: from the
    first event the child received with a known offset, the latest known such offset.
    Each ``(time, offset)`` is where it starts or changes (empty: never known)."""
    clocks: list[tuple[int, int]] = []
    for e in events:
        offset = e.tz_offset_min
        if e.sender_id != adult_id or offset is None:  # the adult's clock, or unknown
            continue
        if not clocks or clocks[-1][1] != offset:
            clocks.append((e.timestamp, offset))
    return clocks


def _child_nights(clocks: list[tuple[int, int]], t1: int) -> list[tuple[int, int]]:
    """UTC spans of the child's nights up to ``t1``, each on the clock in use then
    (:func:`_child_clocks`): none before the first known offset. A night that goes on
    across a change of clock is one span, not a piece per clock (a child whose two
    devices report +0 and +60 in turn has a few nights, not hundreds of pieces)."""
    ends = [t for t, _ in clocks[1:]] + [t1] if clocks else []
    pieces = zip(clocks, ends, strict=True)
    nights: list[tuple[int, int]] = []
    for (t, offset), end in pieces:
        for start, stop in _night_spans(t, end, offset):
            if nights and start <= nights[-1][1]:  # goes on from the span before
                nights[-1] = (nights[-1][0], max(nights[-1][1], stop))
            else:
                nights.append((start, stop))
    return nights


def _clock_text(clocks: list[tuple[int, int]], t0: int) -> str:
    """The summary's words for the child's clock (:func:`_child_clocks`)."""
    if not clocks:
        return "the child's clock is unknown, so no night is shaded"
    (start, first), changes = clocks[0], clocks[1:]
    text = f"child's UTC offset {first:+d} min"
    if start > t0:
        text += f" from {_time(start):%Y-%m-%d %H:%M} UTC (unknown before: no night shaded)"
    for t, offset in changes[:_OFFSETS_NAMED]:
        text += f", then {offset:+d} min from {_time(t):%Y-%m-%d %H:%M} UTC"
    if len(changes) > _OFFSETS_NAMED:
        text += f", and {len(changes) - _OFFSETS_NAMED} more changes"
    return text


def _time(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _x(ts: float) -> float:
    """The x coordinate of an epoch time: hours since the epoch."""
    return ts / HOUR_S


def _tick(x: float, _pos: int | None = None) -> str:
    return f"{_time(x * HOUR_S):%m-%d %H:%M}"


def timeline_svg(
    events: Sequence[TimelineEvent], adult_id: Any, title: str, *, role: str = "adult"
) -> Timeline:
    """Draw one conversation's events.

    Parameters
    ----------
    events : sequence of TimelineEvent
        Oldest first (:meth:`TimelineStore.events_of`).
    adult_id : int or str
        The adult's account id: events it sent are drawn as adult to child.
    title : str
        Shown above the plot.
    role : str, default "adult"
        What the legend and the summary call ``adult_id``
        (:func:`~riskscore.moderation.item_facts.older_role`: ``"older account"`` when it
        declared an age under 18).

    Returns
    -------
    Timeline
        The SVG (no XML header, ready to inline in HTML), a summary and the nights
        shaded.
    """
    fig = Figure(figsize=(7.5, 2.8), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=9)
    ax.set_yticks(range(len(CHANNEL_NAMES)), CHANNEL_NAMES, fontsize=8)
    ax.set_ylim(-0.6, len(CHANNEL_NAMES) - 0.4)
    ax.set_xlabel("time (UTC)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.xaxis.set_major_formatter(FuncFormatter(_tick))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    moves = 0
    note = ""
    shaded: tuple[tuple[int, int], ...] = ()
    if events:
        t0, t1 = events[0].timestamp, events[-1].timestamp
        # The child's clock at each event, as the night-time features read it: the latest
        # known offset of the events the child received so far; unknown, no night is shaded.
        clocks = _child_clocks(events, adult_id)
        nights = _child_nights(clocks, t1)
        if len(nights) <= MAX_NIGHTS:
            shaded = tuple(nights)
            for k, (a, b) in enumerate(nights):
                ax.axvspan(
                    _x(a), _x(b), color="#999999", alpha=0.2, lw=0,
                    label=None if k else f"child's night ({_NIGHT_TEXT} local)",
                )  # fmt: skip
        else:
            note = f"; {len(nights)} nights, too many to shade"
        highest = -1
        for e in events:
            if e.channel > highest:
                if highest >= 0:
                    moves += 1
                    ax.axvline(
                        _x(e.timestamp), color="#444444", ls="--", lw=0.8,
                        label=None if moves > 1 else "move to a more private channel",
                    )  # fmt: skip
                highest = e.channel
        seen: set[str] = set()
        for e in events:
            from_adult = e.sender_id == adult_id
            kind = EventType(e.event)
            marker = _MARKERS.get(kind, ("o", "o"))[0 if from_adult else 1]
            direction = f"{role} to child" if from_adult else f"child to {role}"
            label = f"{EVENT_NAMES[e.event]}, {direction}"
            ax.plot(
                [_x(e.timestamp)], [e.channel], marker=marker, ls="none", ms=5,
                color=_ADULT_COLOUR if from_adult else _CHILD_COLOUR,
                label=None if label in seen else label,
            )  # fmt: skip
            seen.add(label)
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        span_h = (t1 - t0) / HOUR_S
        reached = CHANNEL_NAMES[highest]
        summary = (
            f"{plural(len(events), 'event')} over {span_h:.1f} h, "
            f"from {_time(t0):%Y-%m-%d %H:%M} to {_time(t1):%Y-%m-%d %H:%M} UTC; "
            f"{sum(e.sender_id == adult_id for e in events)} from the {role}; "
            f"highest channel {reached}; {moves} moves to a more private channel; "
            f"{_clock_text(clocks, t0)}{note}"
        )
    else:
        ax.text(0.5, 0.5, "no events kept for this conversation", ha="center",
                transform=ax.transAxes, fontsize=8)  # fmt: skip
        summary = "no events kept for this conversation (expired, or raised before the service)"
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = _SVG_HEADER.sub("", buf.getvalue(), count=1)
    return Timeline(
        svg=svg, summary=summary, n_events=len(events), channel_moves=moves, nights=shaded
    )


def case_timelines(
    store: TimelineStore | None, case: Case, limit: int, role: str
) -> list[dict[str, Any]]:
    """The case page's timelines: one per conversation of ``case`` (``limit`` at most), its
    events from ``store`` (None: none kept), its older account named ``role``
    (:func:`~riskscore.moderation.item_facts.case_role`); each its conversation id, its SVG
    (markup to inline) and its summary."""
    conversations = case.conversations
    plots = []
    for n, cid in enumerate(conversations[:limit], 1):
        events = store.events_of(cid) if store is not None else []
        title = f"conversation {n} of {len(conversations)}"
        plot = timeline_svg(events, case.adult_id, title, role=role)
        plots.append({"conversation_id": cid, "svg": Markup(plot.svg), "summary": plot.summary})
    return plots
