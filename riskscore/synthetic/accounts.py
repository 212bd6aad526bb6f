"""Accounts of a synthetic platform: pools by kind, ages, time zones, and the two
accounts of every conversation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskscore.synthetic.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Accounts:
    """All accounts, plus the older (A) and younger (B) account of each conversation."""

    ids: IntArray
    true_age: FloatArray
    declared_age: FloatArray  # NaN where unknown
    tz_offset_min: IntArray
    a: IntArray  # account index, per conversation
    b: IntArray


def _age_from_weights(weights: FloatArray, size: int, rng: np.random.Generator) -> FloatArray:
    """Continuous ages in [2, 18) whose whole years follow ``weights`` (ages 2..17)."""
    years = rng.choice(len(weights), size=size, p=weights / weights.sum()) + 2
    return years + rng.random(size)


def _nearest(sorted_values: FloatArray, targets: FloatArray) -> IntArray:
    """Index of the value nearest to each target in a sorted, non-empty array."""
    if len(sorted_values) == 1:
        return np.zeros(len(targets), dtype=np.int64)
    right = np.clip(np.searchsorted(sorted_values, targets), 1, len(sorted_values) - 1)
    left = right - 1
    take_right = np.abs(sorted_values[right] - targets) < np.abs(sorted_values[left] - targets)
    return np.where(take_right, right, left).astype(np.int64)


def _pool_from_demand(
    targets: FloatArray,
    reuse: float,
    rng: np.random.Generator,
    min_size: int = 1,
    size: int | None = None,
) -> tuple[FloatArray, IntArray]:
    """Accounts (sorted ages) for slots that want the given ages, each used ~``reuse`` times.

    The pool's ages are a random subset of the wanted ages, so the pool mirrors the
    demand; every slot then takes the account nearest its wanted age. ``size``, when
    given, fixes the number of accounts instead.
    """
    n = len(targets)
    if n == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    size = min(n, max(min_size, math.ceil(n / reuse) if size is None else size))
    pool = np.sort(targets[rng.choice(n, size=size, replace=False)])
    return pool, _nearest(pool, targets)


def _other_than(index: IntArray, other: IntArray, pool_size: int) -> IntArray:
    """``index``, moved to a neighbour where it equals ``other`` (pool_size >= 2)."""
    neighbour = np.where(other + 1 < pool_size, other + 1, other - 1)
    return np.where(index == other, neighbour, index).astype(np.int64)


def _groomer_campaigns(
    n_grooming: int, world: World, rng: np.random.Generator
) -> tuple[IntArray, int]:
    """Groomer of each grooming conversation: campaigns of 1 to ``max_fanout`` targets."""
    if n_grooming == 0:
        return np.empty(0, dtype=np.int64), 0
    # no campaign longer than the conversations to share out: the running total stays small
    most = min(world.max_fanout, n_grooming)
    fanout = np.minimum(rng.geometric(world.fanout_geometric_p, size=n_grooming), most)
    ends = np.cumsum(fanout)
    n_groomers = int(np.searchsorted(ends, n_grooming)) + 1
    fanout = fanout[:n_groomers]
    fanout[-1] -= ends[n_groomers - 1] - n_grooming  # the last campaign is cut to fit
    return rng.permutation(np.repeat(np.arange(n_groomers), fanout)).astype(np.int64), n_groomers


def _heavy_tailed_pick(n_pool: int, size: int, sigma: float, rng: np.random.Generator) -> IntArray:
    """``size`` picks from ``n_pool`` accounts with lognormal activity weights."""
    if size == 0:
        return np.empty(0, dtype=np.int64)
    weight = rng.lognormal(0.0, sigma, size=n_pool)
    return rng.choice(n_pool, size=size, p=weight / weight.sum()).astype(np.int64)


def _split(values: IntArray, sizes: list[int]) -> list[IntArray]:
    return np.split(values, np.cumsum(sizes)[:-1])


def _adult_ages_wanted(
    child_age: FloatArray, n_sib: int, n_rom: int, n_day: int, rng: np.random.Generator
) -> FloatArray:
    """The age wanted of each ordinary adult slot: parents (of the family children, aged
    ``child_age``), older siblings, both sides of romances and of everyday contacts.

    Wanted ages are spread out, never clamped to a bound: a point mass of wanted ages
    would pile those conversations onto the one account nearest to it."""
    n_family = len(child_age)
    parent_gap = np.where(
        rng.random(n_family) < 0.75, rng.uniform(20, 45, n_family), rng.uniform(45, 70, n_family)
    )
    parent_wanted = np.minimum(child_age + parent_gap, 95.0)
    sibling_wanted = rng.uniform(18.0, 26.0, n_sib)
    romance_a_wanted = 18.0 + np.minimum(rng.gamma(2.0, 6.0, size=n_rom), 52.0)
    romance_b_wanted = 18.0 + (romance_a_wanted - 18.0) * rng.uniform(0.6, 1.0, n_rom)
    daytime_wanted = np.minimum(18.0 + rng.gamma(2.0, 11.0, size=2 * n_day), 95.0)
    return np.concatenate(
        [parent_wanted, sibling_wanted, romance_a_wanted, romance_b_wanted, daytime_wanted]
    )


def _teen_cohorts(n_teen: int, world: World, rng: np.random.Generator) -> tuple[FloatArray, int]:
    """Ages of the teen accounts, ``world.teen_cohort_size`` a cohort, and the number of
    cohorts: a cohort's ages span under ``teen_age_spread`` years, all under 18 (pairs of
    teen peers stay in a cohort)."""
    size = world.teen_cohort_size
    n_cohorts = math.ceil(2 * n_teen / (size * world.teen_reuse)) if n_teen else 0
    top_base = math.floor(18.0 - world.teen_age_spread) + 1
    cohort_base = rng.integers(12, max(top_base, 13), size=n_cohorts).astype(np.float64)
    teen_age = np.repeat(cohort_base, size) + rng.uniform(
        0.0, world.teen_age_spread, size=n_cohorts * size
    )
    return np.minimum(teen_age, 17.999), n_cohorts


def _declared_ages(
    true_age: FloatArray, groomers: slice, world: World, rng: np.random.Generator
) -> FloatArray:
    """The age each account declares: its whole years, a teen age for the groomers who
    claim one, or unknown (NaN) at the rate of its kind (adults, groomers, then minors
    and teens, who follow the groomers)."""
    n_accounts = len(true_age)
    declared = np.floor(true_age)
    teen_claim = np.zeros(n_accounts, dtype=bool)
    n_groomers = groomers.stop - groomers.start
    teen_claim[groomers] = rng.random(n_groomers) < world.groomer_declares_teen
    declared = np.where(teen_claim, rng.integers(15, 20, size=n_accounts), declared)
    # Unknown ages: one draw per account against the rate of its kind.
    unknown_rate = np.full(n_accounts, world.adult_unknown_age_rate)
    unknown_rate[groomers] = world.groomer_unknown_age_rate
    unknown_rate[groomers.stop :] = world.minor_unknown_age_rate
    declared[rng.random(n_accounts) < unknown_rate] = np.nan
    return declared


def assign_accounts(
    scenario: IntArray,
    world: World,
    n_adults: int | None,
    account_offset: int,
    rng: np.random.Generator,
) -> Accounts:
    """Draw the account pools and pick the two accounts of every conversation.

    Pools: ordinary adults (ordinary contacts, romance, parents, older siblings),
    teachers/coaches, groomers, minors (family children, younger siblings, pupils,
    grooming targets) and teenage cohorts (teen peers). Accounts take part in several
    conversations; teachers and groomers also have ordinary adult contacts.
    """
    # The pools are drawn in this order from ``rng``: the same seed, the same accounts.
    idx = {s.name: np.flatnonzero(scenario == code) for code, s in enumerate(world.scenarios)}
    grooming = np.concatenate([idx[s.name] for s in world.scenarios if s.is_grooming])
    special = _special_pools(len(grooming), len(idx["teacher_coach"]), world, rng)
    minors = _minor_pool(idx, len(grooming), world, rng)
    adults = _adult_pool(idx, minors.family_ages, n_adults, world, rng)
    teen_age, n_cohorts = _teen_cohorts(len(idx["teen_peers"]), world, rng)

    spammer_of, spammer_age = _spam_accounts(len(idx["spam_sweep"]), world, rng)

    # One table of all accounts: adults, teachers, spam accounts, groomers, minors, teens.
    true_age = np.concatenate(
        [adults.ages, special.teacher_age, spammer_age, special.groomer_age, minors.ages, teen_age]
    )
    base_teacher = len(adults.ages)
    base_spammer = base_teacher + len(special.teacher_age)
    base_groomer = base_spammer + len(spammer_age)
    base_minor = base_groomer + len(special.groomer_age)
    base_teen = base_minor + len(minors.ages)

    n = len(scenario)
    a = np.zeros(n, dtype=np.int64)
    b = np.zeros(n, dtype=np.int64)
    for name, older, younger in (
        ("family", adults.parent, base_minor + minors.family_child),
        ("older_sibling", adults.sibling, base_minor + minors.sibling_child),
        ("teacher_coach", base_teacher + special.teacher_of, base_minor + minors.pupil),
    ):
        a[idx[name]], b[idx[name]] = older, younger
    a[grooming], b[grooming] = base_groomer + special.groomer_of, base_minor + minors.target
    a[idx["adult_romance"]] = adults.romance_a
    b[idx["adult_romance"]] = _other_than(adults.romance_b, adults.romance_a, base_teacher)
    # teachers and groomers, the special accounts, sit between the adults and the minors
    a[idx["adult_daytime"]], b[idx["adult_daytime"]] = _daytime_pairs(
        adults.daytime, base_teacher, base_minor - base_teacher, world, rng
    )
    a[idx["teen_peers"]], b[idx["teen_peers"]] = _teen_pairs(
        len(idx["teen_peers"]), base_teen, n_cohorts, world.teen_cohort_size, rng
    )

    spam = idx["spam_sweep"]
    if len(spam):
        a[spam] = base_spammer + spammer_of
        b[spam] = _spam_targets(len(spam), base_teacher, (base_minor, len(true_age)), rng)

    # A is the older account; a spam account stays A whatever the age of whom it reaches.
    swap = true_age[a] < true_age[b]
    swap[spam] = False
    a, b = np.where(swap, b, a), np.where(swap, a, b)

    n_accounts = len(true_age)
    declared = _declared_ages(true_age, slice(base_groomer, base_minor), world, rng)
    tz_offsets = np.array(list(world.tz_mix), dtype=np.int64)
    tz_weights = np.array(list(world.tz_mix.values()))
    tz = tz_offsets[rng.choice(len(tz_offsets), size=n_accounts, p=tz_weights)]
    ids = 1_000_000 + account_offset + rng.permutation(n_accounts).astype(np.int64)
    return Accounts(
        ids=ids,
        true_age=true_age,
        declared_age=declared.astype(np.float64),
        tz_offset_min=tz.astype(np.int64),
        a=a,
        b=b,
    )


def _spam_accounts(
    n_spam: int, world: World, rng: np.random.Generator
) -> tuple[IntArray, FloatArray]:
    """Spam account of each spam conversation (about ``spam_targets_per_account`` each,
    heavy-tailed) and the spam accounts' ages; nothing is drawn without spam."""
    if n_spam == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    n_spammers = max(1, round(n_spam / world.spam_targets_per_account))
    age = np.clip(18.0 + rng.gamma(2.0, 7.0, size=n_spammers), 18.0, 70.0)
    return _heavy_tailed_pick(n_spammers, n_spam, 0.8, rng), age


