"""riskscore's features in polars, as a polars expert would write them (benchmark peer).

How it is built, and why it is fast in polars:

* **Codes, not strings.** ``channel`` and ``event`` are cast to :class:`polars.Enum` with
  the schema's names in code order, so their physical values *are* the schema's integer
  codes: one categorical cast, no string comparisons or ``replace`` maps afterwards.
* **The engine chosen by measurement** (:func:`engine`): in memory up to a couple of million
  events, polars 2's default streaming engine above.
* **Sorted once.** The input contract is events sorted by conversation, then time. That is
  checked in one pass and a stable sort (ties keep their input order) runs only when the
  input is not in order; the key is then flagged sorted.
* **One pass over the sorted frame.** Everything that depends on earlier events of the
  same conversation (the initiator, a side's latest UTC offset, runs of messages, the
  running channel maximum, how many communication events follow) is a *global* scan
  (``cum_sum``, ``cum_max``, ``forward_fill``, ``backward_fill``) that restarts at each
  conversation boundary by construction, instead of one ``.over()`` window per quantity.
  (Measured on a million events: 10 to 20 ms per global scan, 55 to 110 ms per
  ``.over()`` window.) A single lazy ``group_by`` with plain aggregations
  (``sum``, ``max``, ``first``, ``last``) then yields every per-side count of
  every conversation, and the role rule picks the sides.
* **Two counts per grouped sum.** Polars' grouped aggregation costs about the same per
  group whatever the column (3.5 ms per aggregation at 25,000 conversations, mostly per
  group), so each pair of counts (the initiator's and the responder's) is one ``UInt64``
  sum, 1 per event in the low 32 bits and 1 << 32 in the high ones, split after the
  ``group_by``: 15 sums instead of 28 counts and 6 ``any`` (exact below 2**32 events):
  whether a side contacted the other at all is read from those counts.
* **Per-account counts over conversations, not events.** A conversation is between two
  accounts, so each contributes at most one contact pair each way: the distinct-contact
  counts deduplicate two rows per conversation instead of every event.

The definitions are those of ``docs/features.md`` (constants from the registry); nothing
here calls riskscore's feature code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from riskscore.features.registry import (
    NIGHT_END_MIN,
    NIGHT_START_MIN,
    RECENT_WEIGHT,
    SHARE_PRIOR_EVENTS,
    SUPERVISED_SHARE_STEPS,
    TAU_LONG_S,
    TAU_SECURE_MOVE_S,
    TAU_SHORT_S,
)
from riskscore.io.schema import CHANNEL_NAMES, EVENT_NAMES, MINOR_AGE

from ._codes import (
    ACCEPT,
    BLOCK,
    EPHEMERAL,
    EXTERNAL,
    GROUP,
    MEDIA,
    MESSAGE,
    PEER_FEATURES,
    REPORT,
    REQUEST,
)

CHANNEL = pl.Enum(CHANNEL_NAMES)
EVENT = pl.Enum(EVENT_NAMES)
#: An offset no event carries: "no known offset yet in this conversation".
_NO_OFFSET = 10_000
_PRIOR = SHARE_PRIOR_EVENTS
_LOG_KEEP = math.log(1.0 - RECENT_WEIGHT)
#: Up to this many events the query runs on the in-memory engine, above it on polars 2's
#: default streaming engine. The query is a chain of scans in event order (``cum_sum``,
#: ``forward_fill``, ``shift``) over a frame that fits in memory; measured on 2 cores, the
#: in-memory engine took 10 to 20% less wall time and CPU at 1M events, the streaming one
#: about 5 to 10% less CPU at 10M. Sizes in between were not measured.
IN_MEMORY_MAX_EVENTS = 2_000_000
#: Two counts share one ``UInt64`` sum: the first in the low 32 bits, the second in the
#: high ones. Exact below 2**32 events (checked in :func:`features`): a count never carries
#: into the other. Half the grouped sums: polars' cost of a grouped sum is mostly per
#: group (about 3.5 ms at 25,000 conversations whatever the column's type), so the number
#: of aggregations, not their width, sets the time.
_LANE = 1 << 32


def engine(n_events: int) -> str:
    """The polars engine that ran this query fastest at about this many events."""
    return "in-memory" if n_events <= IN_MEMORY_MAX_EVENTS else "streaming"


c = pl.col


def features(
    table: Any, *, engine_name: str | None = None
) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """Features of every conversation of a pyarrow table of schema v1 events, on polars'
    ``engine_name`` engine (default: :func:`engine` for the table's size)."""
    events = pl.from_arrow(table)
    assert isinstance(events, pl.DataFrame)
    if events.height >= _LANE:
        raise ValueError(f"{events.height:,} events: the paired counts hold fewer than 2**32")
    query = _feature_frame(_in_order(events).lazy())
    out = query.collect(engine=engine_name or engine(events.height))
    return out["conversation_id"].to_numpy(), out.select(PEER_FEATURES).to_numpy()


def _in_order(events: pl.DataFrame) -> pl.DataFrame:
    """The events sorted by conversation, then time (ties in input order), flagged sorted."""
    step = c("conversation_id").diff()
    in_order = events.select(((step > 0) | ((step == 0) & (c("timestamp").diff() >= 0))).all())
    if not in_order.item():
        events = events.sort("conversation_id", "timestamp", maintain_order=True)
    return events.with_columns(c("conversation_id").set_sorted())


def _night(minute: pl.Expr, offset: pl.Expr) -> pl.Expr:
    local = (minute + offset) % 1440  # polars' integer % is a floor modulo, like Python's
    return (local >= NIGHT_START_MIN) | (local < NIGHT_END_MIN)


def _event_columns(events: pl.LazyFrame) -> pl.LazyFrame:
    """Per-event quantities, each a scan over the sorted frame (no per-conversation window)."""
    conv, t = c("conversation_id"), c("timestamp")
    tz = c("recipient_tz_offset_min").cast(pl.Int32)
    new = c("new")  # first event of its conversation
    last = c("last")  # last event of its conversation
    fi = c("fi")  # sent by the initiator (the sender of the conversation's first event)
    comm, cc = c("comm"), c("cc")
    return (
        events.with_columns(
            c("channel").cast(CHANNEL).to_physical().alias("ch"),
            c("event").cast(EVENT).to_physical().alias("ev"),
            c("sender_age").fill_nan(None),
            c("recipient_age").fill_nan(None),
            (conv != conv.shift(1)).fill_null(True).alias("new"),
            (conv != conv.shift(-1)).fill_null(True).alias("last"),
        )
        .with_columns(
            (c("sender_id") == pl.when(new).then(c("sender_id")).forward_fill()).alias("fi"),
            c("ev").is_in([MESSAGE, MEDIA]).alias("comm"),
            (c("ch") >= EPHEMERAL).alias("private"),
            # channel keyed by conversation number: its running maximum never crosses
            # into the next conversation, whose keys are all larger
            (new.cum_sum().cast(pl.Int64) * 8 + c("ch")).alias("ch_key"),
        )
        .with_columns(
            c("comm").cum_sum().cast(pl.Int64).alias("cc"),  # communication events so far
        )
        .with_columns(
            # a side's clock is the latest known offset of the events it received, unknown
            # until one is (the sentinel at a conversation's first event stops the fill)
            pl.when(~fi & tz.is_not_null())
            .then(tz)
            .when(new)
            .then(_NO_OFFSET)
            .forward_fill()
            .alias("clock_i"),
            pl.when(fi & tz.is_not_null())
            .then(tz)
            .when(new)
            .then(_NO_OFFSET)
            .forward_fill()
            .alias("clock_r"),
            # communication events up to the conversation's end, and its last time
            pl.when(last).then(cc).backward_fill().alias("cc_end"),
            pl.when(last).then(t).backward_fill().alias("t_end"),
            # the side of the latest earlier communication event (-1: none yet)
            pl.when(comm)
            .then(fi.cast(pl.Int8))
            .when(new)
            .then(-1)
            .forward_fill()
            .shift(1)
            .alias("previous_side"),
            (~new & (c("ch_key") > c("ch_key").cum_max().shift(1))).alias("above_earlier"),
        )
        .with_columns(
            (comm & (c("clock_i") != _NO_OFFSET)).alias("known_i"),
            (comm & (c("clock_r") != _NO_OFFSET)).alias("known_r"),
            # a run of communication events from one side starts at the conversation's
            # first one or when the side changes
            (comm & (new | (fi.cast(pl.Int8) != c("previous_side")))).alias("run_start"),
        )
        .with_columns(
            # the events timed on each side's known clock, so far and at the end
            *[c(f"known_{s}").cum_sum().cast(pl.Int64).alias(f"kc_{s}") for s in ("i", "r")],
        )
        .with_columns(
            *[
                pl.when(last).then(c(f"kc_{side}")).backward_fill().alias(f"kc_end_{side}")
                for side in ("i", "r")
            ],
        )
        .with_columns(
            (c("known_i") & _night(t // 60, c("clock_i"))).alias("night_i"),
            (c("known_r") & _night(t // 60, c("clock_r"))).alias("night_r"),
            # the weighted average of "at night" runs over the events on a known clock
            *[
                pl.when(c(f"known_{side}"))
                .then(RECENT_WEIGHT * ((c(f"kc_end_{side}") - c(f"kc_{side}")) * _LOG_KEEP).exp())
                .otherwise(0.0)
                .alias(f"w_{side}")
                for side in ("i", "r")
            ],
            # exponentially weighted average from 0: the k-th last event weighs w (1 - w)^k
            pl.when(comm)
            .then(RECENT_WEIGHT * ((c("cc_end") - cc) * _LOG_KEEP).exp())
            .otherwise(0.0)
            .alias("w"),
            pl.when(comm)
            .then(cc - pl.when(c("run_start")).then(cc).forward_fill() + 1)
            .otherwise(0)
            .alias("run_length"),
            (c("t_end") - t).cast(pl.Float64).alias("age_s"),
        )
    )


def _per_conversation(events: pl.LazyFrame) -> pl.LazyFrame:
    """One ``group_by`` on the sorted key: every per-side count of every conversation."""
    fi, ri, ev, ch = c("fi"), ~c("fi"), c("ev"), c("ch")
    comm, media, private = c("comm"), ev == MEDIA, c("private")
    safety = ev.is_in([BLOCK, REPORT])
    contact = ev.is_in([MESSAGE, MEDIA, REQUEST])
    to_minor = contact & (c("recipient_age") < MINOR_AGE).fill_null(False)
    from_minor = (c("sender_age") < MINOR_AGE).fill_null(False)
    # what one event adds to a pair of per-side counts: 1 if the initiator sent it,
    # 1 << 32 if the responder did
    unit = pl.when(fi).then(pl.lit(1, pl.UInt64)).otherwise(pl.lit(_LANE, pl.UInt64))

    def pair(name: str, first: pl.Expr, second: pl.Expr) -> pl.Expr:
        """The counts of ``first`` and ``second`` in one sum."""
        return (first.cast(pl.UInt64) + second.cast(pl.UInt64) * _LANE).sum().alias(name)

    def sides(name: str, mask: pl.Expr) -> pl.Expr:
        """``mask`` counted over the events each side sent, in one sum."""
        return pl.when(mask).then(unit).otherwise(0).sum().alias(name)

    pairs = [
        sides("comm", comm),
        sides("media", media),
        sides("safety", safety),
        sides("requests", ev == REQUEST),
        sides("external", ch == EXTERNAL),
        sides("minor_events", to_minor),
        sides("supervised_minor_events", to_minor & (ch <= GROUP)),
        sides("contacted_private_minor", to_minor & private),
        # night on each side's own known clock
        pair("known", c("known_i"), c("known_r")),
        pair("sent_known", comm & fi & c("known_r"), comm & ri & c("known_i")),
        pair("night", c("night_i"), c("night_r")),
        pair("private_night", private & c("night_i"), private & c("night_r")),
        # media a side sent at night on its counterpart's clock
        pair("night_media", media & fi & c("night_r"), media & ri & c("night_i")),
        # what each side received, for the per-account tallies
        pair("accepts", (ev == ACCEPT) & ri, (ev == ACCEPT) & fi),
        pair("flagged", safety & ri & from_minor, safety & fi & from_minor),
    ]
    conversations = events.group_by("conversation_id", maintain_order=True).agg(
        c("sender_id").first().alias("initiator"),
        c("recipient_id").first().alias("responder"),
        # a participant's age: the last one declared for it in the conversation
        pl.when(fi)
        .then(c("sender_age"))
        .otherwise(c("recipient_age"))
        .last(ignore_nulls=True)
        .alias("age_i"),
        pl.when(fi)
        .then(c("recipient_age"))
        .otherwise(c("sender_age"))
        .last(ignore_nulls=True)
        .alias("age_r"),
        pl.len().alias("n_events"),
        c("timestamp").first().alias("t_first"),
        c("timestamp").last().alias("t_last"),
        (-c("age_s") / TAU_SHORT_S).exp().sum().alias("decayed_short"),
        (-c("age_s") / TAU_LONG_S).exp().sum().alias("decayed_long"),
        ch.first().alias("first_channel"),
        ch.max().alias("max_channel"),
        ch.n_unique().alias("n_channels_used"),
        c("above_earlier").sum().alias("upward_channel_moves"),
        pl.when(private).then(c("timestamp")).min().alias("first_private_t"),
        pl.when(fi).then(c("run_length")).otherwise(0).max().alias("run_i"),
        pl.when(ri).then(c("run_length")).otherwise(0).max().alias("run_r"),
        (c("w") * fi).sum().alias("recent_sent_i"),
        (c("w") * ri).sum().alias("recent_sent_r"),
        (c("w_i") * c("night_i")).sum().alias("recent_night_i"),
        (c("w_r") * c("night_r")).sum().alias("recent_night_r"),
        *pairs,
    )
    names = [expr.meta.output_name() for expr in pairs]
    return (
        conversations.with_columns(
            *((c(name) % _LANE).alias(f"{name}_i") for name in names),
            *((c(name) // _LANE).alias(f"{name}_r") for name in names),
        )
        .drop(names)
        .with_columns(
            # what each side did toward its one counterpart: any such event
            *(
                (c(f"{count}{side}") > 0).alias(f"{name}{side}")
                for name, count in (
                    ("contacted_minor", "minor_events"),
                    ("contacted_private_minor", "contacted_private_minor"),
                )
                for side in ("_i", "_r")
            ),
            *(
                (c(f"comm{side}") + c(f"requests{side}") > 0).alias(f"contacted{side}")
                for side in ("_i", "_r")
            ),
        )
    )


def _per_account(conversations: pl.LazyFrame) -> pl.LazyFrame:
    """Tallies of each account over all its conversations.

    Each conversation gives two rows, one per account, holding what that account did
    toward its counterpart; distinct contacts are distinct (account, counterpart) pairs.
    """
    columns = ["contacted", "contacted_minor", "contacted_private_minor"]
    counts = ["requests", "accepts", "flagged", "minor_events", "supervised_minor_events"]
    columns += counts

    def side(account: str, counterpart: str, suffix: str) -> pl.LazyFrame:
        return conversations.select(
            c(account).alias("account"),
            c(counterpart).alias("counterpart"),
            *(c(f"{name}{suffix}").alias(name) for name in columns),
        )

    pairs = (
        pl.concat([side("initiator", "responder", "_i"), side("responder", "initiator", "_r")])
        .group_by("account", "counterpart")
        .agg(
            c("contacted", "contacted_minor", "contacted_private_minor").any(),
            c(*counts).sum(),
        )
    )
    return pairs.group_by("account").agg(
        c("contacted").sum().alias("contacts"),
        c("contacted_minor").sum().alias("minors"),
        c("contacted_private_minor").sum().alias("private_minors"),
        c(*counts).sum(),
    )


def _pick(initiator: str, responder: str) -> pl.Expr:
    """The initiator's value where the initiator is the adult, else the responder's."""
    return pl.when(c("adult_first")).then(c(initiator)).otherwise(c(responder))


def _feature_frame(events: pl.LazyFrame) -> pl.LazyFrame:
    conversations = _per_conversation(_event_columns(events))
    age_i, age_r = c("age_i"), c("age_r")
    # role rule without ages: one point per sign of approaching the other
    signs = (
        (c("requests_i") > 0).cast(pl.Int32)
        - (c("requests_r") > 0).cast(pl.Int32)
        + (c("external_i").cast(pl.Int64) - c("external_r").cast(pl.Int64)).sign()
        + (c("comm_i").cast(pl.Int64) - c("comm_r").cast(pl.Int64)).sign()
        + (c("safety_r") > 0).cast(pl.Int32)
        - (c("safety_i") > 0).cast(pl.Int32)
    )
    adult_first = (
        pl.when(age_i.is_not_null() & age_r.is_not_null())
        .then(age_i >= age_r)
        .when(age_i.is_not_null())
        .then(age_i >= MINOR_AGE)
        .when(age_r.is_not_null())
        .then(age_r < MINOR_AGE)
        .otherwise(signs >= 0)
    )
    n_comm = (c("comm_i") + c("comm_r")).cast(pl.Float64)
    comm_a = _pick("comm_i", "comm_r").cast(pl.Float64)
    comm_c = _pick("comm_r", "comm_i").cast(pl.Float64)
    span_s = (c("t_last") - c("t_first")).cast(pl.Float64)
    rate_short = c("decayed_short") / (TAU_SHORT_S / 86_400.0)
    rate_long = c("decayed_long") / (TAU_LONG_S / 86_400.0)
    delay = (c("first_private_t") - c("t_first")).cast(pl.Float64)
    minors, requests = c("minors").cast(pl.Float64), c("requests").cast(pl.Float64)
    unaccepted = pl.max_horizontal(requests - c("accepts").cast(pl.Float64), 0.0)
    flagged = c("flagged").cast(pl.Float64)
    supervised_share = (
        SUPERVISED_SHARE_STEPS
        * c("supervised_minor_events").cast(pl.Float64)
        / pl.max_horizontal(c("minor_events").cast(pl.Float64), 1.0)
    ).floor() / SUPERVISED_SHARE_STEPS
    nan = float("nan")
    columns = {
        "child_age": _pick("age_r", "age_i").fill_null(nan),
        "adult_age": _pick("age_i", "age_r").fill_null(nan),
        "age_gap": (_pick("age_i", "age_r") - _pick("age_r", "age_i")).fill_null(nan),
        "child_is_minor": (_pick("age_r", "age_i") < MINOR_AGE).fill_null(False),
        "child_age_known": _pick("age_r", "age_i").is_not_null(),
        "adult_age_known": _pick("age_i", "age_r").is_not_null(),
        "adult_initiated": c("adult_first"),
        "adult_sent_request": _pick("requests_i", "requests_r") > 0,
        "n_events": c("n_events"),
        "span_hours": span_s / 3600.0,
        "adult_message_share": (comm_a + _PRIOR / 2) / (n_comm + _PRIOR),
        "adult_recent_share": _pick("recent_sent_i", "recent_sent_r"),
        "adult_max_unanswered_run": _pick("run_i", "run_r"),
        "recent_rate_per_day": rate_short,
        "escalation_ratio": (rate_short / rate_long).pow(
            pl.min_horizontal(span_s / TAU_LONG_S, 1.0)
        ),
        "child_night_share": _pick("night_r", "night_i") / (_pick("known_r", "known_i") + _PRIOR),
        "child_recent_night_share": _pick("recent_night_r", "recent_night_i"),
        "max_channel": c("max_channel"),
        "n_channels_used": c("n_channels_used"),
        "upward_channel_moves": c("upward_channel_moves"),
        # a move from a visible start (public, group, direct) to a private surface
        "secure_move_speed": pl.when(
            (c("first_channel") < EPHEMERAL) & c("first_private_t").is_not_null()
        )
        .then((-delay / TAU_SECURE_MOVE_S).exp())
        .otherwise(0.0),
        "adult_external_events": _pick("external_i", "external_r"),
        "adult_media_rate": _pick("media_i", "media_r") / (comm_a + _PRIOR),
        "child_media_rate": _pick("media_r", "media_i") / (comm_c + _PRIOR),
        "adult_night_media_rate": _pick("night_media_i", "night_media_r")
        / (_pick("sent_known_i", "sent_known_r") + _PRIOR),
        "private_night_share": _pick("private_night_r", "private_night_i")
        / (_pick("known_r", "known_i") + _PRIOR),
        "child_blocks_reports": _pick("safety_r", "safety_i"),
        "adult_minor_fanout": minors,
        "adult_minor_contact_share": minors / pl.max_horizontal(c("contacts"), 1),
        "adult_private_minor_fanout": c("private_minors"),
        "adult_unaccepted_requests": unaccepted,
        "adult_unaccepted_share": unaccepted / pl.max_horizontal(requests, 1.0),
        "adult_blocks_reports_from_minors": flagged,
        "adult_flagged_per_minor": flagged / pl.max_horizontal(minors, 1.0),
        "adult_supervised_minor_share": supervised_share,
    }
    return (
        conversations.with_columns(adult_first.alias("adult_first"))
        .with_columns(_pick("initiator", "responder").alias("adult"))
        .join(
            _per_account(conversations),
            left_on="adult",
            right_on="account",
            how="left",
            maintain_order="left",
        )
        .select(
            "conversation_id",
            *(expr.cast(pl.Float64).alias(name) for name, expr in columns.items()),
        )
    )
