"""``MODEL_CARD.md``: intended use, model, training worlds, robustness, limitations."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from riskscore.features.registry import FEATURE_SPECS
from riskscore.io.markdown import markdown_code, markdown_line, markdown_row
from riskscore.vignettes.known_misses import KNOWN_MISSES

__all__ = ["CONFIRMATION_COMMAND", "render_model_card"]

#: How the confirmation worlds are measured (``benchmarks/results/robustness_confirmation.*``).
CONFIRMATION_COMMAND: Final = "riskscore evaluate --worlds 30 --first-world 30 --seed 1"
#: The project's robustness targets: PR-AUC at 1 % prevalence over unseen worlds.
_TARGET_MEDIAN_PR_AUC: Final = 0.85
_TARGET_WORST_PR_AUC: Final = 0.6
#: The candidate the shipped bundle is (its row in the comparison table).
_SHIPPED_CANDIDATE: Final = "monotone_boosted_trees"

_SYNTHETIC_CAUTION: Final = """\
- The model was trained on synthetic data only. Its metrics describe how well it recovers
  the patterns of synthetic worlds, not its accuracy on a real platform. Measure it on the
  platform's own reviewed cases before relying on any threshold."""
_LABELLED_CAUTION: Final = """\
- The model learned what its labelled training conversations hold, labels included: its
  metrics describe held-out conversations of the same data. Measure it on cases reviewed
  after training before relying on any threshold."""

CAUTIONS = """\
## Ethical cautions

- A risk score is a reason for a trained human to look, never an automatic verdict about
  a person. Do not suspend, report or otherwise act against an account on the score alone.
{data_caution}
- It reads metadata only (ages, timing, channels, who contacts whom, blocks and reports),
  never message content. Benign relationships across an age gap (family, teachers, coaches)
  share many of these signals: expect false alerts and review them with care.
- Declared ages can be wrong, and a groomer can declare a teenage age. Unknown ages are
  handled explicitly, but the model is weaker where ages are unknown. In the synthetic
  worlds more groomers than benign accounts leave their age undeclared, so the model reads
  an unknown older age as a sign of risk; the default policy does not rely on that: a known
  minor with an account of unknown age has thresholds of its own (`[unknown_adult]` in
  `policies/default.toml`), set to alert as many of those benign conversations per million
  as the whole policy does (`docs/policy.md`).
"""


def _lowering(inputs: list[str]) -> list[str]:
    """The inputs a constrained model lets only lower risk (registry direction -1)."""
    return [
        name for name in inputs if name in FEATURE_SPECS and FEATURE_SPECS[name].direction == -1
    ]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"
    return "n/a" if value is None else str(value)


def _count(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):,.0f}"


def _online_volume(volume: Mapping[str, float] | None) -> list[str]:
    """What the thresholds were set on: alerts counted online, at any event."""
    if not volume:
        return []
    return [
        "",
        "The thresholds are set on the alerts an online scorer raises (a conversation counted "
        "once, the first time it reaches a tier at any event): in the median unseen world "
        f"{_count(volume['online_review_per_million_median'])} review and "
        f"{_count(volume['online_urgent_per_million_median'])} urgent alerts per million "
        "benign conversations online (busiest world "
        f"{_count(volume['online_review_per_million_max'])} and "
        f"{_count(volume['online_urgent_per_million_max'])}), against "
        f"{_count(volume['final_state_review_per_million_median'])} and "
        f"{_count(volume['final_state_urgent_per_million_median'])} with each conversation "
        "scored once, as above.",
    ]


def _names(ids: list[str]) -> str:
    return ", ".join(f"`{i.split('-')[0]}`" for i in ids) or "none"


