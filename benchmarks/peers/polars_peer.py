"""riskscore's features as a polars ``group_by().agg()`` pipeline (benchmark peer)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from riskscore.feature_specs import (
    FEATURE_NAMES,
    NIGHT_END_MIN,
    NIGHT_START_MIN,
    TAU_LONG_S,
    TAU_SECURE_MOVE_S,
    TAU_SHORT_S,
)
from riskscore.schema import CHANNEL_NAMES, EVENT_NAMES, MINOR_AGE

from ._codes import ACCEPT, BLOCK, ENCRYPTED, EPHEMERAL, EXTERNAL, MEDIA, MESSAGE, REPORT, REQUEST


def _codes(name: str, names: tuple[str, ...]) -> pl.Expr:
    mapping = {n: i for i, n in enumerate(names)}
    return pl.col(name).cast(pl.String).replace_strict(mapping, return_dtype=pl.Int64)


def _latest_offset(receives: pl.Expr) -> pl.Expr:
    # a side's UTC offset: the latest one it received, else the recipient's
    return (
        pl.when(receives)
        .then(pl.col("recipient_tz_offset_min"))
        .otherwise(None)
        .forward_fill()
        .over("conversation_id")
        .fill_null(pl.col("recipient_tz_offset_min"))
    )


def features(table: Any) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """Features of every conversation of a pyarrow table of events."""
    c = pl.col
    df = (
        pl.from_arrow(table)
        .lazy()
        .with_row_index("row")
        .with_columns(
            _codes("channel", CHANNEL_NAMES).alias("ch"),
            _codes("event", EVENT_NAMES).alias("ev"),
            c("sender_age").fill_nan(None),
            c("recipient_age").fill_nan(None),
        )
        .sort(["conversation_id", "timestamp", "row"])
        .with_columns(
            (c("sender_id") == c("sender_id").first().over("conversation_id")).alias("fi"),
            c("ev").is_in([MESSAGE, MEDIA]).alias("comm"),
            c("ch").is_in([EPHEMERAL, ENCRYPTED, EXTERNAL]).alias("secure"),
        )
        .with_columns(
            pl.when(c("fi")).then(c("sender_age")).otherwise(c("recipient_age")).alias("age_i"),
            pl.when(c("fi")).then(c("recipient_age")).otherwise(c("sender_age")).alias("age_r"),
            _latest_offset(~c("fi")).alias("tz_i"),
            _latest_offset(c("fi")).alias("tz_r"),
            (c("ch") > c("ch").cum_max().shift(1).over("conversation_id")).alias("up"),
            (c("timestamp").last().over("conversation_id") - c("timestamp"))
            .cast(pl.Float64)
            .alias("age_s"),
            # consecutive communication events from the same side form a run
        )
    )
    minute = c("timestamp") // 60

    def night(tz: str) -> pl.Expr:
        local = (minute + c(tz)) % 1440
        return c("comm") & ((local >= NIGHT_START_MIN) | (local < NIGHT_END_MIN))

    per_conv = df.group_by("conversation_id").agg(
        c("sender_id").first().alias("initiator"),
        c("recipient_id").first().alias("responder"),
        c("age_i").drop_nulls().last().alias("age_i"),
        c("age_r").drop_nulls().last().alias("age_r"),
        pl.len().cast(pl.Float64).alias("n_events"),
        ((c("timestamp").last() - c("timestamp").first()) / 3600.0).alias("span_hours"),
        (-c("age_s") / TAU_SHORT_S).exp().sum().alias("short"),
        (-c("age_s") / TAU_LONG_S).exp().sum().alias("long"),
        c("comm").sum().cast(pl.Float64).alias("n_comm"),
        (c("comm") & c("fi")).sum().cast(pl.Float64).alias("comm_i"),
        (c("comm") & ~c("fi")).sum().cast(pl.Float64).alias("comm_r"),
        night("tz_i").sum().cast(pl.Float64).alias("night_i"),
        night("tz_r").sum().cast(pl.Float64).alias("night_r"),
        c("ch").max().cast(pl.Float64).alias("max_channel"),
        c("ch").n_unique().cast(pl.Float64).alias("n_channels_used"),
        c("up").sum().cast(pl.Float64).alias("upward_channel_moves"),
        c("timestamp").filter(c("secure")).min().alias("first_secure"),
        c("timestamp").first().alias("t0"),
        ((c("ch") == EXTERNAL) & c("fi")).sum().cast(pl.Float64).alias("ext_i"),
        ((c("ch") == EXTERNAL) & ~c("fi")).sum().cast(pl.Float64).alias("ext_r"),
        ((c("ev") == MEDIA) & c("fi")).sum().cast(pl.Float64).alias("media_i"),
        ((c("ev") == MEDIA) & ~c("fi")).sum().cast(pl.Float64).alias("media_r"),
        (c("ev").is_in([BLOCK, REPORT]) & c("fi")).sum().cast(pl.Float64).alias("safe_i"),
        (c("ev").is_in([BLOCK, REPORT]) & ~c("fi")).sum().cast(pl.Float64).alias("safe_r"),
    )
    runs = (
        df.filter(c("comm"))
        .with_columns(
            (c("fi") != c("fi").shift(1)).fill_null(True).over("conversation_id").alias("new")
        )
        .with_columns(c("new").cum_sum().over("conversation_id").alias("run"))
        .group_by("conversation_id", "run")
        .agg(c("fi").first(), pl.len().alias("length"))
        .group_by("conversation_id")
        .agg(
            c("length").filter(c("fi")).max().fill_null(0).cast(pl.Float64).alias("run_i"),
            c("length").filter(~c("fi")).max().fill_null(0).cast(pl.Float64).alias("run_r"),
        )
    )
    contact = c("ev").is_in([MESSAGE, MEDIA, REQUEST])
    sent = df.group_by("sender_id").agg(
        c("recipient_id").filter(contact).n_unique().cast(pl.Float64).alias("contacts"),
        c("recipient_id")
        .filter(contact & (c("recipient_age") < MINOR_AGE))
        .n_unique()
        .cast(pl.Float64)
        .alias("minors"),
        (c("ev") == REQUEST).sum().cast(pl.Float64).alias("requests"),
    )
    received = df.group_by("recipient_id").agg(
        (c("ev") == ACCEPT).sum().cast(pl.Float64).alias("accepts"),
        (c("ev").is_in([BLOCK, REPORT]) & (c("sender_age") < MINOR_AGE))
        .sum()
        .cast(pl.Float64)
        .alias("flagged"),
    )
    accounts = (
        sent.join(received, left_on="sender_id", right_on="recipient_id", how="full", coalesce=True)
        .rename({"sender_id": "account"})
        .with_columns(pl.exclude("account").fill_null(0.0))
        .select(
            "account",
            c("minors").alias("adult_minor_fanout"),
            (c("minors") / pl.max_horizontal(c("contacts"), 1.0)).alias(
                "adult_minor_contact_share"
            ),
            pl.max_horizontal(c("requests") - c("accepts"), 0.0).alias("adult_unaccepted_requests"),
            c("flagged").alias("adult_blocks_reports_from_minors"),
        )
    )
    ai, ar = c("age_i"), c("age_r")
    adult_first = (
        (ai.is_not_null() & ar.is_not_null() & (ai >= ar))
        | (ai.is_not_null() & ar.is_null() & (ai >= MINOR_AGE))
        | (ai.is_null() & ar.is_not_null() & (ar < MINOR_AGE))
        | (ai.is_null() & ar.is_null())
    )

    def pick(initiator: str, responder: str, *, adult: bool) -> pl.Expr:
        take = c("adult_first") if adult else ~c("adult_first")
        return pl.when(take).then(c(initiator)).otherwise(c(responder))

    never = c("first_secure").is_null()
    out = (
        per_conv.join(runs, on="conversation_id", how="left")
        .with_columns(adult_first.alias("adult_first"), c("run_i", "run_r").fill_null(0.0))
        .with_columns(
            pick("initiator", "responder", adult=True).alias("adult"),
            pick("age_r", "age_i", adult=True).alias("child_age"),
            pick("age_i", "age_r", adult=True).alias("adult_age"),
        )
        .join(accounts, left_on="adult", right_on="account", how="left")
        .select(
            "conversation_id",
            c("child_age").cast(pl.Float64).fill_null(float("nan")),
            c("adult_age").cast(pl.Float64).fill_null(float("nan")),
            (c("adult_age") - c("child_age"))
            .cast(pl.Float64)
            .fill_null(float("nan"))
            .alias("age_gap"),
            (c("child_age") < MINOR_AGE).fill_null(False).cast(pl.Float64).alias("child_is_minor"),
            c("child_age").is_not_null().cast(pl.Float64).alias("child_age_known"),
            c("adult_age").is_not_null().cast(pl.Float64).alias("adult_age_known"),
            c("adult_first").cast(pl.Float64).alias("adult_initiated"),
            "n_events",
            "span_hours",
            (c("short") / (TAU_SHORT_S / 86_400.0)).alias("recent_rate_per_day"),
            ((c("short") / (TAU_SHORT_S / 86_400.0)) / (c("long") / (TAU_LONG_S / 86_400.0))).alias(
                "escalation_ratio"
            ),
            (pick("comm_i", "comm_r", adult=True) / pl.max_horizontal(c("n_comm"), 1.0)).alias(
                "adult_message_share"
            ),
            pick("run_i", "run_r", adult=True).alias("adult_max_unanswered_run"),
            (pick("night_i", "night_r", adult=False) / pl.max_horizontal(c("n_comm"), 1.0)).alias(
                "child_night_share"
            ),
            "max_channel",
            "n_channels_used",
            "upward_channel_moves",
            pl.when(never)
            .then(0.0)
            .otherwise((-(c("first_secure") - c("t0")).cast(pl.Float64) / TAU_SECURE_MOVE_S).exp())
            .alias("secure_move_speed"),
            pick("ext_i", "ext_r", adult=True).alias("adult_external_events"),
            pick("media_i", "media_r", adult=True).alias("adult_media_events"),
            pick("media_i", "media_r", adult=False).alias("child_media_events"),
            pick("safe_i", "safe_r", adult=False).alias("child_blocks_reports"),
            *(
                c(name).fill_null(0.0)
                for name in (
                    "adult_minor_fanout",
                    "adult_minor_contact_share",
                    "adult_unaccepted_requests",
                    "adult_blocks_reports_from_minors",
                )
            ),
        )
        .sort("conversation_id")
        .collect()
    )
    values = out.select(FEATURE_NAMES).to_numpy().astype(np.float64)
    return out["conversation_id"].to_numpy(), values
