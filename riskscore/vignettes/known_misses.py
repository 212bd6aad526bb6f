"""The public vignettes the shipped model and policy get wrong today, and how.

One list, read by ``tests/test_vignettes.py`` (each entry is a strict ``xfail``: the test
fails as soon as the vignette passes, so the list cannot go stale), by the model card and
by ``docs/vignettes.md``. Each text says what the model does and why, as measured; a
vignette is never weakened to leave this list.
"""

from __future__ import annotations

from typing import Final

__all__ = ["KNOWN_MISSES"]

#: Vignette id -> what the shipped model and default policy do with it, and why: the exact
#: Shapley values (log-odds) of the inputs that pull its risk the other way, measured on the
#: model of trees with up to 63 leaves that reads the span (December 2026: b20 and b23, a
#: babysitter's and a father's contact, are no longer alerted; docs/evaluation.md says what
#: the span gained and lost), under the policy of format 3 (g04, g06, g15, g22, g27 and
#: g33, a known child with an account of unknown age, are measured against the
#: ``unknown_adult`` band). The span counts against every conversation older than its
#: first event (its reference is 0 hours): what tells these apart is how much.
KNOWN_MISSES: Final[dict[str, str]] = {
    "g04-unknown-age-off-platform-within-hour": (
        "no alert (risk 0.78 against the minor, other age unknown band's review 0.899): "
        "inputs that count against it: `adult_supervised_minor_share` -1.7 log-odds, "
        "`span_hours` -0.1 log-odds"
    ),
    "g06-no-declared-age-target-15": (
        "no alert (risk 0.67 against the minor, other age unknown band's review 0.899): "
        "inputs that count against it: `child_night_share` -3.3 log-odds, `span_hours` -1.9 "
        "log-odds, `secure_move_speed` -0.5 log-odds"
    ),
    "g11-persistent-adult-unanswered-14": (
        "no alert (risk 0.60 against the 13-15 band's review 0.697): inputs that count "
        "against it: `span_hours` -1.8 log-odds, `child_night_share` -0.9 log-odds, "
        "`adult_age` -0.1 log-odds"
    ),
    "g15-unknown-age-12-evenings-then-encrypted-images": (
        "no alert (risk 0.10 against the minor, other age unknown band's review 0.899): "
        "inputs that count against it: `span_hours` -1.5 log-odds, `upward_channel_moves` "
        "-0.7 log-odds, `secure_move_speed` -0.3 log-odds"
    ),
    "g16-adult-40-daily-holidays-14-then-external": (
        "no alert (risk 0.12 against the 13-15 band's review 0.697): inputs that count "
        "against it: `span_hours` -2.1 log-odds, `adult_age` -0.1 log-odds, "
        "`secure_move_speed` -0.1 log-odds"
    ),
    "g19-adult-23-public-to-external-within-two-hours-14": (
        "no alert (risk 0.66 against the 13-15 band's review 0.697): inputs that count "
        "against it: `adult_supervised_minor_share` -1.1 log-odds, `upward_channel_moves` "
        "-0.3 log-odds, `span_hours` -0.1 log-odds"
    ),
    "g20-family-group-to-private-evenings-11": (
        "no alert (risk 0.02 against the under-13 band's review 0.534): inputs that count "
        "against it: `span_hours` -1.9 log-odds, `adult_supervised_minor_share` -0.3 "
        "log-odds, `adult_age` -0.2 log-odds"
    ),
    "g22-unknown-age-public-space-many-12-14": (
        "no alert (risk 0.08 against the minor, other age unknown band's review 0.899) (10 of "
        "its conversations; the first shown): inputs that count against it: `span_hours` -1.8 "
        "log-odds, `adult_supervised_minor_share` -0.4 log-odds, `upward_channel_moves` -0.1 "
        "log-odds"
    ),
    "g27-unknown-age-gifts-9-after-school-external-day-three": (
        "no alert (risk 0.00 against the minor, other age unknown band's review 0.899): "
        "inputs that count against it: `span_hours` -1.4 log-odds, `upward_channel_moves` "
        "-0.4 log-odds, `secure_move_speed` -0.4 log-odds"
    ),
    "g28-adult-24-abroad-16-public-to-encrypted-small-hours": (
        "no alert (risk 0.58 against the 16-17 band's review 0.821): inputs that count "
        "against it: `child_night_share` -3.9 log-odds, `span_hours` -1.5 log-odds, "
        "`adult_age` -0.5 log-odds"
    ),
    "g33-unknown-age-group-room-contact-request-off-platform-within-hour-12": (
        "no alert (risk 0.87 against the minor, other age unknown band's review 0.899): "
        "inputs that count against it: `adult_supervised_minor_share` -2.4 log-odds, "
        "`span_hours` -0.1 log-odds"
    ),
}