def _candidate(result: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The comparison table's row of candidate ``name``, or None."""
    return next((row for row in result.get("candidates", []) if row["name"] == name), None)


def _constraint_cost(result: Mapping[str, Any]) -> str:
    """What constraining every input cost, from the comparison table's own rows."""
    full = _candidate(result, "fully_monotone_boosted_trees")
    shipped = _candidate(result, _SHIPPED_CANDIDATE)
    if not full or not shipped:
        return ""
    return (
        " (worst world "
        f"{full['unseen_worst_pr_auc']:.3f} against {shipped['unseen_worst_pr_auc']:.3f}, "
        f"median {full['unseen_median_pr_auc']:.3f} against "
        f"{shipped['unseen_median_pr_auc']:.3f})"
    )


def _confirmation(result: Mapping[str, Any] | None) -> list[str]:
    """The limitation the confirmation worlds (used for no choice) show, from their results."""
    drawn = [w for w in (result or {}).get("worlds", []) if w["world"].startswith("drawn-")]
    if not drawn:
        return []
    pr_auc = np.array([w["pr_auc"] for w in drawn], dtype=float)
    worst = drawn[int(np.nanargmin(pr_auc))]["world"]
    return [
        f"- Worlds differ more than models: on {len(drawn)} further drawn worlds used for no",
        f"  choice (`{CONFIRMATION_COMMAND}`) the",
        f"  shipped model's PR-AUC has a median of {np.nanmedian(pr_auc):.2f} and a worst of "
        f"{np.nanmin(pr_auc):.2f} ({worst}; results in",
        "  `benchmarks/results/robustness_confirmation.md`). The worst worlds are those where",
        "  slow grooming dominates and many ages are unknown: an account of unknown age",
        "  talking to a teenager at night on a private channel is most often another",
        "  teenager.",
    ]


def _caps(caps: Mapping[str, float]) -> str:
    """The sentence on inputs read up to a cap (none for a model trained without)."""
    if not caps:
        return ""
    read = ", ".join(f"{markdown_code(name)} up to {value:g}" for name, value in caps.items())
    return (
        f" Counts that repeat one signal are read up to a cap ({read}): the first link to "
        "another app marks a move off the platform, and a weekly call link repeats it without "
        "adding risk."
    )


def _fast_romance(result: Mapping[str, Any] | None) -> str:
    """The ``fast_adult_romance`` stress world, by its measured figures when there are some."""
    stress = {w["world"]: w for w in (result or {}).get("stress", {}).get("worlds", [])}
    world = stress.get("fast_adult_romance")
    if world is None:
        return "the `fast_adult_romance` stress world"
    share = world["lookalike_alerted"]["unknown_ages"]
    most = share >= max(w["lookalike_alerted"]["unknown_ages"] for w in stress.values())
    return (
        f"`fast_adult_romance`: {_count(world['alerts_per_million']['review'])} benign alerts "
        f"per million, {share * 100:.1f} % of its benign conversations with an unknown age alerted"
        + (", the most of any stress world" if most else "")
    )


#: What data from generators written independently of ours measured (the shipped model;
#: figures and how in ``docs/evaluation.md``).
_INDEPENDENT: Final = [
    "- On data from six generators written independently of `riskscore.synthetic` (two",
    "  seeds of 20,000 conversations at 1 % each), PR-AUC was 0.035 to 0.13 on four of",
    "  them, 0.14 to 0.23 and 0.33 to 0.45 on the other two: the signals that separate",
    "  grooming in our worlds are much weaker there, and adults with many young contacts",
    "  (tutors, coaches, youth workers, families, spam accounts) made most false alerts (3",
    "  to 19 % of family and coach conversations alerted; 9 to 26 benign alerts per 1,000",
    "  conversations). The generators disagree with each other too: trees trained on one",
    "  and scored on another reach 0.07 to 0.20. Of 27 grooming conversations written blind",
    "  by a moderator, 23 alerted; none of 29 benign look-alikes, 1 of 3,000 background",
    '  conversations (`docs/evaluation.md`, "On data from independent generators").',
    "  Measure the model on your own labelled traffic before relying on it.",
]


def _known_misses() -> list[str]:
    """The public vignettes the shipped model gets wrong (one list: ``KNOWN_MISSES``)."""
    if not KNOWN_MISSES:
        return ["- Every public vignette gets the moderator's outcome (`docs/vignettes.md`)."]
    return [
        "- Known misses among the public vignettes (`riskscore/vignettes/known_misses.py`,",
        "  a strict expected failure in `tests/test_vignettes.py`):",
        *(f"  - `{vid}`: {text}." for vid, text in KNOWN_MISSES.items()),
    ]


def _vignettes_measured(result: Mapping[str, Any]) -> str:
    """Which vignettes the candidates' columns cover: those of the benchmark's run (later
    ones are judged for the shipped model only, in ``tests/test_vignettes.py``)."""
    measured = {
        len(c["vignettes_at_review_volume"]["measured"])
        for c in result["candidates"]
        if "measured" in c.get("vignettes_at_review_volume", {})
    }
    if len(measured) == 1:
        return f"the {measured.pop()} of the benchmark's run"
    return (
        "those public when the benchmark ran; later ones are judged for the shipped model "
        "only, in the known misses below"
    )


def _robustness(result: Mapping[str, Any]) -> list[str]:
    """The robustness section: how the candidates compared, and the shipped model's
    figures on the unseen, stress and rare worlds."""
    return [*_candidate_lines(result), *_shipped_lines(result)]


def _candidate_lines(result: Mapping[str, Any]) -> list[str]:
    """Every candidate's worst-world and vignette results, and why the shipped one was
    chosen."""
    lines = [
        "## Robustness: chosen by its worst world",
        "",
        f"Measured by `{result.get('command', 'benchmarks/robustness.py')}` "
        "(`benchmarks/results/robustness.md` has every world). Every candidate was trained on "
        "the same worlds and measured on "
        f"{result['samples']['unseen_worlds']} worlds drawn with seeds it never saw "
        f"({result['samples']['conversations_per_world']:,} conversations each at 1 % "
        "prevalence) and on the named stress worlds. The default is the eligible candidate "
        "with the best worst-world PR-AUC.",
        "",
        "| candidate | eligible | median PR-AUC | worst PR-AUC (world) | grooming vignettes "
        "missed | benign vignettes alerted |",
        "|---|---|---|---|---|---|",
    ]
    for c in result["candidates"]:
        eligible = "yes" if c["eligible"] else f"no: {c['why_not']}"
        vignettes = c.get("vignettes_at_review_volume", {})
        lines.append(
            markdown_row(
                [
                    c["name"],
                    eligible,
                    _fmt(c["unseen_median_pr_auc"]),
                    f"{_fmt(c['unseen_worst_pr_auc'])} ({c['unseen_worst_world']})",
                    _names(vignettes.get("grooming_missed", [])),
                    _names(vignettes.get("benign_alerted", [])),
                ]
            )
        )
    lines += [
        "",
        "Vignette columns: hand-written conversations (`docs/vignettes.md`, written without "
        f"the generator; {_vignettes_measured(result)}), each candidate's threshold set "
        f"where about {result['policy_targets']['review_per_million']:,.0f} benign "
        "conversations per million of the unseen worlds (pooled) alert.",
        "",
        "Unconstrained trees rank best on these worlds, which come from the same generator "
        "as the training worlds. They are not eligible: nothing stops them from learning "
        "that generator's shape (a conversation's length, the number of minors a busy adult "
        "contacts) and turning a risk-raising signal such as a link to another app against "
        "a child in a world shaped otherwise; among the vignettes they miss a serial "
        "approach and alert benign ones. The shipped trees are monotone in every "
        "behavioural input whose meaning holds in any context and free in the four whose "
        "meaning depends on who the participants are (`docs/features.md`); with all of them "
        "constrained (`fully_monotone_boosted_trees`) the worst world is much worse"
        + _constraint_cost(result)
        + ". "
        + _targets(result),
    ]
    return lines


def _targets(result: Mapping[str, Any]) -> str:
    """Whether the chosen candidate (the shipped trees) meets the project's targets on
    these worlds, from the comparison table's own row."""
    chosen = _candidate(result, _SHIPPED_CANDIDATE)
    if chosen is None:
        return ""
    median, worst = chosen["unseen_median_pr_auc"], chosen["unseen_worst_pr_auc"]
    met = median >= _TARGET_MEDIAN_PR_AUC and worst >= _TARGET_WORST_PR_AUC
    return (
        f"The targets the project set (PR-AUC {_TARGET_WORST_PR_AUC} worst, "
        f"{_TARGET_MEDIAN_PR_AUC} median) are {'met' if met else 'not met'} by the chosen "
        f"candidate on these worlds (median {median:.3f}, worst {worst:.3f}); the worlds used "
        "for no choice are in Limitations."
    )


def _shipped_lines(result: Mapping[str, Any]) -> list[str]:
    """The shipped model and policy on the unseen worlds, the stress worlds and the
    default world at 1 in 10,000."""
    summary = result["unseen"]["summary"]
    stress = result["stress"]["worlds"]
    rare = result["default_world_rare"]
    return [
        "",
        "The shipped model and policy (`policies/default.toml`) on the unseen worlds, median "
        "and worst (each conversation scored once, as a whole):",
        "",
        "| metric | median | worst (world) |",
        "|---|---|---|",
        *(
            markdown_row([name, _fmt(s["median"]), f"{_fmt(s['worst'])} ({s['worst_world']})"])
            for name, s in summary.items()
        ),
        *_online_volume(result.get("shipped_policy_volume")),
        "",
        "On the stress worlds (each benign look-alike at its extreme, each grooming variant at "
        "its quietest):",
        "",
        "| world | PR-AUC | recall | alerts per million benign | urgent per million |",
        "|---|---|---|---|---|",
        *(
            markdown_row(
                [
                    w["world"],
                    _fmt(w["pr_auc"]),
                    _fmt(w["recall_review"]),
                    _count(w["alerts_per_million"]["review"]),
                    _count(w["alerts_per_million"]["urgent"]),
                ]
            )
            for w in stress
        ),
        "",
        f"In the default world at 1 in 10,000 ({rare['n_conversations']:,} conversations, "
        f"{rare['n_grooming']} grooming, generated, not re-weighted): recall "
        f"{_fmt(rare['recall_review'])} (urgent {_fmt(rare['recall_urgent'])}), "
        f"{_count(rare['review_per_million_benign'])} alerts and "
        f"{_count(rare['urgent_per_million_benign'])} urgent alerts per million benign "
        f"conversations; precision {_fmt(rare['precision_review'])} at review tier and "
        f"{_fmt(rare['precision_urgent'])} at urgent tier. At realistic prevalence most "
        "alerts are benign: the queue is for human review.",
        "",
        "The shipped thresholds meet their alert volume in the median world only: the stress "
        "worlds above alert from none (a platform that records little) to many times the "
        "target. A platform sets them on its own traffic for the volume its team can review "
        "(`riskscore policy tune`; `docs/policy.md`, `benchmarks/results/policy_tune.json`).",
        "",
    ]


def _provenance(training: Mapping[str, Any]) -> str:
    """Where the training conversations came from, by what the bundle records:
    ``"queue"`` (``learn_from_decisions``), ``"data"`` (``riskscore train --data``),
    ``"worlds"`` (``WorldsRecipe``) or ``"given"`` (``riskscore.train``)."""
    if "labels" in training:
        return "queue"
    if "source" in training:
        return "data"
    return "worlds" if "recipe" in training else "given"


def _training_data(training: Mapping[str, Any]) -> list[str]:
    """The Training data paragraph, by the bundle's provenance."""
    provenance = _provenance(training)
    if provenance == "queue":
        return [
            "Conversations of a platform's period labelled by its moderators' decisions",
            "(`riskscore train --from-queue`; provenance under `labels` below), learnt from the",
            "model under `base_model`; `comparison` holds both models' out-of-fold metrics.",
        ]
    if provenance == "data":
        # a directory's name, whoever chose it: one code span whatever backticks it holds
        source = markdown_code(training["source"])
        return [f"The labelled events in {source} (`riskscore train --data`)."]
    if provenance == "worlds":
        return [
            "Synthetic conversations from `riskscore.synthetic` (no real data, no message text),",
            "drawn from many worlds (`riskscore.model.WorldsRecipe`): the default world and worlds",
            "whose nuisance parameters were drawn at random (`docs/synthetic.md`).",
        ]
    return ["The conversations and labels given to `riskscore.train`."]


def render_model_card(
    metadata: Mapping[str, Any],
    robustness: Mapping[str, Any] | None = None,
    confirmation: Mapping[str, Any] | None = None,
) -> str:
    """The model card, from a model's metadata and, when given, the results of
    ``benchmarks/robustness.py`` and of the confirmation worlds
    (``benchmarks/results/robustness_confirmation.json``)."""
    training = metadata.get("training", {})
    lines = [
        "# Model card: riskscore risk model",
        "",
        "## Intended use",
        "",
        "Ranking online conversations between accounts for human review by trust and safety",
        "moderators, from message metadata only, as one input among others (user reports,",
        "moderator judgement). Not for automated enforcement, and not for any use outside child",
        "safety review.",
        "",
        *_model_section(metadata, training),
        "## Training data",
        "",
        *_training_data(training),
        "",
        "```json",
        json.dumps(training, indent=2, sort_keys=True),
        "```",
        "",
    ]
    if robustness:
        lines += _robustness(robustness)
    else:
        lines += [
            "## Robustness",
            "",
            "Not measured yet for this bundle: run `benchmarks/robustness.py`.",
            "",
        ]
    lines += _limitations(training, robustness, confirmation)
    return "\n".join(lines)


def _model_section(metadata: Mapping[str, Any], training: Mapping[str, Any]) -> list[str]:
    """What the model is: its family, portable form, inputs and their directions, and how
    its probabilities and reasons are made."""
    return [
        "## Model",
        "",
        # the metadata is a bundle's, whoever made it (train --from-queue keeps a given
        # bundle's): names and numbers shown as written, each on its line or in its span
        f"{markdown_line(metadata.get('estimator', 'monotone gradient-boosted trees'))}. The "
        "portable form is",
        "plain JSON (`params.json`): the trees' node arrays and two calibration parameters;",
        "loading runs no code. Inputs and their risk directions:",
        "",
        ", ".join(map(markdown_code, metadata.get("inputs", []))) + ".",
        "",
        "Behavioural inputs move risk only in their documented direction (monotone",
        "constraints: most only raise it; "
        + ", ".join(map(markdown_code, _lowering(metadata.get("inputs", []))))
        + " only lower it), except those whose",
        "meaning depends on who the participants are: "
        + ", ".join(map(markdown_code, metadata.get("unconstrained_inputs", [])))
        + "; those are",
        "still named as reasons only when their value is on the risk side of the no-signal",
        "reference. Ages are free, because whether an age raises risk depends on the other",
        "participant's. Pure volume",
        "(`n_events`, `recent_rate_per_day`) is not an input, and the span (`span_hours`)",
        "only lowers risk from its reference of 0 hours: no conversation is scored for being",
        "long or new." + _caps(metadata.get("input_caps", {})),
        *_calibration(training),
        "against a conversation that shows no signal (`docs/features.md`), so a reason always",
        "names something present.",
        "",
    ]


def _calibration(training: Mapping[str, Any]) -> list[str]:
    """How the probabilities are calibrated: as ``calibration`` says, else as training does."""
    at = f"{markdown_line(training.get('calibrated_prevalence', 'n/a'))}. Reasons are exact"
    how = [
        "Platt scaling on out-of-fold",
        "margins (folds grouped by adult account) and shifted to a prevalence of",
    ]
    if "calibration" in training:
        how = [markdown_line(training["calibration"]) + ",", "at a prevalence of"]
    return [f"Probabilities are calibrated by {how[0]}", how[1], f"{at} Shapley values"]


def _limitations(
    training: Mapping[str, Any],
    robustness: Mapping[str, Any] | None,
    confirmation: Mapping[str, Any] | None,
) -> list[str]:
    """Where the model is known to fail, and the cautions of every card."""
    synthetic = _provenance(training) == "worlds"
    return [
        "## Limitations",
        "",
        *(
            [
                "- Synthetic training data: the worlds' ranges bound what the model learned; a",
                "  platform whose benign traffic falls outside them can see more false alerts.",
            ]
            if synthetic
            else [
                "- Training data: the labelled conversations above bound what the model",
                "  learned; traffic unlike them, or patterns its labels missed, can be scored",
                "  wrongly.",
            ]
        ),
        "- Per-account features (fan-out to minors and the rest) need the adult's other",
        "  conversations in the same scoring run; scoring one conversation alone understates them.",
        "- Quiet grooming (by day, on one channel, with no link to another app and no declared",
        "  age) leaves almost no trace in metadata; the `quiet_groomers` stress world shows it,",
        "  and so does a platform that records only messages (`minimal_platform`).",
        *_confirmation(confirmation),
        # the public vignettes' outcomes are measured for the shipped model, whose card
        # benchmarks/robustness.py renders with its results
        *(_known_misses() + _INDEPENDENT if robustness else []),
        "- Adults who meet strangers and move to encrypted apps within minutes look like fast",
        f"  grooming when their ages are unknown ({_fast_romance(robustness)}). Two known",
        "  adults never alert (the policy's guard).",
        "",
        CAUTIONS.format(data_caution=_SYNTHETIC_CAUTION if synthetic else _LABELLED_CAUTION),
    ]
