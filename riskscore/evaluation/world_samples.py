"""Labelled samples of synthetic worlds, featurized once and scored by any number of
models (:class:`WorldSample`), and the same samples replayed online at every event
(:func:`online_world_traffic`): what :mod:`riskscore.evaluation.robustness` measures and
what the policy's thresholds are set on (:mod:`riskscore.policy.volume`)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskscore._checks import check_sample
from riskscore.evaluation.online_states import online_traffic
from riskscore.features import FeatureTable, extract_features
from riskscore.model import RiskModel
from riskscore.policy.volume import Traffic
from riskscore.synthetic import World, generate
from riskscore.synthetic.data import SyntheticData
from riskscore.synthetic.labels import Labels

__all__ = ["WorldSample", "online_world_traffic", "world_samples"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class WorldSample:
    """One world's labelled sample, featurized once and scored by any number of models."""

    name: str
    features: FeatureTable
    labels: Labels

    def traffic(self, risk: FloatArray) -> Traffic:
        """The sample scored by ``risk``, its benign conversations counted (what
        :func:`riskscore.policy.volume.policy_for_volume` sets thresholds on)."""
        return Traffic.of(
            self.features, risk, counted=~np.asarray(self.labels.is_grooming_true, dtype=bool)
        )


def world_data(
    worlds: Sequence[World] | Mapping[str, World],
    *,
    n_conversations: int = 20_000,
    prevalence: float = 0.01,
    seed: int = 0,
) -> Iterator[tuple[str, SyntheticData]]:
    """Each world's name and labelled data, one world at a time (world ``i`` draws from
    child ``i`` of ``SeedSequence(seed)``; a mapping names the worlds). The numbers are
    checked as :func:`evaluate_worlds` checks them, before any world is generated."""
    check_sample(n_conversations, prevalence, seed)
    n_grooming = math.floor(n_conversations * prevalence + 0.5)  # as the generator counts
    if not 1 <= n_grooming < n_conversations:
        # each world is measured on both classes; one class alone ended in scikit-learn
        raise ValueError(
            f"each world's sample needs grooming and benign conversations; "
            f"n_conversations={n_conversations} at prevalence={prevalence} gives {n_grooming} "
            "grooming. Raise n_conversations (--conversations)"
        )
    named = list(worlds.items()) if isinstance(worlds, Mapping) else [(w.name, w) for w in worlds]
    seeds = np.random.SeedSequence(seed).spawn(len(named))
    return (
        (
            name,
            generate(
                n_conversations,
                prevalence=prevalence,
                seed=int(seq.generate_state(1)[0]),
                world=world,
            ),
        )
        for (name, world), seq in zip(named, seeds, strict=True)
    )


def world_samples(
    worlds: Sequence[World] | Mapping[str, World],
    *,
    n_conversations: int = 20_000,
    prevalence: float = 0.01,
    seed: int = 0,
) -> list[WorldSample]:
    """A labelled sample of each world, featurized (the worlds of :func:`world_data`)."""
    return [
        WorldSample(name, extract_features(data.messages), data.labels)
        for name, data in world_data(
            worlds, n_conversations=n_conversations, prevalence=prevalence, seed=seed
        )
    ]


def online_world_traffic(
    model: RiskModel,
    worlds: Sequence[World] | Mapping[str, World],
    *,
    n_conversations: int = 20_000,
    prevalence: float = 0.01,
    seed: int = 0,
) -> list[Traffic]:
    """The benign conversations of each world's sample (the samples of
    :func:`world_samples` with the same arguments) at every state they pass through
    online: thresholds set on them alert the target volume online, at any event
    (:func:`riskscore.evaluation.online_states.online_traffic`)."""
    out = []
    for _, data in world_data(
        worlds, n_conversations=n_conversations, prevalence=prevalence, seed=seed
    ):
        grooming = np.asarray(data.labels.is_grooming_true, dtype=bool)
        benign_ids = np.asarray(data.labels.conversation_id)[~grooming]
        out.append(online_traffic(model, data.messages, benign_ids))
    return out
