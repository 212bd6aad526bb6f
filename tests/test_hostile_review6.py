"""Hostile-input review 6: model bundles, policy files, account files and the HTTP server.

Each test was written before its fix and failed on the code before it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from serve_helpers import config

import riskscore as rs
from riskscore import AlertPolicy
from riskscore.evaluation.robustness import evaluate_samples, evaluate_worlds, unseen_worlds
from riskscore.exceptions import ModelIntegrityError
from riskscore.model import default_model_dir, load_model
from riskscore.model.bundle import sha256_of
from riskscore.model.drift import drift_report
from riskscore.model.trees import MAX_LEAF_SLOTS
from riskscore.policy import PolicyFileError
from riskscore.policy.files import MAX_POLICY_BYTES
from riskscore.serve import create_app

# ---------------------------------------------------------------- model bundles


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A copy of the shipped default bundle that a test may break."""
    return Path(shutil.copytree(default_model_dir(), tmp_path / "b"))


def _params(bundle: Path) -> dict[str, Any]:
    params: dict[str, Any] = json.loads((bundle / "params.json").read_text(encoding="utf-8"))
    return params


def _write_params(bundle: Path, params: dict[str, Any]) -> None:
    """Replace params.json and record its new hash, as a tamperer would."""
    (bundle / "params.json").write_text(json.dumps(params), encoding="utf-8")
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["params.json"] = sha256_of(bundle / "params.json")
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _first_split(trees: dict[str, Any]) -> int:
    return next(i for i, f in enumerate(trees["feature"]) if f >= 0)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("default_left", "false"),  # numpy reads any non-empty string as True
        ("feature", 0.9),  # numpy truncates to 0: another feature
        ("left", True),  # a bool is not a node index
        ("threshold", "0.5"),  # numpy parses number text
        ("missing", 1.5),
        ("feature_names", 7),  # was read as the name "7"
    ],
)
def test_a_tree_element_of_another_json_type_is_refused_not_converted(
    bundle: Path, key: str, value: Any
) -> None:
    params = _params(bundle)
    trees = params["trees"]
    at = 0 if key == "feature_names" else _first_split(trees)
    trees[key][at] = value
    _write_params(bundle, params)
    with pytest.raises(ModelIntegrityError, match=rf"'{key}'\[{at}\] must be"):
        load_model(bundle)


