"""riskscore's features as a pandas ``groupby().agg()`` pipeline (benchmark peer)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

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


def features(table: Any) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """Features of every conversation of a pyarrow table of events."""
    df = table.to_pandas()
    df["row"] = np.arange(len(df))
    df["ch"] = df["channel"].astype(str).map({n: i for i, n in enumerate(CHANNEL_NAMES)})
    df["ev"] = df["event"].astype(str).map({n: i for i, n in enumerate(EVENT_NAMES)})
    df = df.sort_values(["conversation_id", "timestamp", "row"], kind="stable", ignore_index=True)
    g = df.groupby("conversation_id", sort=True)
    df["fi"] = df["sender_id"] == g["sender_id"].transform("first")
    fi = df["fi"]
    df["comm"] = df["ev"].isin([MESSAGE, MEDIA])
    df["age_i"] = df["sender_age"].where(fi, df["recipient_age"])
    df["age_r"] = df["recipient_age"].where(fi, df["sender_age"])
    tz = df["recipient_tz_offset_min"]
    minute = df["timestamp"] // 60
    for side, receives in (("i", ~fi), ("r", fi)):
        known = tz.where(receives).groupby(df["conversation_id"]).ffill().fillna(tz)
        local = (minute + known.astype(np.int64)) % 1440
        df[f"night_{side}"] = df["comm"] & ((local >= NIGHT_START_MIN) | (local < NIGHT_END_MIN))
    prev_max = g["ch"].cummax().groupby(df["conversation_id"]).shift(1)
    df["up"] = df["ch"] > prev_max
    df["age_s"] = (g["timestamp"].transform("last") - df["timestamp"]).astype(np.float64)
    df["short"] = np.exp(-df["age_s"] / TAU_SHORT_S)
    df["long"] = np.exp(-df["age_s"] / TAU_LONG_S)
    df["secure_t"] = df["timestamp"].where(df["ch"] >= EPHEMERAL)
    for name, mask in (
        ("comm", df["comm"]),
        ("ext", df["ch"] == EXTERNAL),
        ("media", df["ev"] == MEDIA),
        ("safe", df["ev"].isin([BLOCK, REPORT])),
    ):
        df[f"{name}_i"] = mask & fi
        df[f"{name}_r"] = mask & ~fi
    g = df.groupby("conversation_id", sort=True)
    conv = g.agg(
        initiator=("sender_id", "first"),
        responder=("recipient_id", "first"),
        age_i=("age_i", "last"),  # last non-null, as pandas skips NaN
        age_r=("age_r", "last"),
        n_events=("row", "size"),
        t0=("timestamp", "first"),
        t1=("timestamp", "last"),
        short=("short", "sum"),
        long=("long", "sum"),
        n_comm=("comm", "sum"),
        comm_i=("comm_i", "sum"),
        comm_r=("comm_r", "sum"),
        night_i=("night_i", "sum"),
        night_r=("night_r", "sum"),
        max_channel=("ch", "max"),
        n_channels_used=("ch", "nunique"),
        upward_channel_moves=("up", "sum"),
        first_secure=("secure_t", "min"),
        ext_i=("ext_i", "sum"),
        ext_r=("ext_r", "sum"),
        media_i=("media_i", "sum"),
        media_r=("media_r", "sum"),
        safe_i=("safe_i", "sum"),
        safe_r=("safe_r", "sum"),
    ).astype({"n_events": np.float64})
    comm = df[df["comm"]]
    new_run = comm["fi"].ne(comm.groupby("conversation_id")["fi"].shift(1))
    run_id = new_run.groupby(comm["conversation_id"]).cumsum()
    runs = (
        comm.assign(run=run_id)
        .groupby(["conversation_id", "run"])
        .agg(fi=("fi", "first"), length=("fi", "size"))
    )
    longest = runs.groupby(["conversation_id", "fi"])["length"].max().unstack(fill_value=0)
    longest = longest.reindex(columns=[False, True], fill_value=0)
    conv["run_i"] = longest[True].reindex(conv.index, fill_value=0).astype(np.float64)
    conv["run_r"] = longest[False].reindex(conv.index, fill_value=0).astype(np.float64)

    contact = df["ev"].isin([MESSAGE, MEDIA, REQUEST])
    to_minor = df["recipient_age"] < MINOR_AGE
    pairs = df.loc[contact, ["sender_id", "recipient_id"]].drop_duplicates()
    contacts = pairs.groupby("sender_id").size()
    minor_pairs = df.loc[contact & to_minor, ["sender_id", "recipient_id"]].drop_duplicates()
    minors = minor_pairs.groupby("sender_id").size()
    requests = df.loc[df["ev"] == REQUEST].groupby("sender_id").size()
    accepts = df.loc[df["ev"] == ACCEPT].groupby("recipient_id").size()
    from_minor = df["sender_age"] < MINOR_AGE
    flagged = df.loc[df["ev"].isin([BLOCK, REPORT]) & from_minor].groupby("recipient_id").size()

    ai, ar = conv["age_i"], conv["age_r"]
    ik, rk = ai.notna(), ar.notna()
    adult_first = (
        (ik & rk & (ai >= ar)) | (ik & ~rk & (ai >= MINOR_AGE)) | (~ik & rk & (ar < MINOR_AGE))
    ) | (~ik & ~rk)

    def pick(initiator: str, responder: str, *, adult: bool) -> pd.Series:
        take = adult_first if adult else ~adult_first
        return conv[initiator].where(take, conv[responder]).astype(np.float64)

    adult = conv["initiator"].where(adult_first, conv["responder"])

    def of_adult(counts: pd.Series) -> npt.NDArray[np.float64]:
        return np.asarray(counts.reindex(adult.to_numpy(), fill_value=0), dtype=np.float64)

    n_minors = of_adult(minors)
    n_comm = np.maximum(conv["n_comm"].to_numpy(np.float64), 1.0)
    rate_short = conv["short"] / (TAU_SHORT_S / 86_400.0)
    delay = (conv["first_secure"] - conv["t0"]).astype(np.float64)
    child_age, adult_age = pick("age_r", "age_i", adult=True), pick("age_i", "age_r", adult=True)
    cols = {
        "child_age": child_age,
        "adult_age": adult_age,
        "age_gap": adult_age - child_age,
        "child_is_minor": (child_age < MINOR_AGE).astype(np.float64),
        "child_age_known": child_age.notna().astype(np.float64),
        "adult_age_known": adult_age.notna().astype(np.float64),
        "adult_initiated": adult_first.astype(np.float64),
        "n_events": conv["n_events"],
        "span_hours": (conv["t1"] - conv["t0"]) / 3600.0,
        "recent_rate_per_day": rate_short,
        "escalation_ratio": rate_short / (conv["long"] / (TAU_LONG_S / 86_400.0)),
        "adult_message_share": pick("comm_i", "comm_r", adult=True) / n_comm,
        "adult_max_unanswered_run": pick("run_i", "run_r", adult=True),
        "child_night_share": pick("night_i", "night_r", adult=False) / n_comm,
        "max_channel": conv["max_channel"].astype(np.float64),
        "n_channels_used": conv["n_channels_used"].astype(np.float64),
        "upward_channel_moves": conv["upward_channel_moves"].astype(np.float64),
        "secure_move_speed": np.exp(-delay / TAU_SECURE_MOVE_S).fillna(0.0),
        "adult_external_events": pick("ext_i", "ext_r", adult=True),
        "adult_media_events": pick("media_i", "media_r", adult=True),
        "child_media_events": pick("media_i", "media_r", adult=False),
        "child_blocks_reports": pick("safe_i", "safe_r", adult=False),
        "adult_minor_fanout": n_minors,
        "adult_minor_contact_share": n_minors / np.maximum(of_adult(contacts), 1.0),
        "adult_unaccepted_requests": np.maximum(of_adult(requests) - of_adult(accepts), 0.0),
        "adult_blocks_reports_from_minors": of_adult(flagged),
    }
    values = np.column_stack([np.asarray(cols[name], dtype=np.float64) for name in FEATURE_NAMES])
    return conv.index.to_numpy(), values
