"""Seeded synthetic conversations with ground-truth grooming labels (metadata only).

:func:`generate` draws a platform of accounts and two-party conversations from a
mixture of scenarios: grooming (fast, slow-burn and refused approaches) and benign
look-alikes (family, teacher or coach, adult romance, teenage peers, ordinary adult
contact), each of which resembles grooming in some signal. No real data and no
message text are used or produced.

A :class:`World` holds every parameter of the generator: the default world is data
(``default_world.toml``); :func:`draw_world` draws other worlds from the documented
ranges of the nuisance parameters (:data:`NUISANCES`), and :data:`STRESS_WORLDS`
pushes each benign look-alike to its extreme and each grooming variant to its
quietest, so that a model can be tested on worlds it was not trained on. The
generative model and the definition of ``onset_index`` are in ``docs/synthetic.md``.

Everything is vectorized numpy driven by ``np.random.default_rng`` from a seed: the
same seed and world give identical arrays and byte-identical Parquet files.
"""

from riskscore.synthetic.data import SyntheticData
from riskscore.synthetic.generator import DEFAULT_START, generate, generate_parquet
from riskscore.synthetic.labels import AdultLabels, Labels, labels_from_arrow
from riskscore.synthetic.nuisance import NUISANCES, Nuisance, draw_world
from riskscore.synthetic.stress import STRESS_WORLDS
from riskscore.synthetic.world import Platform, ScenarioProfile, World

__all__ = [
    "BENIGN_MIX",
    "DEFAULT_START",
    "GROOMING_MIX",
    "NUISANCES",
    "SCENARIOS",
    "STRESS_WORLDS",
    "AdultLabels",
    "Labels",
    "Nuisance",
    "Platform",
    "ScenarioProfile",
    "SyntheticData",
    "World",
    "draw_world",
    "generate",
    "generate_parquet",
    "labels_from_arrow",
]

#: Scenario names, in code order.
SCENARIOS = tuple(s.name for s in World.default().scenarios)
#: Default shares of the grooming variants among grooming conversations.
GROOMING_MIX = dict(World.default().grooming_mix)
#: Default shares of the benign scenarios among benign conversations.
BENIGN_MIX = dict(World.default().benign_mix)
