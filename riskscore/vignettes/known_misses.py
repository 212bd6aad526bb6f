"""The public vignettes the shipped model and policy get wrong today, and how.

One list, read by ``tests/test_vignettes.py`` (each entry is a strict ``xfail``: the test
fails as soon as the vignette passes, so the list cannot go stale), by the model card and
by ``docs/vignettes.md``. Each text says what the model does and why, as measured; a
vignette is never weakened to leave this list.
"""

from __future__ import annotations

from typing import Final

__all__ = ["KNOWN_MISSES"]

#: Vignette id -> what the shipped model and default policy do with it, and why.
KNOWN_MISSES: Final[dict[str, str]] = {
    "g04-unknown-age-off-platform-within-hour": (
        "review, not urgent (risk 0.63 against the 13-15 band's urgent 0.91): an account of "
        "unknown age moving a 13-year-old off-platform looks like the teenage pairs where one"
        " age is unknown, and its first messages in a public channel count as contact where "
        "others can see (`adult_supervised_minor_share`, -0.4 log-odds)"
    ),
    "g08-gaming-public-direct-external-13": (
        "review, not urgent (risk 0.84 against the 13-15 band's urgent 0.91): the game "
        "lobby's public messages count as contact where others can see "
        "(`adult_supervised_minor_share` 0.35, -0.9 log-odds), although the adult then moved "
        "the child to private messages and off the platform; the feature is per account and "
        "does not know that this public contact led to the private one. Not counting a "
        "conversation's public or group contact once it holds private one-to-one contact "
        "(tried with the links counted in full, retrained on the same worlds) lifted it over "
        "an urgent threshold set for the same alert volume but lowered the worst unseen "
        "world's PR-AUC from 0.687 to 0.642 and missed g11 and g18"
    ),
    "g15-unknown-age-12-evenings-then-encrypted-images": (
        "no alert (risk 0.12 against the under-13 band's review 0.42): the move to the "
        "encrypted channel after a week lowers the risk (-1.2 log-odds) instead of raising "
        "it. `secure_move_speed` is left free, and in the unseen worlds a child under 16 "
        "whose older or unknown-age contact sent a request and moved them to a private "
        "channel more than three days in is benign 10 times in 11 (304 grooming against 3,058"
        " benign: teenage pairs with one age unknown, older siblings, coaches, families); "
        "constraining it to raise risk only (tried, also only for known adult-minor pairs) "
        "missed other grooming vignettes and still not this one; generating grooming whose "
        "quiet traits (no night shift, no channel move, no link) are drawn one by one instead"
        " of together (tried) raised it by 1.0 log-odds, not enough, while g11 lost 1.3; "
        "every candidate of benchmarks/robustness.py misses it, unconstrained trees included,"
        " and so do the shipped recipe's trees with 31 or 63 leaves, or trained on three "
        "times the worlds with 150 or 300 trees (tried)"
    ),
    "g16-adult-40-daily-holidays-14-then-external": (
        "no alert (risk 0.16 against the 13-15 band's review 0.59): daytime one-to-one "
        "contact with a single link at the end is the quiet grooming the metadata barely "
        "shows, and the link's move after two weeks lowers the risk (`secure_move_speed`, "
        "-1.8 log-odds, as in g15); every candidate of benchmarks/robustness.py misses it, as"
        " do more leaves, trees or training worlds (tried)"
    ),
    "g19-adult-23-public-to-external-within-two-hours-14": (
        "no alert (risk 0.19 against the 13-15 band's review 0.59): the move off the platform"
        " after two hours counts for +1.4 log-odds where g04's move within the hour counts "
        "for +4.0, because fast grooming in the training worlds moves within its first hour; "
        "with no contact request, no night-time contact and no images nothing else carries "
        "it, and its public start counts as contact where others can see (-0.2). Drawing fast"
        " grooming's move window per world (15 minutes to 8 hours) and retraining (tried with"
        " the recipe's trees, links counted in full) did not make it pass at the same alert "
        "volume, nor did more leaves, trees or training worlds (tried). A policy rule sending"
        " to urgent every known adult who met a known child under 16 on a public or group "
        "channel and moved them to disappearing or encrypted messages or off the platform "
        "within 2 hours (tried on benchmarks/robustness.py's worlds) passes g08 and g19 (by "
        "one minute) but alerts 200 or more benign conversations per million in 11 of the 30 "
        "unseen worlds (worst 404) and 455 in the siblings-at-night stress world (adult "
        "siblings of 18 to 25), for 0.5 % more urgent recall in the median world (with the "
        "links counted in full); within 6 or 24 hours, or for accounts of unknown age (which "
        "passes g04), it alerts thousands per million (teenage pairs)"
    ),
    "g20-family-group-to-private-evenings-11": (
        "no alert (risk 0.02 against the under-13 band's review 0.42): an adult moving an "
        "11-year-old from a family group into evening private contact it leads shows only as "
        "unanswered messages (+1.6 log-odds), the child's age (+1.4) and a few images (+0.9);"
        " with no contact request, no contact after 22:00 and no channel beyond direct "
        "messages, nothing else carries it, and the 30-year age gap counts +0.4"
    ),
    "g22-unknown-age-public-space-many-12-14": (
        "no alert on any of the ten (risk 0.04 to 0.07 against review 0.42 under 13 and 0.59 "
        "at 13-15): each conversation is scored as one mild approach (contact request +1.9 "
        "log-odds, the child's age +1.6, unanswered messages +1.1 to +1.8). That the same "
        "account reached ten children is not a model input: the number of minors an adult "
        "contacts is left out because coaches and teachers contact many (docs/features.md), "
        "and the share of its contacts who are minors, 1.0, counts +0.4; none of the ten "
        "moved to a channel beyond direct messages, which adult_private_minor_fanout would "
        "count; counting it per account (minors it sent a contact request to, or drew into "
        "one-to-one contact it began, at least 3, 5 or 10; tried on "
        "benchmarks/robustness.py's worlds) flags 2,900 to 58,000 benign conversations per "
        "million in the median world (coaches who add their pupils and move some to direct "
        "messages) for at most 3 % more recall"
    ),
    "g27-unknown-age-gifts-9-after-school-external-day-three": (
        "no alert (risk 0.005 against the under-13 band's review 0.42): the move to another "
        "app on the third afternoon lowers the risk (`secure_move_speed` 0.12, -2.2 log-odds) "
        "more than the link (+1.3), the external channel (+1.2) and the account's images "
        "(+0.8) raise it; with no contact request logged by the platform and no contact at "
        "night, nothing else carries it. As in g15, g28 and g29, a move to a private channel "
        "that is not fast counts against the alert (written blind, stop 36)"
    ),
    "g28-adult-24-abroad-16-public-to-encrypted-small-hours": (
        "no alert (risk 0.31 against the 16-17 band's review 0.74): contact at night in the "
        "child's local time counts against it (`child_night_share` 0.65, -2.2 log-odds: in "
        "the training worlds teenagers chat at night), and so does the move to the encrypted "
        "channel three weeks in (`secure_move_speed`, -1.4), beside private contact at night "
        "(+3.6) and the contact request (+1.9) (written blind, stop 36)"
    ),
    "g29-adult-47-school-nights-10-messages-only-platform": (
        "no alert (risk 0.37 against the under-13 band's review 0.42; a review alert under the "
        "thresholds set on final states before stop 49, review 0.31): contact at night "
        "counts against it (`child_night_share` 0.63, -1.3 log-odds), and so does the "
        "move to the encrypted channel after 17 days (`secure_move_speed`, -0.9), beside "
        "private contact at night (+3.5), unanswered messages (+2.1) and the shift into the "
        "night (+1.7); the platform logs no contact requests or media (written blind, stop 36)"
    ),
}