def _spam_targets(
    n_spam: int, n_adults: int, minors_and_teens: tuple[int, int], rng: np.random.Generator
) -> IntArray:
    """Whom each spam conversation reaches: any ordinary adult, minor or teen alike (a
    sweep does not choose children), never a teacher, spam account or groomer."""
    low, high = minors_and_teens
    if n_spam and n_adults + high - low == 0:
        raise ValueError(
            f"{n_spam} spam sweep conversation(s) have no account to reach: a sweep reaches "
            "the accounts of the other benign conversations drawn with it, and there are "
            "none (benign_mix all spam_sweep, or a chunk of too few conversations): give "
            "other scenarios a share, or more conversations a chunk"
        )
    pick = rng.integers(0, n_adults + high - low, size=n_spam)
    return np.where(pick < n_adults, pick, pick - n_adults + low).astype(np.int64)


@dataclass(frozen=True, slots=True)
class _SpecialPools:
    """Groomers and teachers: each conversation's account in its pool, and their ages."""

    groomer_of: IntArray
    groomer_age: FloatArray
    teacher_of: IntArray
    teacher_age: FloatArray


def _special_pools(
    n_grooming: int, n_teach: int, world: World, rng: np.random.Generator
) -> _SpecialPools:
    groomer_of, n_groomers = _groomer_campaigns(n_grooming, world, rng)
    groomer_age = np.clip(18.0 + rng.gamma(3.0, 5.0, size=n_groomers), 18.0, 65.0)
    n_teachers = max(1, round(n_teach / world.pupils_per_teacher)) if n_teach else 0
    teacher_of = _heavy_tailed_pick(n_teachers, n_teach, 0.8, rng)
    teacher_age = np.clip(23.0 + rng.gamma(3.0, 6.0, size=n_teachers), 23.0, 67.0)
    return _SpecialPools(groomer_of, groomer_age, teacher_of, teacher_age)