def _wide_and_many(n_small: int, n_leaves: int) -> dict[str, Any]:
    """One balanced tree of ``n_leaves`` leaves on feature 0, then ``n_small`` one-leaf trees
    (preorder, left child first)."""
    feature: list[int] = []
    left: list[int] = []
    right: list[int] = []

    def build(size: int) -> int:
        index = len(feature)
        if size == 1:
            feature.append(-1)
            left.append(-1)
            right.append(-1)
            return index
        feature.append(0)
        left.append(0)
        right.append(0)
        left[index] = build(size // 2)
        right[index] = build(size - size // 2)
        return index

    roots = [build(n_leaves)]
    for _ in range(n_small):
        roots.append(build(1))
    n = len(feature)
    return {
        "roots": roots,
        "feature": feature,
        "left": left,
        "right": right,
        "threshold": [0.5] * n,
        # not all 0: trees that give every row one margin give it one risk (refused)
        "leaf_value": [0.01 * (-1) ** i for i in range(n)],
        "default_left": [True] * n,
        "missing": [0] * n,
    }


def test_a_small_params_file_asking_for_a_huge_leaf_table_is_refused(bundle: Path) -> None:
    # 4,097 trees, one of 1,100 leaves: about 6,300 nodes (a few hundred kB of JSON) asked
    # for 4,097 x 1,152 floats in the exit-leaf table; ten times as many nodes ask for
    # gigabytes. The table is bounded before it is built.
    params = _params(bundle)
    params["trees"].update(_wide_and_many(4096, 1100))
    assert MAX_LEAF_SLOTS < 4097 * 1152
    _write_params(bundle, params)
    with pytest.raises(ModelIntegrityError, match="leaf slots"):
        load_model(bundle)


def test_a_params_file_of_many_ordinary_trees_still_loads(bundle: Path) -> None:
    params = _params(bundle)
    params["trees"].update(_wide_and_many(2000, 60))
    _write_params(bundle, params)
    assert load_model(bundle).trees.n_trees == 2001


def test_trees_that_read_no_feature_are_refused(bundle: Path) -> None:
    # They loaded, then every score of a feature table failed with numpy's "zero-size array".
    params = _params(bundle)
    params["trees"].update(_wide_and_many(2, 1), feature_names=[], reference=[])
    _write_params(bundle, params)
    with pytest.raises(ModelIntegrityError, match="no feature"):
        load_model(bundle)


@pytest.mark.parametrize("value", ["-3", True, [-3]])
def test_a_calibration_number_of_another_json_type_is_refused(bundle: Path, value: Any) -> None:
    params = _params(bundle)
    params["calibration"]["a"] = value
    _write_params(bundle, params)
    with pytest.raises(ModelIntegrityError, match="'a' must be a finite number"):
        load_model(bundle)


# ---------------------------------------------------------------- policy files


def _policy_mapping() -> dict[str, Any]:
    return AlertPolicy.default().to_mapping()


def test_a_deeply_nested_policy_file_is_a_policy_file_error(tmp_path: Path) -> None:
    # tomllib recursed until RecursionError, a traceback.
    path = tmp_path / "deep.toml"
    path.write_text("format_version = " + "[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(PolicyFileError, match=r"deep.toml: .*nested"):
        AlertPolicy.from_toml(path)


def test_a_policy_file_not_utf8_or_not_a_file_is_a_policy_file_error(tmp_path: Path) -> None:
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'format_version = 2\nname = "\xe9"\n')
    with pytest.raises(PolicyFileError, match=r"latin.toml: not UTF-8 text \(byte 0xe9"):
        AlertPolicy.from_toml(latin)
    with pytest.raises(PolicyFileError, match="not a regular file"):
        AlertPolicy.from_toml(tmp_path)


def test_a_huge_policy_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(AlertPolicy.default().to_toml())
        fh.write("#" * (MAX_POLICY_BYTES + 1) + "\n")
    with pytest.raises(PolicyFileError, match=f"larger than {MAX_POLICY_BYTES} bytes"):
        AlertPolicy.from_toml(path)


@pytest.mark.parametrize("name", ["under 13 \U0001f600", 'a "quoted" \\ name', "é"])
def test_a_written_policy_reads_back_whatever_its_printable_band_names(
    tmp_path: Path, name: str
) -> None:
    # json.dumps escaped U+1F600 as a surrogate pair, which TOML refuses: the policy that
    # to_toml wrote could not be read back.
    doc = _policy_mapping()
    doc["bands"][0]["name"] = name
    policy = AlertPolicy.from_mapping(doc)
    path = tmp_path / "policy.toml"
    path.write_text(policy.to_toml(), encoding="utf-8")
    assert AlertPolicy.from_toml(path) == policy


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["1e400", "-1e400"])
def test_an_integer_threshold_too_large_for_a_float_is_a_policy_file_error(value: int) -> None:
    # math.isnan raised OverflowError, a traceback (TOML and YAML read integers of any size).
    doc = _policy_mapping()
    doc["unknown"]["review"] = value
    with pytest.raises(PolicyFileError, match=r"key 'unknown.review': expected a number"):
        AlertPolicy.from_mapping(doc)


def test_a_huge_wrong_value_is_not_copied_whole_into_the_message() -> None:
    doc = _policy_mapping()
    doc["unknown"]["review"] = [0] * 100_000
    with pytest.raises(PolicyFileError) as info:
        AlertPolicy.from_mapping(doc)
    assert len(str(info.value)) < 300
    doc["unknown"] = "x" * 100_000
    with pytest.raises(PolicyFileError) as info:
        AlertPolicy.from_mapping(doc)
    assert len(str(info.value)) < 300


# ---------------------------------------------------------------- account files


def _first_pair_row(table: pa.Table) -> int:
    return next(i for i, v in enumerate(table.column("pair_other").to_pylist()) if v)


@pytest.mark.parametrize(
    ("column", "where"),
    [("pair_first_ts", "after"), ("pair_first_ts", "before"), ("pair_private_ts", "after")],
)
def test_pair_times_outside_the_recorded_history_are_refused(
    tmp_path: Path, column: str, where: str
) -> None:  # a private time before the first is refused as such (test_account_file)
    # A pair's first time is packed with its channel in one float64 (time x channels +
    # channel): 2**53 - 1 read back as another channel, silently. Every pair time lies in
    # the history the file records; one outside it is refused by column, row and value.
    data = rs.synthetic.generate(120, prevalence=0.1, seed=4).messages
    history = rs.extract_account_features(data)
    path = rs.write_account_features(history, tmp_path / "accounts.parquet")
    table = pq.read_table(path)
    row = _first_pair_row(table)
    lists = table.column(column).to_pylist()
    bad = 2**53 - 1 if where == "after" else 0
    lists[row] = [bad, *lists[row][1:]]
    i = table.schema.get_field_index(column)
    table = table.set_column(i, column, pa.array(lists, type=table.schema.field(column).type))
    if column == "pair_first_ts":  # no private time, which would be before the first one
        private = table.column("pair_private_ts").to_pylist()
        private[row] = [None, *private[row][1:]]
        i = table.schema.get_field_index("pair_private_ts")
        table = table.set_column(i, "pair_private_ts", pa.array(private, pa.list_(pa.int64())))
    pq.write_table(table, path)
    with pytest.raises(
        rs.SchemaError, match=rf"column '{column}', row {row}: {bad} is outside the history"
    ):
        rs.read_account_features(path)


# ---------------------------------------------------------------- riskscore serve

EVENT = {
    "conversation_id": "c1",
    "timestamp": 1_767_276_000,
    "sender_id": "a",
    "recipient_id": "b",
    "sender_age": 30,
    "recipient_age": 12,
    "channel": "direct",
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(config(tmp_path, load_model()))) as c:
        yield c


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ],
)
def test_events_sent_without_a_json_media_type_are_refused_and_not_applied(
    client: TestClient, content_type: str | None
) -> None:
    # A web page can send these types (or none) cross-site without a CORS preflight: any
    # site a moderator opened could post events to a scorer on localhost, which has no
    # API token by default, and raise alerts in the queue. They were read as JSON.
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = client.post("/v1/events", content=json.dumps(EVENT).encode(), headers=headers)
    assert r.status_code == 415, r.text
    assert "Content-Type" in r.json()["refused"][0]["message"]
    assert client.get("/healthz").json()["events"] == 0


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON; charset=utf-8", "application/jsonl"]
)
def test_events_sent_as_json_or_json_lines_are_applied(
    client: TestClient, content_type: str
) -> None:
    r = client.post(
        "/v1/events", content=json.dumps(EVENT).encode(), headers={"Content-Type": content_type}
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"meta": {"text": "hi"}}, "meta.text"),
        ({"meta": [{"region": "eu"}, {"Body": "hi"}]}, "meta.Body"),
        ({"meta": {"inner": [[{"message_text": "hi"}]]}}, "meta.inner.message_text"),
    ],
)
def test_content_nested_in_another_field_is_refused_online_as_in_batch(
    tmp_path: Path, client: TestClient, extra: dict[str, Any], path: str
) -> None:
    # read_messages refused a JSON lines file holding these (content nested in a field of
    # another name); the online scorer, `riskscore stream` and the API applied the event.
    event = {**EVENT, **extra}
    file = tmp_path / "events.jsonl"
    file.write_text(json.dumps(event) + "\n", encoding="utf-8")
    with pytest.raises(rs.SchemaError, match=f"'{path}' looks like message content"):
        rs.read_messages(file)
    with pytest.raises(rs.SchemaError, match=f"field '{path}' looks like message content"):
        rs.OnlineScorer(load_model()).update_one(event)
    r = client.post("/v1/events", json=event)
    assert r.status_code == 422
    assert f"'{path}' looks like message content" in r.json()["refused"][0]["message"]
    assert client.get("/healthz").json()["events"] == 0


