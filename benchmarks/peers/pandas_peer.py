"""riskscore's features in pandas, as a pandas expert would write them (benchmark peer).

How it is built, and why it is fast in pandas:

* **Category codes, not strings.** ``channel`` and ``event`` arrive dictionary-encoded
  (pandas ``Categorical``) or as text; ``pd.Categorical(..., categories=names).codes``
  maps the few distinct values, not every row, and yields the schema's integer codes.
* **Sorted once.** The input contract is events sorted by conversation, then time. That is
  checked with ``is_monotonic_increasing`` and a stable sort runs only when the input is
  not in order.
* **Vectorized scans on the sorted frame.** Everything that depends on earlier events of
  the same conversation (the initiator, a side's latest UTC offset, runs of messages, the
  running channel maximum, how many communication events follow) is one cumulative scan
  over numpy-backed columns (``np.cumsum``; forward fills as ``np.maximum.accumulate`` of
  row positions) that restarts at each conversation boundary by construction, not a
  chain of ``groupby().shift()``; a conversation's value reaches its events through
  ``np.repeat`` over the group sizes (rows are sorted), not a gather.
* **Sorted groups reduced by numpy, not by groupby.** The rows are sorted and each
  conversation's first row is known, so every per-side sum, max and min is one
  ``np.add.reduceat`` (``np.maximum``/``np.minimum``) over those starts: pandas 3.1's
  grouped ``sum`` factorizes its key again and costs about three times as much per column.
  The channels used are one ``np.bitwise_or.reduceat`` of ``1 << channel``; no ``apply``.
* **Per-account counts over conversations, not events.** A conversation is between two
  accounts, so each contributes at most one contact pair each way: distinct contacts
  deduplicate two rows per conversation instead of every event.

The definitions are those of ``docs/features.md`` (constants from the registry); nothing
here calls riskscore's feature code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

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

_PRIOR = SHARE_PRIOR_EVENTS
_LOG_KEEP = math.log(1.0 - RECENT_WEIGHT)
FloatArray = npt.NDArray[np.float64]


def features(table: Any) -> tuple[npt.NDArray[Any], FloatArray]:
    """Features of every conversation of a pyarrow table of schema v1 events."""
    events = _in_order(table.to_pandas())
    conversations = _per_conversation(events)
    accounts = _per_account(conversations)
    return conversations.index.to_numpy(), _feature_matrix(conversations, accounts)


def _in_order(events: pd.DataFrame) -> pd.DataFrame:
    """The events sorted by conversation, then time (ties in input order)."""
    step = np.diff(events["conversation_id"].to_numpy())
    backwards = np.diff(events["timestamp"].to_numpy()) < 0
    if (step >= 0).all() and not ((step == 0) & backwards).any():
        return events
    return events.sort_values(["conversation_id", "timestamp"], kind="stable", ignore_index=True)


def _codes(column: pd.Series, names: tuple[str, ...]) -> npt.NDArray[np.int8]:
    """Schema codes of a text or categorical column (``names`` in code order)."""
    return pd.Categorical(column, categories=list(names)).codes


#: Every local minute of the day a known offset can give (offsets are validated to lie in
#: [-720, 840] minutes), shifted by :data:`_DAY_SHIFT` so that indices start at 0: whether
#: it falls at night. A lookup in this 4 kB table replaces a 64-bit floor modulo per event.
_DAY_SHIFT = 1440
_NIGHT = np.array(
    [(m % 1440 >= NIGHT_START_MIN) or (m % 1440 < NIGHT_END_MIN) for m in range(-1440, 2880)]
)
#: Marks "no known offset yet" in a forward-filled offset column (any value outside the
#: valid range whose lookup stays inside :data:`_NIGHT`; it is masked out anyway).
_NO_OFFSET = 1000


def _per_conversation(events: pd.DataFrame) -> pd.DataFrame:
    """Every per-side count of every conversation, one row per conversation (sorted ids).

    The events are sorted by conversation, so every reduction is a ``ufunc.reduceat`` over
    the conversations' first rows, one pass per column with no grouping key to factorize.
    """
    conv = events["conversation_id"].to_numpy()
    sender = events["sender_id"].to_numpy()
    t = events["timestamp"].to_numpy(np.int64)
    tz = events["recipient_tz_offset_min"].to_numpy(np.float64)  # NaN: unknown
    ch = _codes(events["channel"], CHANNEL_NAMES)
    ev = _codes(events["event"], EVENT_NAMES)
    sender_age = events["sender_age"].to_numpy(np.float64)
    recipient_age = events["recipient_age"].to_numpy(np.float64)

    n = len(t)
    new = np.empty(n, dtype=bool)  # first event of its conversation
    new[:1] = True
    np.not_equal(conv[1:], conv[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n) - 1  # each conversation's last row
    sizes = ends - starts + 1
    number = np.cumsum(new)  # conversation number, 1, 2, ...

    def spread(per_conversation: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Each conversation's value on each of its events (a sequential write, not a
        gather, as the events are sorted)."""
        return np.repeat(per_conversation, sizes)

    def total(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Per-conversation sums (counts of a boolean mask as integers)."""
        return np.add.reduceat(values, starts, dtype=np.int64 if values.dtype == bool else None)

    # the initiator sends the first event; fi: sent by the initiator
    fi = sender == spread(sender[starts])
    ri = ~fi
    comm = (ev == MESSAGE) | (ev == MEDIA)
    media = ev == MEDIA
    private = ch >= EPHEMERAL
    safety = (ev == BLOCK) | (ev == REPORT)
    requests = ev == REQUEST
    with np.errstate(invalid="ignore"):  # NaN ages compare False: never a minor
        to_minor = (comm | requests) & (recipient_age < MINOR_AGE)
        from_minor = sender_age < MINOR_AGE

    # Forward fills as running maxima of row positions (numpy's fill on sorted rows): the
    # position of the latest row that holds a value, or of the conversation's first row.
    positions = np.arange(n)
    has_tz = ~np.isnan(tz)
    minute_of_day = t // 60 % 1440 + _DAY_SHIFT

    def clock(
        received: npt.NDArray[np.bool_],
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """The communication events timed on the side's clock (known: the latest known
        offset of the events it received; unknown until one is, the fill stops at a
        conversation's first row), and those of them at night on it."""
        given = received & has_tz
        latest = np.maximum.accumulate(np.where(given | new, positions, 0))
        offset = np.where(given, tz, _NO_OFFSET).astype(np.int16)[latest]
        known = comm & (offset != _NO_OFFSET)
        return known, known & _NIGHT[minute_of_day + offset]

    (known_i, night_i), (known_r, night_r) = clock(ri), clock(fi)

    # RECENT_WEIGHT (1 - RECENT_WEIGHT)^k for every k a conversation can reach: a lookup
    # on the integer k instead of an exp per event (the same float64 values)
    decay = RECENT_WEIGHT * np.exp(np.arange(sizes.max() + 1) * _LOG_KEEP)

    def recent_weight(counted: npt.NDArray[np.bool_]) -> FloatArray:
        """Exponentially weighted average from 0 over the ``counted`` events: the k-th
        last such event of its conversation weighs w (1 - w)^k."""
        so_far = np.cumsum(counted)
        return np.where(counted, decay[spread(so_far[ends]) - so_far], 0.0)

    # communication events so far (all conversations) and at the conversation's start
    cc = np.cumsum(comm)
    cc_start = spread((cc - comm)[starts])
    weight = recent_weight(comm)

    # runs of communication events from one side: a run starts at the conversation's
    # first one or where the side changes from the previous communication event
    # (a conversation's first communication event starts a run whatever came before it)
    latest_comm = np.maximum.accumulate(np.where(comm, positions, 0))
    side_of_last_comm = np.append(False, fi[latest_comm[:-1]])
    run_start = comm & ((cc - 1 == cc_start) | (fi != side_of_last_comm))
    # cc never decreases, so its running maximum at run starts is the current run's start
    run_start_cc = np.maximum.accumulate(np.where(run_start, cc, 0))
    run_length = np.where(comm, cc - run_start_cc + 1, 0)
    # channel keyed by conversation number: its running maximum stays in its conversation
    ch_key = number * 8 + ch
    above_earlier = ~new & (ch_key > np.append(-1, np.maximum.accumulate(ch_key)[:-1]))
    age_s = (spread(t[ends]) - t).astype(np.float64)

    per_conv: dict[str, npt.NDArray[Any]] = {
        "decayed_short": total(np.exp(-age_s / TAU_SHORT_S)),
        "decayed_long": total(np.exp(-age_s / TAU_LONG_S)),
        "recent_sent_i": total(weight * fi),
        "recent_sent_r": total(weight * ri),
        "recent_night_i": total(recent_weight(known_i) * night_i),
        "recent_night_r": total(recent_weight(known_r) * night_r),
        "upward_channel_moves": total(above_earlier),
        "run_i": np.maximum.reduceat(run_length * fi, starts),
        "run_r": np.maximum.reduceat(run_length * ri, starts),
    }
    # per-side counts; what a side sent is counted on one side, the other side's count is
    # the conversation's total minus it
    for name, mask in (
        ("comm", comm),
        ("media", media),
        ("safety", safety),
        ("requests", requests),
        ("external", ch == EXTERNAL),
        ("minor_events", to_minor),
        ("supervised_minor_events", to_minor & (ch <= GROUP)),
        ("private_minor_events", to_minor & private),
    ):
        per_conv[f"{name}_i"] = total(mask & fi)
        per_conv[f"{name}_r"] = total(mask & ri)
    for name, (initiator, responder) in {
        "known": (known_i, known_r),
        # night on each side's own known clock
        "night": (night_i, night_r),
        "private_night": (private & night_i, private & night_r),
        # sent on the counterpart's known clock; media a side sent at night on it
        "sent_known": (fi & known_r, ri & known_i),
        "night_media": (media & fi & night_r, media & ri & night_i),
        # what each side received, for the per-account tallies
        "accepts": ((ev == ACCEPT) & ri, (ev == ACCEPT) & fi),
        "flagged": (safety & ri & from_minor, safety & fi & from_minor),
    }.items():
        per_conv[f"{name}_i"], per_conv[f"{name}_r"] = total(initiator), total(responder)
    # what each side did toward its one counterpart: any such event
    for side in ("_i", "_r"):
        per_conv[f"contacted{side}"] = per_conv[f"comm{side}"] + per_conv[f"requests{side}"] > 0
        per_conv[f"contacted_minor{side}"] = per_conv[f"minor_events{side}"] > 0
        per_conv[f"contacted_private_minor{side}"] = per_conv[f"private_minor_events{side}"] > 0
    # the channels used, as one bit each: the highest set bit is the largest channel
    used = np.bitwise_or.reduceat(np.left_shift(np.uint8(1), ch.view(np.uint8)), starts)
    per_conv["max_channel"] = _HIGHEST_BIT[used]
    per_conv["n_channels_used"] = _BIT_COUNT[used]
    # the first private time (NaN: none)
    private_t = np.where(private, t, np.nan)
    per_conv["first_private_t"] = np.fmin.reduceat(private_t, starts)
    # a participant's age: the last one declared for it in the conversation (NaN: none)
    for side, ages in (
        ("_i", np.where(fi, sender_age, recipient_age)),
        ("_r", np.where(fi, recipient_age, sender_age)),
    ):
        latest_age = np.maximum.reduceat(np.where(np.isnan(ages), -1, positions), starts)
        per_conv[f"age{side}"] = np.where(latest_age >= 0, ages[latest_age], np.nan)
    per_conv["n_events"] = sizes
    per_conv["initiator"] = sender[starts]
    per_conv["responder"] = events["recipient_id"].to_numpy()[starts]
    per_conv["t_first"] = t[starts]
    per_conv["t_last"] = t[ends]
    per_conv["first_channel"] = ch[starts]
    return pd.DataFrame(per_conv, index=pd.Index(conv[starts], name="conversation_id"))


#: For each 8-bit set of used channels: the largest channel in it, and how many there are.
_HIGHEST_BIT = np.array([max(0, m.bit_length() - 1) for m in range(256)], dtype=np.int8)
_BIT_COUNT = np.array([m.bit_count() for m in range(256)], dtype=np.int8)


def _per_account(conversations: pd.DataFrame) -> pd.DataFrame:
    """Tallies of each account over all its conversations.

    Each conversation gives two rows, one per account, holding what that account did
    toward its counterpart; distinct contacts are distinct (account, counterpart) pairs.
    """
    names = ["contacted", "contacted_minor", "contacted_private_minor"]
    names += ["requests", "accepts", "flagged", "minor_events", "supervised_minor_events"]
    sides = []
    for account, counterpart, suffix in (
        ("initiator", "responder", "_i"),
        ("responder", "initiator", "_r"),
    ):
        side = conversations[[account, counterpart] + [n + suffix for n in names]]
        side.columns = ["account", "counterpart", *names]
        sides.append(side)
    rows = pd.concat(sides, ignore_index=True)
    # the counts add up over all of an account's rows; only the "any contact" flags need
    # the distinct (account, counterpart) pairs first
    flags = rows.groupby(["account", "counterpart"], sort=False)[names[:3]].max()
    accounts = pd.concat(
        [
            flags.groupby(level="account", sort=False).sum(),
            rows.groupby("account", sort=False)[names[3:]].sum(),
        ],
        axis=1,
    )
    return accounts.rename(
        columns={
            "contacted": "contacts",
            "contacted_minor": "minors",
            "contacted_private_minor": "private_minors",
        }
    )


def _feature_matrix(conv: pd.DataFrame, accounts: pd.DataFrame) -> FloatArray:
    def col(name: str) -> FloatArray:
        return conv[name].to_numpy(np.float64)

    age_i, age_r = col("age_i"), col("age_r")
    known_i, known_r = ~np.isnan(age_i), ~np.isnan(age_r)
    # role rule without ages: one point per sign of approaching the other
    signs = (
        (col("requests_i") > 0).astype(int)
        - (col("requests_r") > 0)
        + np.sign(col("external_i") - col("external_r"))
        + np.sign(col("comm_i") - col("comm_r"))
        + (col("safety_r") > 0)
        - (col("safety_i") > 0)
    )
    adult_first = np.select(
        [known_i & known_r, known_i, known_r],
        [age_i >= age_r, age_i >= MINOR_AGE, age_r < MINOR_AGE],
        default=signs >= 0,
    )

    def adult(name: str) -> FloatArray:
        return np.where(adult_first, col(f"{name}_i"), col(f"{name}_r"))

    def child(name: str) -> FloatArray:
        return np.where(adult_first, col(f"{name}_r"), col(f"{name}_i"))

    adult_id = np.where(adult_first, conv["initiator"], conv["responder"])
    tallies = accounts.reindex(adult_id, fill_value=0)

    def tally(name: str) -> FloatArray:
        return tallies[name].to_numpy(np.float64)

    n_comm = col("comm_i") + col("comm_r")
    comm_a, comm_c = adult("comm"), child("comm")
    child_age, adult_age = child("age"), adult("age")
    span_s = col("t_last") - col("t_first")
    rate_short = col("decayed_short") / (TAU_SHORT_S / 86_400.0)
    rate_long = col("decayed_long") / (TAU_LONG_S / 86_400.0)
    delay = col("first_private_t") - col("t_first")
    moved = (col("first_channel") < EPHEMERAL) & ~np.isnan(delay)
    minors, requests, flagged = tally("minors"), tally("requests"), tally("flagged")
    unaccepted = np.maximum(requests - tally("accepts"), 0.0)
    with np.errstate(invalid="ignore"):
        child_is_minor = child_age < MINOR_AGE
    columns = {
        "child_age": child_age,
        "adult_age": adult_age,
        "age_gap": adult_age - child_age,
        "child_is_minor": child_is_minor,
        "child_age_known": ~np.isnan(child_age),
        "adult_age_known": ~np.isnan(adult_age),
        "adult_initiated": adult_first,
        "adult_sent_request": adult("requests") > 0,
        "n_events": col("n_events"),
        "span_hours": span_s / 3600.0,
        "adult_message_share": (comm_a + _PRIOR / 2) / (n_comm + _PRIOR),
        "adult_recent_share": adult("recent_sent"),
        "adult_max_unanswered_run": adult("run"),
        "recent_rate_per_day": rate_short,
        "escalation_ratio": (rate_short / rate_long) ** np.minimum(span_s / TAU_LONG_S, 1.0),
        "child_night_share": child("night") / (child("known") + _PRIOR),
        "child_recent_night_share": child("recent_night"),
        "max_channel": col("max_channel"),
        "n_channels_used": col("n_channels_used"),
        "upward_channel_moves": col("upward_channel_moves"),
        # a move from a visible start (public, group, direct) to a private surface
        "secure_move_speed": np.where(
            moved, np.exp(-np.nan_to_num(delay) / TAU_SECURE_MOVE_S), 0.0
        ),
        "adult_external_events": adult("external"),
        "adult_media_rate": adult("media") / (comm_a + _PRIOR),
        "child_media_rate": child("media") / (comm_c + _PRIOR),
        "adult_night_media_rate": adult("night_media") / (adult("sent_known") + _PRIOR),
        "private_night_share": child("private_night") / (child("known") + _PRIOR),
        "child_blocks_reports": child("safety"),
        "adult_minor_fanout": minors,
        "adult_minor_contact_share": minors / np.maximum(tally("contacts"), 1.0),
        "adult_private_minor_fanout": tally("private_minors"),
        "adult_unaccepted_requests": unaccepted,
        "adult_unaccepted_share": unaccepted / np.maximum(requests, 1.0),
        "adult_blocks_reports_from_minors": flagged,
        "adult_flagged_per_minor": flagged / np.maximum(minors, 1.0),
        "adult_supervised_minor_share": np.floor(
            SUPERVISED_SHARE_STEPS
            * tally("supervised_minor_events")
            / np.maximum(tally("minor_events"), 1.0)
        )
        / SUPERVISED_SHARE_STEPS,
    }
    return np.column_stack([np.asarray(columns[name], dtype=np.float64) for name in PEER_FEATURES])