@dataclass(frozen=True, slots=True)
class _MinorPool:
    """Minors, shared by family, sibling, teacher and grooming conversations by age: their
    ages, each conversation's minor in the pool, and the family children's wanted ages."""

    ages: FloatArray
    family_child: IntArray
    sibling_child: IntArray
    pupil: IntArray
    target: IntArray
    family_ages: FloatArray


def _minor_pool(
    idx: dict[str, IntArray], n_grooming: int, world: World, rng: np.random.Generator
) -> _MinorPool:
    n_family, n_sib, n_teach = (len(idx[k]) for k in ("family", "older_sibling", "teacher_coach"))
    child_targets = np.concatenate(
        [
            _age_from_weights(np.asarray(world.child_age_weights), n_family, rng),
            _age_from_weights(np.asarray(world.sibling_age_weights), n_sib, rng),
            _age_from_weights(np.asarray(world.pupil_age_weights), n_teach, rng),
            _age_from_weights(np.asarray(world.target_age_weights), n_grooming, rng),
        ]
    )
    minor_age, child_of = _pool_from_demand(child_targets, world.minor_reuse, rng)
    family_child, sibling_child, pupil, target = _split(
        child_of, [n_family, n_sib, n_teach, n_grooming]
    )
    return _MinorPool(
        minor_age, family_child, sibling_child, pupil, target, child_targets[:n_family]
    )