def test_plain_metadata_nested_in_another_field_is_still_accepted_online() -> None:
    event = {**EVENT, "meta": {"region": "eu", "tags": [{"kind": "x"}]}}
    rs.OnlineScorer(load_model()).update_one(event)


# ---------------------------------------------------------------- a bundle's drift reference


def _drift_with(edit: Callable[[dict[str, Any]], None]) -> None:
    model = load_model()
    profile = copy.deepcopy(model.metadata["reference_distributions"])
    edit(profile)
    inputs = np.zeros((3, len(model.feature_names)))
    report = drift_report(profile, inputs, model.feature_names, np.full(3, 0.01))
    report.to_markdown()


def _first_input(profile: dict[str, Any]) -> dict[str, Any]:
    inputs: dict[str, Any] = profile["inputs"]
    return inputs[next(iter(inputs))]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        # a tampered manifest's reference gave a ValueError, OverflowError or TypeError
        (lambda p: p.update(n="many"), "'n' must be a whole number"),
        (lambda p: p.update(n=1e400), "'n' must be a whole number"),
        (lambda p: p["risk"].update(median="high"), "median of 'risk' must be a number"),
        (lambda p: _first_input(p).update(median=[1]), "median of .* must be a number"),
        # edges out of order binned values silently in the wrong bins
        (lambda p: p["risk"].update(edges=p["risk"]["edges"][::-1]), "edges of 'risk' must"),
        (lambda p: p["risk"].update(edges=[[0.1]] * len(p["risk"]["edges"])), "edges of 'risk'"),
    ],
)
def test_a_malformed_drift_reference_is_a_model_integrity_error(
    edit: Callable[[dict[str, Any]], None], match: str
) -> None:
    with pytest.raises(ModelIntegrityError, match=match):
        _drift_with(edit)


