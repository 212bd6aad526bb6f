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
* **One groupby.** All per-side counts are columns of one frame (counts as booleans, a byte
  per event) grouped once by the sorted key; each reduction (``sum``, ``max``, ``min``,
  ``last``) runs on the same groups, which pandas reduces with ``ufunc.reduceat`` as the
  key is sorted; no ``apply``.
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
    conv = events["conversation_id"]
    same = conv.diff().eq(0)
    if conv.is_monotonic_increasing and not (same & events["timestamp"].diff().lt(0)).any():
        return events
    return events.sort_values(["conversation_id", "timestamp"], kind="stable", ignore_index=True)


def _codes(column: pd.Series, names: tuple[str, ...]) -> npt.NDArray[np.int8]:
    """Schema codes of a text or categorical column (``names`` in code order)."""
    return pd.Categorical(column, categories=list(names)).codes


def _night(minute: npt.NDArray[np.int64], offset: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    local = (minute + offset) % 1440
    return (local >= NIGHT_START_MIN) | (local < NIGHT_END_MIN)


def _per_conversation(events: pd.DataFrame) -> pd.DataFrame:
    """Every per-side count of every conversation, one row per conversation (sorted ids)."""
    conv = events["conversation_id"]
    sender = events["sender_id"].to_numpy()
    t = events["timestamp"].to_numpy(np.int64)
    tz = events["recipient_tz_offset_min"].to_numpy(np.float64)  # NaN: unknown
    ch = _codes(events["channel"], CHANNEL_NAMES)
    ev = _codes(events["event"], EVENT_NAMES)
    sender_age = events["sender_age"].to_numpy(np.float64)
    recipient_age = events["recipient_age"].to_numpy(np.float64)

    new = conv.ne(conv.shift()).to_numpy()  # first event of its conversation
    last = np.append(new[1:], True)  # last event of its conversation
    number = np.cumsum(new)  # conversation number, 1, 2, ...
    starts = np.flatnonzero(new)
    sizes = np.diff(starts, append=len(t))

    def spread(per_conversation: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Each conversation's value on each of its events (a sequential write, not a
        gather, as the events are sorted)."""
        return np.repeat(per_conversation, sizes)

    # the initiator sends the first event; fi: sent by the initiator
    fi = sender == spread(sender[starts])
    ri = ~fi
    comm = (ev == MESSAGE) | (ev == MEDIA)
    media = ev == MEDIA
    private = ch >= EPHEMERAL
    safety = (ev == BLOCK) | (ev == REPORT)
    contact = comm | (ev == REQUEST)
    with np.errstate(invalid="ignore"):  # NaN ages compare False: never a minor
        to_minor = contact & (recipient_age < MINOR_AGE)
        from_minor = sender_age < MINOR_AGE

    # Forward fills as running maxima of row positions (numpy's fill on sorted rows): the
    # position of the latest row that holds a value, or of the conversation's first row.
    positions = np.arange(len(t))
    has_tz = ~np.isnan(tz)
    offset = np.where(has_tz, tz, 0).astype(np.int64)

    def clock(
        received: npt.NDArray[np.bool_],
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        """Whether the side's clock is known at each event, and its offset: the latest
        known offset of the events it received; unknown until one is (the fill stops at a
        conversation's first row)."""
        given = received & has_tz
        latest = np.maximum.accumulate(np.where(given | new, positions, 0))
        return given[latest], offset[latest]

    (clock_known_i, clock_i), (clock_known_r, clock_r) = clock(ri), clock(fi)
    known_i, known_r = comm & clock_known_i, comm & clock_known_r
    minute = t // 60
    night_i = known_i & _night(minute, clock_i)
    night_r = known_r & _night(minute, clock_r)

    # communication events so far (all conversations), at the conversation's start and end
    cc = np.cumsum(comm)
    cc_start = spread((cc - comm)[starts])
    cc_end = spread(cc[last])
    # exponentially weighted average from 0: the k-th last event weighs w (1 - w)^k
    weight = np.where(comm, RECENT_WEIGHT * np.exp((cc_end - cc) * _LOG_KEEP), 0.0)

    def known_weight(known: npt.NDArray[np.bool_]) -> FloatArray:
        """The same weights over the events on a side's known clock only."""
        kc = np.cumsum(known)
        return np.where(known, RECENT_WEIGHT * np.exp((spread(kc[last]) - kc) * _LOG_KEEP), 0.0)

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
    age_s = (spread(t[last]) - t).astype(np.float64)
    age_i = np.where(fi, sender_age, recipient_age)
    age_r = np.where(fi, recipient_age, sender_age)

    def both(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        return mask & fi, mask & ri

    # float sums; the counts below stay boolean (a byte per event, not eight)
    sums = {
        "decayed_short": np.exp(-age_s / TAU_SHORT_S),
        "decayed_long": np.exp(-age_s / TAU_LONG_S),
        "recent_sent_i": weight * fi,
        "recent_sent_r": weight * ri,
        "recent_night_i": known_weight(known_i) * night_i,
        "recent_night_r": known_weight(known_r) * night_r,
    }
    counts = {
        "upward_channel_moves": above_earlier,
        "known_i": known_i,
        "known_r": known_r,
        "sent_known_i": comm & fi & known_r,
        "sent_known_r": comm & ri & known_i,
        "night_i": night_i,
        "night_r": night_r,
        "private_night_i": private & night_i,
        "private_night_r": private & night_r,
        # media a side sent at night on its counterpart's clock
        "night_media_i": media & fi & night_r,
        "night_media_r": media & ri & night_i,
        # what each side received, for the per-account tallies
        "accepts_i": (ev == ACCEPT) & ri,
        "accepts_r": (ev == ACCEPT) & fi,
        "flagged_i": safety & ri & from_minor,
        "flagged_r": safety & fi & from_minor,
    }
    for name, mask in (
        ("comm", comm),
        ("media", media),
        ("safety", safety),
        ("requests", ev == REQUEST),
        ("external", ch == EXTERNAL),
        ("minor_events", to_minor),
        ("supervised_minor_events", to_minor & (ch <= GROUP)),
    ):
        counts[f"{name}_i"], counts[f"{name}_r"] = both(mask)
    maxima = {
        "max_channel": ch,
        "run_i": run_length * fi,
        "run_r": run_length * ri,
        # what each side did toward its one counterpart (any = max of 0/1)
        "contacted_i": contact & fi,
        "contacted_r": contact & ri,
        "contacted_minor_i": to_minor & fi,
        "contacted_minor_r": to_minor & ri,
        "contacted_private_minor_i": to_minor & private & fi,
        "contacted_private_minor_r": to_minor & private & ri,
        # which channels were used (any = max of 0/1)
        **{f"used_{name}": ch == code for code, name in enumerate(CHANNEL_NAMES)},
    }
    # one frame and one groupby on the sorted key, so the groups are found once and every
    # reduction below reuses them (pandas reduces sorted groups with ufunc.reduceat)
    firsts = {"first_private_t": np.where(private, t, np.nan)}
    lasts = {"age_i": age_i, "age_r": age_r}
    frame = pd.DataFrame(sums | counts | maxima | firsts | lasts, copy=False)
    groups = frame.groupby(conv.to_numpy(), sort=False)
    per_conv = pd.concat(
        [
            groups[list(sums) + list(counts)].sum(),
            groups[list(maxima)].max(),
            groups[list(firsts)].min(),
            groups[list(lasts)].last(),  # skips NaN: the last age declared
        ],
        axis=1,
    )
    per_conv["n_events"] = sizes
    per_conv["initiator"] = sender[starts]
    per_conv["responder"] = events["recipient_id"].to_numpy()[starts]
    per_conv["t_first"] = t[starts]
    per_conv["t_last"] = t[last]
    per_conv["first_channel"] = ch[starts]
    per_conv["n_channels_used"] = per_conv[[f"used_{name}" for name in CHANNEL_NAMES]].sum(axis=1)
    per_conv.index.name = "conversation_id"
    return per_conv


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
    pairs = rows.groupby(["account", "counterpart"], sort=False).agg(
        dict.fromkeys(names[:3], "max") | dict.fromkeys(names[3:], "sum")
    )
    accounts = pairs.groupby(level="account", sort=False).sum()
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
