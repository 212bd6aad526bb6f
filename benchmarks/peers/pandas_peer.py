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
* **Counts as one histogram per conversation.** Each event gets a small integer code of
  the facts the counts depend on (sending side, event, channel, whether a minor is
  involved; and for communication events each side's clock: unknown, day or night);
  ``np.bincount`` over ``conversation * n_codes + code`` tallies every (conversation,
  code) pair in one pass, and one matrix product with a 0/1 codes-by-counts matrix turns
  those tallies into the 40 counts (float products, exact below 2**53), instead of one
  grouped reduction per count (``benchmarks/README.md`` has the measurements); the other
  reductions (float sums, maxima, the first private time) are ``np.add.reduceat``,
  ``np.maximum.reduceat`` and ``np.fmin.reduceat`` on the sorted rows, and the last
  declared age a forward fill of positions: no ``groupby`` and no ``apply``.
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
N_EVENTS, N_CHANNELS = len(EVENT_NAMES), len(CHANNEL_NAMES)
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

    # Counts as one histogram per conversation: each event gets a code of the facts the
    # counts depend on, np.bincount tallies (conversation, code) pairs in one pass, and
    # each count is then a sum over the codes where its condition holds (a 0/1 matrix
    # over the code space, one matrix product), not one masked reduction per count.
    n_conversations = len(starts)
    number -= 1  # 0, 1, ...
    # facts: the sending side (0 initiator), event, channel, and whether a minor is involved
    # (the recipient of a contact event, the sender of any other)
    minor = np.where(contact, to_minor, from_minor)
    facts = ((ri * N_EVENTS + ev) * N_CHANNELS + ch) * 2 + minor
    # the clocks of communication events: each side's unknown (0), day (1) or night (2)
    state_i = known_i.astype(np.int8) + night_i
    state_r = known_r.astype(np.int8) + night_r
    clocks = np.where(comm, (((state_i * 3 + state_r) * 2 + ri) * 2 + media) * 2 + private, 72)
    counts = {
        **_tally(number, facts, _FACT_CODES, _FACT_COUNTS, n_conversations),
        **_tally(number, clocks, _CLOCK_CODES, _CLOCK_COUNTS, n_conversations),
    }
    used = np.column_stack([counts[f"used_{name}"] for name in CHANNEL_NAMES]) > 0

    def sums(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.add.reduceat(values, starts)

    def last_declared(age: FloatArray) -> FloatArray:
        """The last age declared in each conversation (a forward fill of positions that
        stops at the conversation's first row: NaN there if no age was declared)."""
        declared = np.maximum.accumulate(np.where(~np.isnan(age) | new, positions, 0))
        return age[declared[last]]

    columns = counts | {
        "decayed_short": sums(np.exp(-age_s / TAU_SHORT_S)),
        "decayed_long": sums(np.exp(-age_s / TAU_LONG_S)),
        "recent_sent_i": sums(weight * fi),
        "recent_sent_r": sums(weight * ri),
        "recent_night_i": sums(known_weight(known_i) * night_i),
        "recent_night_r": sums(known_weight(known_r) * night_r),
        "upward_channel_moves": np.add.reduceat(above_earlier, starts, dtype=np.int64),
        "run_i": np.maximum.reduceat(run_length * fi, starts),
        "run_r": np.maximum.reduceat(run_length * ri, starts),
        # fmin skips NaN: the first time on a private channel, NaN if none
        "first_private_t": np.fmin.reduceat(np.where(private, t, np.nan), starts),
        "age_i": last_declared(age_i),
        "age_r": last_declared(age_r),
        "n_events": sizes,
        "initiator": sender[starts],
        "responder": events["recipient_id"].to_numpy()[starts],
        "t_first": t[starts],
        "t_last": t[last],
        "first_channel": ch[starts],
        "n_channels_used": used.sum(axis=1),
        "max_channel": N_CHANNELS - 1 - np.argmax(used[:, ::-1], axis=1),
    }
    # what each side did toward its one counterpart: any such event
    for name in ("contacted", "contacted_minor", "contacted_private_minor"):
        for side in ("_i", "_r"):
            columns[name + side] = columns[name + side] > 0
    per_conv = pd.DataFrame(columns, index=conv.to_numpy()[starts], copy=False)
    per_conv.index.name = "conversation_id"
    return per_conv


def _tally(
    number: npt.NDArray[np.int64],
    code: npt.NDArray[Any],
    selectors: FloatArray,
    names: tuple[str, ...],
    n_conversations: int,
) -> dict[str, npt.NDArray[np.int64]]:
    """Counts of each conversation: events per (conversation, code), summed over the codes
    each count selects (``selectors``: codes by counts, 0 or 1)."""
    n_codes = selectors.shape[0]
    histogram = np.bincount(number * n_codes + code, minlength=n_conversations * n_codes)
    per_code = histogram.reshape(n_conversations, n_codes).astype(np.float64)
    # float products are exact for counts below 2**53; BLAS makes them cheap
    counts = (per_code @ selectors).astype(np.int64)
    return {name: counts[:, k] for k, name in enumerate(names)}


def _selectors(conditions: dict[str, npt.NDArray[np.bool_]]) -> tuple[FloatArray, tuple[str, ...]]:
    """A codes-by-counts 0/1 matrix of ``conditions`` (each over the code space)."""
    return np.column_stack(list(conditions.values())).astype(np.float64), tuple(conditions)


def _fact_selectors() -> tuple[FloatArray, tuple[str, ...]]:
    """What each count of event facts selects, as conditions over the codes
    ``((side * N_EVENTS + event) * N_CHANNELS + channel) * 2 + minor``."""
    code = np.arange(2 * N_EVENTS * N_CHANNELS * 2)
    minor = code % 2 == 1
    ch = code // 2 % N_CHANNELS
    ev = code // (2 * N_CHANNELS) % N_EVENTS
    sent = {"_i": code < N_EVENTS * N_CHANNELS * 2, "_r": code >= N_EVENTS * N_CHANNELS * 2}
    received = {"_i": sent["_r"], "_r": sent["_i"]}
    comm = (ev == MESSAGE) | (ev == MEDIA)
    contact = comm | (ev == REQUEST)
    safety = (ev == BLOCK) | (ev == REPORT)
    to_minor = contact & minor
    conditions = {}
    for s in ("_i", "_r"):
        conditions |= {
            f"comm{s}": comm & sent[s],
            f"media{s}": (ev == MEDIA) & sent[s],
            f"safety{s}": safety & sent[s],
            f"requests{s}": (ev == REQUEST) & sent[s],
            f"external{s}": (ch == EXTERNAL) & sent[s],
            f"minor_events{s}": to_minor & sent[s],
            f"supervised_minor_events{s}": to_minor & (ch <= GROUP) & sent[s],
            # what each side did toward its one counterpart (any: a count above 0)
            f"contacted{s}": contact & sent[s],
            f"contacted_minor{s}": to_minor & sent[s],
            f"contacted_private_minor{s}": to_minor & (ch >= EPHEMERAL) & sent[s],
            # what each side received, for the per-account tallies
            f"accepts{s}": (ev == ACCEPT) & received[s],
            f"flagged{s}": safety & minor & received[s],
        }
    # which channels were used (any: a count above 0)
    conditions |= {f"used_{name}": ch == k for k, name in enumerate(CHANNEL_NAMES)}
    return _selectors(conditions)


def _clock_selectors() -> tuple[FloatArray, tuple[str, ...]]:
    """What each count of clocks selects, as conditions over the codes of communication
    events ``(((state_i * 3 + state_r) * 2 + side) * 2 + media) * 2 + private`` (a
    side's state: 0 unknown clock, 1 day, 2 night) and 72 for every other event."""
    code = np.arange(73)
    other = code == 72
    private = code % 2 == 1
    media = code // 2 % 2 == 1
    by_initiator = code // 4 % 2 == 0
    state = {"_i": code // 24 % 3, "_r": code // 8 % 3}
    counterpart = {"_i": "_r", "_r": "_i"}
    sent = {"_i": by_initiator, "_r": ~by_initiator}
    conditions = {}
    for s in ("_i", "_r"):
        known, night = ~other & (state[s] > 0), ~other & (state[s] == 2)
        night_other = ~other & (state[counterpart[s]] == 2)
        conditions |= {
            f"known{s}": known,
            f"sent_known{s}": sent[s] & ~other & (state[counterpart[s]] > 0),
            f"night{s}": night,
            f"private_night{s}": private & night,
            # media a side sent at night on its counterpart's clock
            f"night_media{s}": media & sent[s] & night_other,
        }
    return _selectors(conditions)


_FACT_CODES, _FACT_COUNTS = _fact_selectors()
_CLOCK_CODES, _CLOCK_COUNTS = _clock_selectors()


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
