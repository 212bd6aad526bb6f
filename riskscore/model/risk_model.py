"""The risk model: monotone boosted trees on named features, Platt-calibrated, with
exact reasons measured against a conversation that shows no signal.

Why this model (the comparison is in ``riskscore/model/default/MODEL_CARD.md``): it was chosen
by its *worst* world among the candidates of ``benchmarks/robustness.py``. Trees let
signals combine (night-time contact matters when an adult talks to a child, not
between two teenagers), monotone constraints keep the behavioural features whose
meaning does not depend on context pointing the way ``docs/features.md`` says they
signal risk (more contact on external apps can never lower risk), and pure volume
(length, span, rate) is not an input, so no conversation
is alerted for being long. Reasons are exact Shapley values against the reference
conversation (:mod:`riskscore.model.trees`), so a reason is always something present;
a feature is named as a reason only when its value is on the risk side of its reference
(an unconstrained input such as night-time share may raise risk in some contexts at low
values, and "little night-time contact" is not a reason a moderator can act on).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore._checks import unknown_keys_problem
from riskscore.exceptions import ModelIntegrityError, SchemaError
from riskscore.features import (
    FEATURE_NAMES,
    FEATURES,
    AccountFeatures,
    FeatureTable,
    extract_features,
    feature_index,
)
from riskscore.io.raw import show
from riskscore.model.calibration import Platt
from riskscore.model.exit_leaves import ExitLeaves
from riskscore.model.scores import ScoreTable, top_reasons
from riskscore.model.trees import TreeEnsemble

__all__ = ["RiskModel", "checked_model"]

FloatArray = npt.NDArray[np.float64]

#: The ``kind`` of the portable parameters this class reads.
MODEL_KIND = "monotone_boosted_trees_platt"
#: Rows below this risk get no reasons computed (they raise no alert under any sane policy).
DEFAULT_REASONS_ABOVE = 0.01


class RiskModel:
    """A trained risk model: portable trees and calibration, scoring without any library
    but numpy and numba.

    Build one with :func:`riskscore.train` or :func:`riskscore.load_model`.

    Parameters
    ----------
    trees : TreeEnsemble
        The boosted trees (raw margin) and the reference conversation for reasons.
    calibration : Platt
        From margin to calibrated risk.
    metadata : mapping, optional
        Training summary and metrics, stored in the bundle's manifest.
    """

    def __init__(
        self,
        trees: TreeEnsemble,
        calibration: Platt,
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.trees = trees
        self.calibration = calibration
        self.metadata: dict[str, Any] = dict(metadata or {})
        try:
            self._columns = np.array([feature_index(n) for n in trees.feature_names])
        except KeyError as exc:
            raise ModelIntegrityError(
                f"the model reads a feature this riskscore does not compute: {exc}"
            ) from exc
        self._reference_margin = float(self.trees.margins(self.trees.reference[None, :])[0])
        self._direction = np.array([FEATURES[i].direction for i in self._columns], dtype=np.float64)

    def check_reference(self) -> None:
        """Refuse a reference conversation other than the registry's "no signal" value of
        each input (:attr:`riskscore.FeatureSpec.reference`, ``docs/features.md``), as
        :func:`riskscore.load_model` does: reasons are measured against it, and another one
        makes reasons of values that signal nothing (a reference of -1 for
        ``adult_initiated`` names "adult initiated" on conversations the child began) or
        hides every reason. Training writes the registry's values.

        Raises
        ------
        ModelIntegrityError
            Naming the input, its position, the value found and the one expected.
        """
        pairs = zip(self._columns.tolist(), self.trees.reference.tolist(), strict=True)
        for i, (column, value) in enumerate(pairs):
            spec = FEATURES[column]
            if value != spec.reference and not (math.isnan(value) and math.isnan(spec.reference)):
                raise ModelIntegrityError(
                    f"tree parameter 'reference'[{i}] ({spec.name}) is {value:g}, but the value "
                    f"of {spec.name} that means no signal is {spec.reference:g} "
                    "(docs/features.md): reasons are measured against it. Restore or retrain "
                    "the bundle"
                )

    def _checked_values(self, features: FeatureTable) -> FloatArray:
        """The table's values with each feature the model reads in its column of
        :data:`~riskscore.FEATURE_NAMES` (``self._columns``): the table's own array when its
        names are in that order, each once (every table riskscore makes), else those
        features picked by name (:meth:`FeatureTable.positions`), so that a table of other
        order is never read by position."""
        values, names = features.values, features.names
        width = int(self._columns.max()) + 1
        if (
            values.ndim == 2
            and values.shape[1] == len(names) >= width
            and names[:width] == FEATURE_NAMES[:width]
            and len(set(names)) == len(names)
        ):
            return values
        positions = features.positions([FEATURE_NAMES[c] for c in self._columns])
        picked = np.full((len(values), width), np.nan)
        picked[:, self._columns] = values[:, positions]
        return picked

    def _leaves_for(self, values: FloatArray) -> ExitLeaves:
        """The trees packed to read whole feature-table rows of ``values``' width, built on
        first use (loading a model stays as fast as before) and kept by the trees."""
        return self.trees.packed(self._columns, values.shape[1])

    def __repr__(self) -> str:
        return (
            f"RiskModel(n_inputs={len(self.feature_names)}, n_trees={self.trees.n_trees}, "
            f"prevalence={self.calibration.prevalence:g})"
        )

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Features the model reads, in order (a subset of the feature table's)."""
        return self.trees.feature_names

    def inputs(self, features: FeatureTable | FloatArray) -> FloatArray:
        """The model's input columns, array of shape (n, n_inputs).

        ``features`` is a :class:`FeatureTable` (columns are picked by name) or an
        array that already holds the model's inputs in order.
        """
        if isinstance(features, FeatureTable):
            return np.ascontiguousarray(self._checked_values(features)[:, self._columns])
        values = np.asarray(features, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.feature_names):
            raise SchemaError(
                f"expected a FeatureTable or an array of shape (n, {len(self.feature_names)}) "
                f"holding {list(self.feature_names)}, got shape {values.shape}"
            )
        return values

    def predict_proba(self, features: FeatureTable | FloatArray) -> FloatArray:
        """Calibrated risk of each conversation.

        Parameters
        ----------
        features : FeatureTable or array of shape (n_conversations, n_inputs)
            Output of :func:`riskscore.extract_features`.

        Returns
        -------
        array of shape (n_conversations,)
            Probability that each conversation is grooming, at the calibration's
            prevalence.
        """
        return self.calibration.risk(self.trees.margins(self.inputs(features)))

    def contributions(self, features: FeatureTable | FloatArray) -> FloatArray:
        """Each input's push on the calibrated log-odds against the reference
        conversation (no signal), array of shape (n, n_inputs); they add up to the
        log-odds of the row minus those of the reference."""
        shapley = self.trees.contributions(self.inputs(features))
        out: FloatArray = shapley * -self.calibration.a
        return out

    def reason_contributions(self, inputs: FloatArray) -> FloatArray:
        """:meth:`contributions` of model inputs (shape (n, n_inputs)), set to 0 where a
        feature's value is not on the risk side of its reference, so that it is never
        shown as a reason there (features with no fixed direction, the ages, keep theirs)."""
        contributions = self.contributions(inputs)
        side = np.sign(inputs - self.trees.reference) * self._direction
        contributions[(self._direction != 0) & ~(side > 0)] = 0.0
        return contributions

    def score(
        self,
        messages: object,
        *,
        account_features: AccountFeatures | None = None,
        n_reasons: int = 3,
        reasons_above: float = DEFAULT_REASONS_ABOVE,
    ) -> ScoreTable:
        """Extract features, score every conversation and give its top reasons.

        Parameters
        ----------
        messages : MessageTable, FeatureTable or anything :func:`riskscore.read_messages` reads
            The events to score.
        account_features : AccountFeatures, optional
            Per-account tallies of a full history that holds ``messages``
            (:func:`riskscore.extract_account_features`,
            :func:`riskscore.read_account_features`): a part of the events then scores
            as it does within the whole. By default they are computed from
            ``messages`` alone. Not allowed with a :class:`FeatureTable`.
        n_reasons : int, default 3
            How many reasons to keep per conversation.
        reasons_above : float, default 0.01
            Reasons are computed for conversations at or above this risk only (they
            cost about 50 microseconds each); the others get none.

        Returns
        -------
        ScoreTable
        """
        if isinstance(messages, FeatureTable):
            if account_features is not None:
                raise ValueError(
                    "account_features apply to events; a FeatureTable already holds its "
                    "per-account features"
                )
            features = messages
        else:
            features = extract_features(messages, account_features=account_features)
        return self.score_features(features, n_reasons=n_reasons, reasons_above=reasons_above)

    def score_features(
        self,
        features: FeatureTable,
        *,
        n_reasons: int = 3,
        reasons_above: float = DEFAULT_REASONS_ABOVE,
    ) -> ScoreTable:
        """Score an already extracted :class:`FeatureTable` (see :meth:`score`)."""
        # The trees read the table's own rows (no copy of the input columns); only the
        # explained rows are copied and ranked, rows below reasons_above get no reason.
        values = self._checked_values(features)
        risk = self.calibration.risk(self.trees.margins(values, self._leaves_for(values)))
        explain = np.flatnonzero(risk >= reasons_above)
        shape = (len(risk), max(0, min(n_reasons, len(self._columns))))
        idx = np.full(shape, -1, dtype=np.int64)
        val = np.full(shape, np.nan)
        contrib = np.full(shape, np.nan)
        if len(explain) and shape[1]:
            rows = np.ascontiguousarray(values[np.ix_(explain, self._columns)])
            idx[explain], val[explain], contrib[explain] = top_reasons(
                self.reason_contributions(rows), rows, n_reasons
            )
        return ScoreTable(
            conversation_id=features.conversation_id,
            risk=risk,
            adult_id=features.adult_id,
            child_id=features.child_id,
            child_age=features.column("child_age"),
            adult_age=features.column("adult_age"),
            feature_names=self.feature_names,
            reason_feature=idx,
            reason_value=val,
            reason_contribution=contrib,
            first_event_at=features.first_event_at,
            last_event_at=features.last_event_at,
            max_channel=features.column("max_channel"),
        )

    def at_prevalence(self, prevalence: float) -> RiskModel:
        """The same model with its probabilities calibrated for another prevalence."""
        return RiskModel(
            self.trees, self.calibration.at_prevalence(prevalence), metadata=self.metadata
        )

    def to_dict(self) -> dict[str, Any]:
        """The portable parameters, JSON-ready (``params.json`` of a bundle)."""
        return {
            "kind": MODEL_KIND,
            "trees": self.trees.to_dict(),
            "calibration": self.calibration.to_dict(),
        }

    def parameters_sha256(self) -> str:
        """The identity of what the model computes: sha256 of :meth:`to_dict` as JSON with
        sorted keys (metadata left out). Checkpoints and shadow runs record it."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, metadata: Mapping[str, Any] | None = None
    ) -> RiskModel:
        """A model from :meth:`to_dict` output (:class:`ModelIntegrityError` if malformed)."""
        if not isinstance(data, Mapping) or data.get("kind") != MODEL_KIND:
            kind = data.get("kind") if isinstance(data, Mapping) else type(data).__name__
            raise ModelIntegrityError(
                f"unknown model kind {kind!r}; this riskscore reads {MODEL_KIND!r} "
                "(retrain older bundles with `make model` or `riskscore train`)"
            )
        problem = unknown_keys_problem(data, ("kind", "trees", "calibration"))
        if problem:
            raise ModelIntegrityError(f"model parameters: {problem}")
        model = cls(
            TreeEnsemble.from_dict(data.get("trees", {})),
            Platt.from_dict(data.get("calibration")),
            metadata=metadata,
        )
        # An offset far beyond a fitted one (b = -1e5: every risk 1.0, every conversation
        # alerted; b = 900: every risk 1e-304, none) passes the calibration's own bounds.
        low, high = model.trees.margin_bounds()
        c = model.calibration
        if not c.risk_one(low) < c.risk_one(high):
            raise ModelIntegrityError(
                f"calibration (a={c.a:g}, b={c.b:g}) gives every conversation the same risk, "
                f"{c.risk_one(low):g}, over the margins the trees can give ({low:g} to "
                f"{high:g}): its parameters are not fitted ones. Restore or retrain the bundle"
            )
        return model


def checked_model(model: object, name: str = "model") -> RiskModel:
    """``model`` if it is a :class:`RiskModel`, else a TypeError naming ``name`` (the
    argument of a scorer, before any work).

    Examples
    --------
    >>> checked_model("models/default")
    Traceback (most recent call last):
    ...
    TypeError: model must be a RiskModel (rs.load_model(path) reads a bundle), got str \
'models/default'
    """
    if not isinstance(model, RiskModel):  # a bundle's path, say
        raise TypeError(
            f"{name} must be a RiskModel (rs.load_model(path) reads a bundle), got "
            f"{type(model).__name__} {show(model)}"
        )
    return model