# ---------------------------------------------------------------- text that may be content

SENTENCE = "see you at the park after school ok"  # what a message could say
T_0 = 1_767_225_600


def _events_with(column: str, value: object) -> dict[str, list[object]]:
    events: dict[str, list[object]] = {
        "conversation_id": [1, 1],
        "timestamp": [T_0, T_0 + 60],
        "sender_id": ["a", "b"],
        "recipient_id": ["b", "a"],
        "channel": ["direct", "direct"],
        "sender_age": [30.0, 12.0],
    }
    events[column] = [events[column][0], value]
    return events


@pytest.mark.parametrize("column", ["timestamp", "sender_age"])
def test_a_sentence_where_a_number_or_time_belongs_is_never_quoted_or_kept(column: str) -> None:
    """Refused text that may be message content is neither quoted in the error nor copied
    to the quarantine record, in any column (it was only so in ``event`` and ``channel``)."""
    with pytest.raises(rs.SchemaError) as raised:
        rs.read_messages(_events_with(column, SENTENCE))
    assert "park" not in str(raised.value)
    assert "may be message content" in str(raised.value)
    kept = rs.read_messages(_events_with(column, SENTENCE), errors="quarantine")
    assert len(kept.quarantined) == 1
    assert kept.quarantined.to_records()[0]["value"] is None
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    event = {k: v[1] for k, v in _events_with(column, SENTENCE).items()}
    with pytest.raises(rs.SchemaError) as online:
        scorer.update_one(event)
    assert "park" not in str(online.value)
    assert "park" not in repr(online.value.value)


def test_a_short_bad_time_is_still_quoted() -> None:
    """Values that cannot be a sentence stay quoted, so that the error helps fix them."""
    with pytest.raises(rs.SchemaError, match="2026-13-01 10:00:00"):
        rs.read_messages(_events_with("timestamp", "2026-13-01 10:00:00"))


@pytest.mark.parametrize("name", ["move_platform_rate", "reciprocity"])
def test_a_world_parameter_too_large_for_a_float_is_refused_by_name(name: str) -> None:
    """One number rule (``riskscore._checks.is_real``) for world parameters too: an integer
    too large for a float raised OverflowError from the synthetic package's own copy."""
    with pytest.raises(ValueError, match=f"^{name}: must be a number in"):
        dataclasses.replace(rs.synthetic.World.default(), **{name: 10**400})


@pytest.mark.parametrize("rare", [0.0, 1.0, float("nan"), -1e-4])
def test_a_rare_prevalence_outside_zero_one_is_refused_before_any_sample(rare: float) -> None:
    """``rare_prevalence`` re-weights benign conversations by (1 - p) / p: 0 divided by zero
    (a warning, then NaN PR-AUCs) after every world had been generated."""
    with pytest.raises(ValueError, match="rare_prevalence"):
        evaluate_worlds(lambda f: np.zeros(len(f)), unseen_worlds(1), rare_prevalence=rare)
    with pytest.raises(ValueError, match="rare_prevalence"):
        evaluate_samples(lambda f: np.zeros(len(f)), [], rare_prevalence=rare)
