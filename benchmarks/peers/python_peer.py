"""riskscore's features as a plain per-message Python loop (benchmark peer)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.feature_specs import (
    FEATURE_NAMES,
    NIGHT_END_MIN,
    NIGHT_START_MIN,
    TAU_LONG_S,
    TAU_SECURE_MOVE_S,
    TAU_SHORT_S,
)
from riskscore.schema import CHANNEL_NAMES, EVENT_NAMES, MINOR_AGE

from ._codes import ACCEPT, BLOCK, EPHEMERAL, EXTERNAL, MEDIA, MESSAGE, REPORT, REQUEST

NAN = float("nan")


def _known(age: float | None) -> bool:
    return age is not None and age == age


def features(table: Any) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """Features of every conversation of a pyarrow table of events."""
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    channel_code = {n: i for i, n in enumerate(CHANNEL_NAMES)}
    event_code = {n: i for i, n in enumerate(EVENT_NAMES)}
    n = table.num_rows
    order = sorted(range(n), key=lambda i: (cols["conversation_id"][i], cols["timestamp"][i], i))
    convs: dict[Any, dict[str, Any]] = {}
    pairs: set[tuple[Any, Any]] = set()
    minor_pairs: set[tuple[Any, Any]] = set()
    requests: dict[Any, int] = {}
    accepts: dict[Any, int] = {}
    flagged: dict[Any, int] = {}
    for i in order:
        cid = cols["conversation_id"][i]
        ts = cols["timestamp"][i]
        sender, recipient = cols["sender_id"][i], cols["recipient_id"][i]
        s_age, r_age = cols["sender_age"][i], cols["recipient_age"][i]
        ch = channel_code[cols["channel"][i]]
        ev = event_code[cols["event"][i]]
        tz = cols["recipient_tz_offset_min"][i]
        c = convs.get(cid)
        if c is None:
            c = convs[cid] = {
                "initiator": sender, "responder": recipient, "age": [NAN, NAN], "t0": ts,
                "t1": ts, "times": [], "n": 0, "comm": [0, 0], "n_comm": 0, "night": [0, 0],
                "tz": [None, None], "run": [0, 0], "cur_side": -1, "cur_len": 0,
                "max_ch": ch, "used": set(), "running": ch, "up": 0, "first_secure": None,
                "ext": [0, 0], "media": [0, 0], "safe": [0, 0],
            }  # fmt: skip
        side = 0 if sender == c["initiator"] else 1  # 0: initiator, 1: responder
        other = 1 - side
        if _known(s_age):
            c["age"][side] = s_age
        if _known(r_age):
            c["age"][other] = r_age
        c["n"] += 1
        c["t1"] = ts
        c["times"].append(ts)
        comm = ev in (MESSAGE, MEDIA)
        # the recipient's offset is known from this event on
        sender_tz = c["tz"][side] if c["tz"][side] is not None else tz
        c["tz"][other] = tz
        if comm:
            c["comm"][side] += 1
            c["n_comm"] += 1
            for who, offset in ((side, sender_tz), (other, tz)):
                local = (ts // 60 + offset) % 1440
                if local >= NIGHT_START_MIN or local < NIGHT_END_MIN:
                    c["night"][who] += 1
            if c["cur_side"] == side:
                c["cur_len"] += 1
            else:
                c["cur_side"], c["cur_len"] = side, 1
            c["run"][side] = max(c["run"][side], c["cur_len"])
        if c["n"] > 1 and ch > c["running"]:
            c["up"] += 1
        c["running"] = max(c["running"], ch)
        c["max_ch"] = max(c["max_ch"], ch)
        c["used"].add(ch)
        if ch >= EPHEMERAL and c["first_secure"] is None:
            c["first_secure"] = ts
        c["ext"][side] += ch == EXTERNAL
        c["media"][side] += ev == MEDIA
        c["safe"][side] += ev in (BLOCK, REPORT)
        if ev in (MESSAGE, MEDIA, REQUEST):
            pairs.add((sender, recipient))
            if _known(r_age) and r_age < MINOR_AGE:
                minor_pairs.add((sender, recipient))
        if ev == REQUEST:
            requests[sender] = requests.get(sender, 0) + 1
        if ev == ACCEPT:
            accepts[recipient] = accepts.get(recipient, 0) + 1
        if ev in (BLOCK, REPORT) and _known(s_age) and s_age < MINOR_AGE:
            flagged[recipient] = flagged.get(recipient, 0) + 1
    contacts: dict[Any, int] = {}
    for sender, _ in pairs:
        contacts[sender] = contacts.get(sender, 0) + 1
    minors: dict[Any, int] = {}
    for sender, _ in minor_pairs:
        minors[sender] = minors.get(sender, 0) + 1
    ids = sorted(convs)
    rows = []
    for cid in ids:
        c = convs[cid]
        ai, ar = c["age"]
        ik, rk = ai == ai, ar == ar
        adult_first = (
            (ik and rk and ai >= ar)
            or (ik and not rk and ai >= MINOR_AGE)
            or (not ik and rk and ar < MINOR_AGE)
            or (not ik and not rk)
        )
        a, k = (0, 1) if adult_first else (1, 0)
        adult = c["initiator"] if adult_first else c["responder"]
        adult_age, child_age = c["age"][a], c["age"][k]
        short = sum(math.exp(-(c["t1"] - t) / TAU_SHORT_S) for t in c["times"])
        long = sum(math.exp(-(c["t1"] - t) / TAU_LONG_S) for t in c["times"])
        rate_short, rate_long = short / (TAU_SHORT_S / 86_400.0), long / (TAU_LONG_S / 86_400.0)
        n_comm = max(c["n_comm"], 1)
        fs = c["first_secure"]
        n_minors = minors.get(adult, 0)
        row = {
            "child_age": child_age,
            "adult_age": adult_age,
            "age_gap": adult_age - child_age,
            "child_is_minor": float(child_age == child_age and child_age < MINOR_AGE),
            "child_age_known": float(child_age == child_age),
            "adult_age_known": float(adult_age == adult_age),
            "adult_initiated": float(adult_first),
            "n_events": c["n"],
            "span_hours": (c["t1"] - c["t0"]) / 3600.0,
            "recent_rate_per_day": rate_short,
            "escalation_ratio": rate_short / rate_long,
            "adult_message_share": c["comm"][a] / n_comm,
            "adult_max_unanswered_run": c["run"][a],
            "child_night_share": c["night"][k] / n_comm,
            "max_channel": c["max_ch"],
            "n_channels_used": len(c["used"]),
            "upward_channel_moves": c["up"],
            "secure_move_speed": 0.0
            if fs is None
            else math.exp(-(fs - c["t0"]) / TAU_SECURE_MOVE_S),
            "adult_external_events": c["ext"][a],
            "adult_media_events": c["media"][a],
            "child_media_events": c["media"][k],
            "child_blocks_reports": c["safe"][k],
            "adult_minor_fanout": n_minors,
            "adult_minor_contact_share": n_minors / max(contacts.get(adult, 0), 1),
            "adult_unaccepted_requests": max(requests.get(adult, 0) - accepts.get(adult, 0), 0),
            "adult_blocks_reports_from_minors": flagged.get(adult, 0),
        }
        rows.append([float(row[name]) for name in FEATURE_NAMES])
    return np.asarray(ids), np.asarray(rows, dtype=np.float64).reshape(len(ids), len(FEATURE_NAMES))
