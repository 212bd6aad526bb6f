"""``docs/vignettes.md``, written from the vignette files (a test fails when it drifts)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from riskscore._words import duration_text, plural
from riskscore.io.markdown import markdown_row, markdown_text
from riskscore.io.schema import CHANNEL_NAMES, EVENT_NAMES
from riskscore.vignettes.known_misses import KNOWN_MISSES
from riskscore.vignettes.loader import load_vignettes
from riskscore.vignettes.specs import Account, RoomSpec
from riskscore.vignettes.vignette import Vignette

__all__ = ["vignettes_markdown"]

_EXPECTED_WORDS = {
    "alert": "alert (review or urgent)",
    "urgent": "urgent alert",
    "no_alert": "no alert",
}

_INTRO = """\
# Vignettes

<!-- Generated from riskscore/vignettes/data/*.toml by
     riskscore.vignettes.vignettes_markdown(); do not edit by hand. Regenerate with
     .venv/bin/python -c "import riskscore.vignettes as v; \
open('docs/vignettes.md', 'w').write(v.vignettes_markdown())" -->

Hand-written conversations, each a textbook grooming pattern or a textbook benign look-alike,
with the outcome a trust & safety moderator would expect and the reason they would give. They
are written from the grooming stage models cited in [features.md](features.md) (victim
selection, trust building, risk assessment, exclusivity, escalation) and from ordinary life
(families, coaches, teachers, teenagers, couples), not fitted to riskscore's model or to its
synthetic generator. All accounts and events are synthetic and hold metadata only: no message
text.

`tests/test_vignettes.py` scores each vignette on its own events (all its conversations
together, since per-account features span an adult's conversations) with the shipped model and
the default policy, and asserts the expected outcome on each of its *focus* conversations:
**alert** means at least a review alert, **urgent** an urgent alert, **no alert** none. A
vignette that fails says where the model disagrees with a moderator; it is never weakened to
pass: the ones the shipped model gets wrong today are marked as known misses
(`riskscore/vignettes/known_misses.py`, a strict expected failure in the test).

Each vignette is one TOML file in `riskscore/vignettes/data/`: accounts (declared age or none,
UTC offset), conversations between two of them, and phases (days, local hours of the day,
channel, number of events, who sends what share, media, opening and closing events such as a
contact request or a block); a conversation may instead be a group room, whose every message
reaches all its members as one row each with its `room_size`, each pair of the room scored as
its own conversation (`room|account|account`, [schema.md](schema.md), "Group conversations"),
and a room of more than 20 accounts set aside as a broadcast, never scored.
`riskscore.vignettes.load_vignettes()` reads them and
`Vignette.events()` expands them into schema v1 events, deterministically; the format, and
the limits a file must keep (at most 100,000 events per vignette, groups of at most 1,000
accounts, dates from 2000-01-02 to 2199-12-31, one printable line of title), are documented
in `riskscore/vignettes/loader.py`.
"""


def vignettes_markdown(vignettes: Sequence[Vignette] | None = None) -> str:
    """The vignette catalogue as Markdown (the contents of ``docs/vignettes.md``).

    Parameters
    ----------
    vignettes : sequence of Vignette, optional
        The shipped vignettes when omitted.

    Returns
    -------
    str
        A summary table, then one section per vignette: what happens, the expected
        outcome, the moderator's reason and facts computed from its events.

    Examples
    --------
    >>> from riskscore.vignettes import vignettes_markdown
    >>> vignettes_markdown().startswith("# Vignettes")
    True
    """
    if vignettes is None:
        vignettes = load_vignettes()
    ordered = sorted(vignettes, key=lambda v: (v.kind != "grooming", v.id))
    n_grooming = sum(v.kind == "grooming" for v in ordered)
    lines = [
        _INTRO,
        f"{len(ordered)} vignettes: {n_grooming} grooming, {len(ordered) - n_grooming} benign.",
        "",
        "| id | kind | expected | title |",
        "|---|---|---|---|",
    ]
    # a file's title, summary and reason (any printable text) are shown as written; its id
    # is lower-case letters, digits and dashes (read_vignette)
    lines += [
        markdown_row(
            [f"[`{v.id}`](#{v.id})", v.kind, _EXPECTED_WORDS[v.expected], markdown_text(v.title)]
        )
        for v in ordered
    ]
    for v in ordered:
        lines += [
            "",
            f"## {v.id}",
            "",
            f"**{markdown_text(v.title)}**",
            "",
            f"- **Kind**: {v.kind}. **Expected**: {_EXPECTED_WORDS[v.expected]} on "
            f"{plural(len(v.focus), 'focus conversation')}.",
            f"- **What happens**: {markdown_text(v.summary)}",
            f"- **Moderator's reason**: {markdown_text(v.moderator_reason)}",
            f"- **Data**: {_facts(v)}",
        ]
        if v.id in KNOWN_MISSES:
            lines.append(f"- **Known miss of the shipped model**: {KNOWN_MISSES[v.id]}.")
    return "\n".join(lines) + "\n"


def _facts(v: Vignette) -> str:
    events = v.events()
    t = events["timestamp"]
    channels = [c for c in CHANNEL_NAMES if np.any(events["channel"] == c)]
    kinds = [(k, int(np.sum(events["event"] == k))) for k in EVENT_NAMES]
    rooms = [c for c in v.conversations if isinstance(c, RoomSpec)]
    n_pairs = sum(len(c.members) * (len(c.members) - 1) // 2 for c in rooms)
    in_rooms = (
        f" ({plural(len(rooms), 'group room')} of "
        f"{' and '.join(str(len(c.members)) for c in rooms)} accounts, "
        f"{plural(n_pairs, 'pair')})"
        if rooms
        else ""
    )
    # a room's event is one row per member it reached: counted as rows
    unit = "rows (a room's event one per member it reached)" if rooms else "events"
    return (
        f"accounts {_accounts(v.accounts)}; "
        f"{plural(len(v.conversations), 'conversation')}{in_rooms}, "
        f"{len(t)} {unit} over {duration_text(int(t.max() - t.min()))}; "
        f"channels {', '.join(channels)}; "
        f"{'rows' if rooms else 'events'} {', '.join(f'{n} {k}' for k, n in kinds if n)}."
    )


def _accounts(accounts: Sequence[Account]) -> str:
    by_name: dict[str, list[Account]] = {}
    for account in accounts:
        by_name.setdefault(account.name, []).append(account)
    out = []
    for name, members in by_name.items():
        ages = sorted({a.age for a in members if a.age is not None})
        unknown = any(a.age is None for a in members)
        if not ages:
            age = "age unknown"
        elif len(ages) == 1:
            age = f"{ages[0]:g}" + (", some unknown" if unknown else "")
        else:
            age = f"ages {ages[0]:g}-{ages[-1]:g}" + (", some unknown" if unknown else "")
        zones = ", ".join(_utc(tz) for tz in sorted({a.tz for a in members}))
        count = f"{len(members)} accounts, " if len(members) > 1 else ""
        out.append(f"{name} ({count}{age}; {zones})")
    return ", ".join(out)


def _utc(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"