@dataclass(frozen=True, slots=True)
class _AdultPool:
    """Ordinary adults: their ages and each conversation's adult(s) in the pool."""

    ages: FloatArray
    parent: IntArray
    sibling: IntArray
    romance_a: IntArray
    romance_b: IntArray
    daytime: IntArray


def _adult_pool(
    idx: dict[str, IntArray],
    family_ages: FloatArray,
    n_adults: int | None,
    world: World,
    rng: np.random.Generator,
) -> _AdultPool:
    """The pool's ages mirror what is asked of it; ordinary contacts pick adults by
    activity (heavy-tailed), not by age."""
    n_family, n_sib = len(idx["family"]), len(idx["older_sibling"])
    n_rom, n_day = len(idx["adult_romance"]), len(idx["adult_daytime"])
    adult_wanted = _adult_ages_wanted(family_ages, n_sib, n_rom, n_day, rng)
    if n_adults is not None and not 2 <= n_adults <= max(len(adult_wanted), 2):
        raise ValueError(
            f"n_adults must be at most the number of ordinary adult slots "
            f"({len(adult_wanted)} here: one per parent, sibling and everyday conversation, "
            f"two per romance and everyday conversation), got {n_adults}"
        )
    adult_age, adult_of = _pool_from_demand(
        adult_wanted, world.adult_reuse, rng, min_size=2, size=n_adults
    )
    parent, sibling, romance_a, romance_b, _ = _split(
        adult_of, [n_family, n_sib, n_rom, n_rom, 2 * n_day]
    )
    daytime = _heavy_tailed_pick(len(adult_age), 2 * n_day, 1.0, rng)
    return _AdultPool(adult_age, parent, sibling, romance_a, romance_b, daytime)


def _daytime_pairs(
    daytime: IntArray, n_adults: int, n_special: int, world: World, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """The two accounts of each everyday adult conversation: teachers and groomers (the
    ``n_special`` accounts after the ``n_adults`` ordinary ones) have some too."""
    n_day = len(daytime) // 2
    day_a, day_b = daytime[:n_day], _other_than(daytime[n_day:], daytime[:n_day], n_adults)
    if n_day and n_special:
        special = rng.random(n_day) < min(
            0.3, world.special_adult_conversations * n_special / n_day
        )
        day_a = np.where(special, n_adults + rng.integers(0, n_special, size=n_day), day_a)
    return day_a, day_b


def _teen_pairs(
    n_teen: int, base_teen: int, n_cohorts: int, size: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Two different members of one teenage cohort per conversation."""
    cohort = base_teen + size * rng.integers(0, max(n_cohorts, 1), size=n_teen)
    first = rng.integers(0, size, size=n_teen)
    second = (first + rng.integers(1, size, size=n_teen)) % size
    return cohort + first, cohort + second
