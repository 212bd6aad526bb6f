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
#: model of trees with up to 63 leaves (December 2026: g18 passes since, b20 is alerted
#: since; docs/evaluation.md says what the deeper trees gained and lost), under the policy
#: of format 3 (g04, g06, g15, g22, g27 and g33, a known child with an account of unknown
#: age, are measured against the ``unknown_adult`` band).
KNOWN_MISSES: Final[dict[str, str]] = {
    "b20-babysitter-20-logistics-10-daytime": (
        "review alert (risk 0.548 against the under-13 band's review 0.514): strongest inputs "
        "for it: `adult_sent_request` +2.1 log-odds, `age_gap` +1.9 log-odds, `child_age` "
        "+1.6 log-odds"
    ),
    "b23-father-abroad-weekly-video-links-13": (
        "review alert (risk 0.847 against the 13-15 band's review 0.679): strongest inputs "
        "for it: `secure_move_speed` +3.6 log-odds, `child_age` +2.0 log-odds, "
        "`adult_minor_contact_share` +1.5 log-odds"
    ),
    "g04-unknown-age-off-platform-within-hour": (
        "no alert (risk 0.78 against the minor, other age unknown band's review 0.889): "
        "inputs that count against it: `adult_supervised_minor_share` -1.4 log-odds"
    ),
    "g06-no-declared-age-target-15": (
        "no alert (risk 0.66 against the minor, other age unknown band's review 0.889): "
        "inputs that count against it: `child_night_share` -4.6 log-odds, `secure_move_speed` "
        "-1.3 log-odds, `upward_channel_moves` -0.5 log-odds"
    ),
    "g11-persistent-adult-unanswered-14": (
        "no alert (risk 0.63 against the 13-15 band's review 0.679): inputs that count "
        "against it: `child_night_share` -1.1 log-odds, `adult_age` -0.2 log-odds"
    ),
    "g15-unknown-age-12-evenings-then-encrypted-images": (
        "no alert (risk 0.07 against the minor, other age unknown band's review 0.889): "
        "inputs that count against it: `secure_move_speed` -1.1 log-odds, "
        "`upward_channel_moves` -0.7 log-odds"
    ),
    "g16-adult-40-daily-holidays-14-then-external": (
        "no alert (risk 0.17 against the 13-15 band's review 0.679): inputs that count "
        "against it: `secure_move_speed` -0.6 log-odds, `adult_age` -0.4 log-odds, "
        "`upward_channel_moves` -0.2 log-odds"
    ),
    "g19-adult-23-public-to-external-within-two-hours-14": (
        "no alert (risk 0.57 against the 13-15 band's review 0.679): inputs that count "
        "against it: `adult_supervised_minor_share` -0.9 log-odds, `upward_channel_moves` "
        "-0.1 log-odds"
    ),
    "g20-family-group-to-private-evenings-11": (
        "no alert (risk 0.02 against the under-13 band's review 0.514): inputs that count "
        "against it: `adult_age` -0.6 log-odds, `child_night_share` -0.5 log-odds, "
        "`upward_channel_moves` -0.2 log-odds"
    ),
    "g22-unknown-age-public-space-many-12-14": (
        "no alert (risk 0.08 against the minor, other age unknown band's review 0.889) (10 of "
        "its conversations; the first shown): inputs that count against it: "
        "`upward_channel_moves` -0.2 log-odds, `adult_supervised_minor_share` -0.2 log-odds"
    ),
    "g27-unknown-age-gifts-9-after-school-external-day-three": (
        "no alert (risk 0.00 against the minor, other age unknown band's review 0.889): "
        "inputs that count against it: `secure_move_speed` -1.6 log-odds, "
        "`upward_channel_moves` -0.8 log-odds"
    ),
    "g28-adult-24-abroad-16-public-to-encrypted-small-hours": (
        "no alert (risk 0.65 against the 16-17 band's review 0.809): inputs that count "
        "against it: `child_night_share` -4.1 log-odds, `upward_channel_moves` -0.8 log-odds, "
        "`adult_age` -0.5 log-odds"
    ),
    "g33-unknown-age-group-room-contact-request-off-platform-within-hour-12": (
        "no alert (risk 0.87 against the minor, other age unknown band's review 0.889): "
        "inputs that count against it: `adult_supervised_minor_share` -2.3 log-odds, "
        "`upward_channel_moves` -0.2 log-odds"
    ),
}
