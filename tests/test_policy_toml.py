"""Policy files and mappings: formats 3, 2 and 1, the one validator's errors (TOML and Synapse
config alike), ``riskscore policy check`` and ``--policy`` on score, stream and evaluate."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.evaluation.policy_check import check_policy
from riskscore.integrations._synapse_config import SynapseConfigError
from riskscore.integrations._synapse_config import parse as parse_synapse
from riskscore.policy import (
    FORMAT_VERSION,
    AgeBand,
    AlertPolicy,
    Guards,
    PolicyFileError,
    Tier,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT / "policies" / "default.toml"

GOOD = """
format_version = 2
[[bands]]
name = "young"
min_age = 0
max_age = 14
review = 0.2
urgent = 0.5
[[bands]]
name = "older"
min_age = 14
max_age = inf
review = 0.3
urgent = 0.7
[unknown]
review = 0.25
urgent = 0.6
[guards]
adult_pairs_alert = false
minor_peer_max_gap_years = 2.5
"""


def _edit(old: str, new: str, text: str = GOOD) -> str:
    assert old in text
    return text.replace(old, new, 1)


def _loads(text: str, source: str = "") -> AlertPolicy:
    """What ``AlertPolicy.from_toml`` does with a file's text."""
    return AlertPolicy.from_mapping(tomllib.loads(text), source=source)


def test_policy_default_prints_the_built_in_policy_as_a_file_to_start_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An installed riskscore has no policies/ directory: the command gives the file."""
    assert main(["policy", "default"]) == 0
    path = tmp_path / "mine.toml"
    path.write_text(capsys.readouterr().out)
    assert AlertPolicy.from_toml(path) == AlertPolicy.default()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["policy", "check"], "policy check needs the policy FILE"),
        (["policy", "default", "x.toml"], "policy default takes no FILE"),
    ],
)
def test_policy_actions_name_a_missing_or_extra_file(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_shipped_file_is_the_default_policy() -> None:
    assert AlertPolicy.from_toml(DEFAULT_FILE) == AlertPolicy.default()
    doc = tomllib.loads(DEFAULT_FILE.read_text())
    assert doc["format_version"] == FORMAT_VERSION == 3
    assert doc["guards"] == {"adult_pairs_alert": False, "minor_peer_max_gap_years": 3.0}


def test_round_trip(tmp_path: Path) -> None:
    policy = _loads(GOOD)
    assert [b.name for b in policy.bands] == ["young", "older"]
    assert policy.bands[1].max_age == math.inf
    assert policy.guards == Guards(adult_pairs_alert=False, minor_peer_max_gap_years=2.5)
    path = tmp_path / "p.toml"
    path.write_text(policy.to_toml(name="mine"))
    assert path.read_text().startswith('format_version = 3\nname = "mine"\n')
    assert AlertPolicy.from_toml(path) == policy
    assert AlertPolicy.from_mapping(policy.to_mapping()) == policy


def test_format_1_files_load_with_the_default_guards(tmp_path: Path) -> None:
    v1 = _edit("format_version = 2", "format_version = 1", GOOD.split("[guards]")[0])
    path = tmp_path / "v1.toml"
    path.write_text(v1)
    policy = AlertPolicy.from_toml(path)
    assert policy.guards == Guards()
    assert [b.review for b in policy.bands] == [0.2, 0.3]
    assert "format_version = 3" in policy.to_toml()  # written in the current format
    with pytest.raises(PolicyFileError, match="the guards table needs format_version = 2") as info:
        _loads(_edit("format_version = 2", "format_version = 1"))
    assert info.value.key == "guards"


def test_guards_table_is_optional_and_partial() -> None:
    assert _loads(GOOD.split("[guards]")[0]).guards == Guards()
    on = _loads(_edit("adult_pairs_alert = false", "adult_pairs_alert = true"))
    assert on.guards == Guards(adult_pairs_alert=True, minor_peer_max_gap_years=2.5)
    assert _loads(_edit("minor_peer_max_gap_years = 2.5\n", "")).guards == Guards()


#: (mistake in GOOD, key named (None: the policy as a whole), words of the message)
MISTAKES: list[tuple[tuple[str, str], str | None, str]] = [
    # an unknown key: at its table, worded as every reader words it (_checks.unknown_keys)
    (
        ("review = 0.2", "review = 0.2\nrevew = 0.1"),
        "bands[0]",
        r"unknown key\(s\) 'revew'; expected some of max_age, min_age, name, review, urgent$",
    ),
    (("review = 0.2\n", ""), "bands[0].review", "missing"),
    (("urgent = 0.5", 'urgent = "high"'), "bands[0].urgent", "expected a number"),
    (("urgent = 0.7", "urgent = 1.5"), "bands[1].urgent", r"\(0, 1\]"),
    (("urgent = 0.5", "urgent = 0.1"), "bands[0]", "review < urgent"),
    (("format_version = 2", "format_version = 4"), "format_version", "expected one of 1, 2, 3"),
    (("format_version = 2\n", ""), "format_version", "found nothing"),
    (
        ("format_version = 2", "format_version = 2\nthreshold = 3\nalpha = 1"),
        None,
        r"^p\.toml: unknown key\(s\) 'alpha', 'threshold'; expected some of bands, "
        "format_version, guards, name, unknown, unknown_adult$",
    ),
    (("[unknown]\nreview = 0.25\nurgent = 0.6", ""), "unknown", "missing"),
    (("[unknown]\nreview = 0.25", "[unknown]\nreview = 0.95"), "unknown", "review < urgent"),
    # younger children must get thresholds at least as strict as older ones
    (("review = 0.2", "review = 0.4"), "bands", "younger children"),
    (("min_age = 14", "min_age = 15"), "bands", "must meet"),
    (
        ("adult_pairs_alert = false", 'adult_pairs_alert = "no"'),
        "guards.adult_pairs_alert",
        "true or false",
    ),
    (
        ("minor_peer_max_gap_years = 2.5", "minor_peer_max_gap_years = -1"),
        "guards.minor_peer_max_gap_years",
        ">= 0",
    ),
    (
        ("minor_peer_max_gap_years = 2.5", "minor_peer_max_gap_years = inf"),
        "guards.minor_peer_max_gap_years",
        "finite",
    ),
    (
        ("adult_pairs_alert = false", "adult_pairs = false"),
        "guards",
        r"unknown key\(s\) 'adult_pairs'; expected some of adult_pairs_alert, "
        "minor_peer_max_gap_years$",
    ),
    # band names are unique (the unknown band's too), printable and short
    (('name = "older"', 'name = "young"'), "bands", "'young' is used twice"),
    (("[unknown]\n", '[unknown]\nname = "older"\n'), "bands", "'older' is used twice"),
    (('name = "older"', 'name = "old\\ner"'), "bands[1].name", "control or invisible"),
    (('name = "older"', 'name = "\\u001b[31mred"'), "bands[1].name", "control or invisible"),
    (('name = "older"', 'name = "\\u200bolder"'), "bands[1].name", "control or invisible"),
    (('name = "older"', f'name = "{"x" * 65}"'), "bands[1].name", "1 to 64 characters, found 65"),
    (('name = "older"', 'name = ""'), "bands[1].name", "1 to 64 characters, found 0"),
    (('name = "older"', "name = 7"), "bands[1].name", "found 7"),
    # keys that would be ignored: a finite end of the last band, an age range of unknown
    (("max_age = inf", "max_age = 99"), "bands", "must end at max_age = inf"),
    (("[unknown]\n", "[unknown]\nmin_age = 5\n"), "unknown.min_age", "any age"),
    (("[unknown]\n", "[unknown]\nmax_age = 18\n"), "unknown.max_age", "any age"),
]


def _bands_toml(n: int) -> str:
    bands = "".join(
        f'[[bands]]\nname = "b{i}"\nmin_age = {i}\nmax_age = {i + 1 if i < n - 1 else "inf"}\n'
        "review = 0.2\nurgent = 0.5\n"
        for i in range(n)
    )
    return f"format_version = 2\n{bands}[unknown]\nreview = 0.2\nurgent = 0.5\n"


def test_at_most_64_bands() -> None:
    assert len(_loads(_bands_toml(64)).bands) == 64
    for n in (65, 3000):  # 3000 bands overflowed the recursion limit compiling the rule
        with pytest.raises(PolicyFileError, match=f"at most 64 age bands, found {n}") as info:
            _loads(_bands_toml(n))
        assert info.value.key == "bands"
    bands = tuple(rs.AgeBand(f"b{i}", i, i + 1.0, 0.2, 0.5) for i in range(65))
    bands = (*bands[:-1], rs.AgeBand("b64", 64.0, math.inf, 0.2, 0.5))
    with pytest.raises(ValueError, match="at most 64 age bands"):
        AlertPolicy(bands=bands)


def test_unknown_band_may_state_its_full_range() -> None:
    text = _edit("[unknown]\n", "[unknown]\nmin_age = 0\nmax_age = inf\n")
    assert _loads(text) == _loads(GOOD)


@pytest.mark.parametrize(("edit", "key", "message"), MISTAKES)
def test_invalid_file_names_the_key(edit: tuple[str, str], key: str | None, message: str) -> None:
    with pytest.raises(PolicyFileError, match=message) as info:
        _loads(_edit(*edit), source="p.toml")
    assert info.value.key == key
    assert (f"key {key!r}" if key else "p.toml: unknown") in str(info.value)
    assert str(info.value).startswith("p.toml: ")


@pytest.mark.parametrize(("edit", "key", "message"), MISTAKES)
def test_synapse_config_gives_the_same_message_for_the_same_mistake(
    tmp_path: Path, edit: tuple[str, str], key: str | None, message: str
) -> None:
    """The Synapse module's ``policy:`` block (YAML, here the same mapping) goes through the
    same validator: the same reason, at the same key, as a Synapse config path."""
    doc = tomllib.loads(_edit(*edit))
    with pytest.raises(PolicyFileError) as from_file:
        AlertPolicy.from_mapping(doc, source="p.toml")
    config = {"state_dir": str(tmp_path), "alerts": {"jsonl": str(tmp_path / "a")}, "policy": doc}
    with pytest.raises(SynapseConfigError) as from_synapse:
        parse_synapse(config)
    assert from_synapse.value.msg == from_file.value.reason
    assert from_synapse.value.path == ("policy", *map(str, from_file.value.path))
    assert (
        str(from_synapse.value) == f"{'.'.join(from_synapse.value.path)}: {from_file.value.reason}"
    )


def test_synapse_config_reads_a_policy_file_or_the_same_keys_inline(tmp_path: Path) -> None:
    base = {"state_dir": str(tmp_path), "alerts": {"jsonl": str(tmp_path / "a")}}
    inline = parse_synapse({**base, "policy": tomllib.loads(GOOD)})
    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    from_file = parse_synapse({**base, "policy": str(path)})
    assert inline.policy == from_file.policy == _loads(GOOD)
    path.write_text(_edit("urgent = 0.5", 'urgent = "high"'))
    with pytest.raises(SynapseConfigError, match=r"p\.toml: key 'bands\[0\]\.urgent'") as info:
        parse_synapse({**base, "policy": str(path)})
    assert info.value.path == ("policy",)
    with pytest.raises(SynapseConfigError, match="no such policy file") as info:
        parse_synapse({**base, "policy": str(tmp_path / "nope.toml")})
    with pytest.raises(SynapseConfigError, match="expected a table") as info:
        parse_synapse({**base, "policy": [1, 2]})
    assert info.value.path == ("policy",)


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("bands = [")
    with pytest.raises(PolicyFileError, match="not valid TOML"):
        AlertPolicy.from_toml(bad)
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        AlertPolicy.from_toml(tmp_path / "nope.toml")


# ------------------------------------------------------------------ policy check


def test_check_counts_agree_with_policy() -> None:
    data = rs.synthetic.generate(1500, prevalence=0.05, seed=3)
    scores = rs.load_model().score(data.messages)
    policy = AlertPolicy.default()
    check = check_policy(policy, scores, data.labels.conversation_id, data.labels.is_grooming)
    assert sum(b.alerts for b in check.bands) == len(policy.alerts(scores))
    assert sum(b.n_grooming for b in check.bands) == int(data.labels.is_grooming.sum())
    cap = policy.tiers(np.ones(len(scores)), scores.child_age, scores.adult_age)
    assert sum(b.guarded for b in check.bands) == int((cap < 2).sum())
    # a lower threshold never raises fewer alerts
    for band in {r.band for r in check.sweep}:
        alerts = [r.alerts for r in check.sweep if r.band == band]
        assert alerts == sorted(alerts, reverse=True)
    with pytest.raises(ValueError, match="has no label"):
        check_policy(policy, scores, np.array([-1]), np.array([True]))


def test_cli_policy_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["policy", "check", str(DEFAULT_FILE), "--conversations", "1500", "--seed", "2"]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is True
    assert result["guards"] == {"adult_pairs_alert": False, "minor_peer_max_gap_years": 3.0}
    assert {b["band"] for b in result["bands"]} == {
        "under 13",
        "13-15",
        "16-17",
        "18+",
        "unknown",
        "minor, other age unknown",
    }
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "threshold versus workload" in out
    assert "two known adults never alert" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(_edit("urgent = 0.5", 'urgent = "high"'))
    assert main(["policy", "check", str(bad)]) == 2
    assert "bands[0].urgent" in capsys.readouterr().err


# ------------------------------------------------------------------ --policy


COLUMNS = (
    "conversation_id",
    "timestamp",
    "sender_id",
    "recipient_id",
    "channel",
    "sender_age",
    "recipient_age",
)
#: conversation id -> (child's age, adult's age); None is unknown
PAIRS = {0: (12.0, 35.0), 1: (15.0, 14.0), 2: (12.0, 17.0), 3: (25.0, 40.0), 4: (None, None)}


def _events() -> list[dict[str, Any]]:
    events = []
    for cid, (child, adult) in PAIRS.items():
        for k in range(10):
            adult_sends = k % 3 != 2
            own, other = (adult, child) if adult_sends else (child, adult)
            events.append(
                {
                    "conversation_id": cid,
                    "timestamp": 1_700_000_000 + 5000 * cid + 900 * k,
                    "sender_id": f"adult{cid}" if adult_sends else f"child{cid}",
                    "recipient_id": f"child{cid}" if adult_sends else f"adult{cid}",
                    "channel": "direct" if k < 5 else "encrypted",
                    "sender_age": own,
                    "recipient_age": other,
                }
            )
    return events


def _low_policy_file(tmp_path: Path) -> tuple[Path, AlertPolicy]:
    """A policy below every risk of :func:`_events`, so each pair's tier is its guards' cap."""
    events = _events()
    scores = rs.load_model().score(rs.read_messages({k: [e[k] for e in events] for k in COLUMNS}))
    low = float(scores.risk.min())
    band = rs.AgeBand("all", 0.0, math.inf, review=low / 4, urgent=low / 2)
    policy = AlertPolicy(
        bands=(band,), unknown=rs.AgeBand("unknown", 0.0, math.inf, low / 4, low / 2)
    )
    path = tmp_path / "low.toml"
    path.write_text(policy.to_toml(name="low"))
    return path, policy


def _bad_policy_file(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.toml"
    bad.write_text(_edit("urgent = 0.5", 'urgent = "high"'))
    return bad


EXPECTED_TIERS = {0: "urgent", 1: "review", 2: "urgent", 4: "urgent"}  # 3: two adults


def test_score_with_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.csv"
    with events.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in e.items()} for e in _events())
    policy_file, _ = _low_policy_file(tmp_path)
    out = tmp_path / "out"
    argv = ["score", str(events), "--out", str(out), "--format", "jsonl", "--json"]
    assert main([*argv, "--policy", str(policy_file)]) == 0
    result = json.loads(capsys.readouterr().out)
    alerts = [json.loads(line) for line in (out / "alerts.jsonl").read_text().splitlines()]
    # ids from a CSV file are text ("007" is not "7")
    assert {int(a["conversation_id"]): a["tier"] for a in alerts} == EXPECTED_TIERS
    assert result["alerts"] == 4
    assert result["urgent"] == 3
    pair = next(a for a in alerts if a["conversation_id"] == "1")
    assert (pair["child_age"], pair["adult_age"], pair["age_band"]) == (14.0, 15.0, "all")
    assert main(argv) == 0  # the default policy: fewer alerts on these benign-looking pairs
    assert json.loads(capsys.readouterr().out)["alerts"] < 4

    assert main([*argv, "--policy", str(_bad_policy_file(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("riskscore score: error: ")
    assert "bad.toml: key 'bands[0].urgent': expected a number" in err
    assert "Traceback" not in err
    assert main([*argv, "--policy", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_stream_with_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "".join(
        json.dumps({k: v for k, v in e.items() if v is not None}) + "\n" for e in _events()
    )
    policy_file, _ = _low_policy_file(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["stream", "--policy", str(policy_file)]) == 0
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    highest = {}
    for alert in alerts:
        highest[alert["conversation_id"]] = alert["tier"]
    assert highest == EXPECTED_TIERS
    assert all(a["conversation_id"] != 3 for a in alerts)

    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["stream", "--policy", str(_bad_policy_file(tmp_path))]) == 2
    captured = capsys.readouterr()
    assert "riskscore stream: error: " in captured.err
    assert "bands[0].urgent" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_evaluate_with_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "data"
    rs.synthetic.generate(600, prevalence=0.1, seed=5).write(data_dir)
    strict = tmp_path / "strict.toml"
    band = rs.AgeBand("all", 0.0, math.inf, review=0.999999, urgent=0.9999999)
    unknown = rs.AgeBand("unknown", 0.0, math.inf, review=0.999999, urgent=0.9999999)
    strict.write_text(AlertPolicy(bands=(band,), unknown=unknown).to_toml())
    argv = ["evaluate", "--data", str(data_dir), "--bootstrap", "40", "--replay-events", "0"]
    argv += ["--no-plots", "--json"]
    assert main([*argv, "--out", str(tmp_path / "default")]) == 0
    default = json.loads(capsys.readouterr().out)
    assert main([*argv, "--out", str(tmp_path / "strict"), "--policy", str(strict)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["alerts_per_million"] < default["alerts_per_million"]
    assert result["pr_auc"] == default["pr_auc"]  # the policy decides; the scores are the same

    assert (
        main([*argv, "--out", str(tmp_path / "x"), "--policy", str(_bad_policy_file(tmp_path))])
        == 2
    )
    err = capsys.readouterr().err
    assert "riskscore evaluate: error: " in err
    assert "bands[0].urgent" in err
    assert not (tmp_path / "x").exists()  # refused before any work


@pytest.mark.parametrize("command", ["score", "stream", "evaluate"])
def test_policy_option_has_help_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--policy FILE" in out
    assert f"riskscore {command} " in out
    assert "--policy policies/mine.toml" in out


# ------------------------------------------------------------------ format 3: unknown_adult

NAN = math.nan
V3 = _edit("format_version = 2", "format_version = 3").replace(
    "[guards]", "[unknown_adult]\nreview = 0.4\nurgent = 0.8\n[guards]"
)


def test_unknown_adult_band_is_read_written_and_applied() -> None:
    """A known minor with an account of unknown age takes the ``unknown_adult`` band; a
    file without one (format 1 or 2) keeps the child's band for them, as before."""
    policy = _loads(V3)
    assert policy.unknown_adult == AgeBand("minor, other age unknown", 0, math.inf, 0.4, 0.8)
    assert AlertPolicy.from_mapping(tomllib.loads(policy.to_toml())) == policy
    assert policy.tier_of(0.5, child_age=12.0, adult_age=NAN) == Tier.REVIEW
    assert policy.tier_of(0.35, child_age=12.0, adult_age=NAN) is None  # young: 0.2, not here
    assert policy.tier_of(0.35, child_age=12.0, adult_age=30.0) == Tier.REVIEW
    assert policy.band_of(12.0, NAN).name == "minor, other age unknown"
    assert policy.band_of(NAN, NAN).name == "unknown"  # the child's age unknown: its band
    before = _loads(GOOD)
    assert before.unknown_adult is None
    assert before.tier_of(0.35, child_age=12.0, adult_age=NAN) == Tier.REVIEW
    assert "[unknown_adult]" not in before.to_toml()


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (
            V3.replace("format_version = 3", "format_version = 2"),
            "unknown_adult",
            "the unknown_adult table needs format_version = 3, this policy says 2",
        ),
        (
            V3.replace("review = 0.4", "review = 0.4\nmin_age = 5"),
            "unknown_adult.min_age",
            "the unknown_adult band covers children of any age",
        ),
        (V3.replace("urgent = 0.8", ""), "unknown_adult.urgent", "missing"),
        (
            V3.replace("review = 0.4", 'review = 0.4\nname = "unknown"'),
            "bands",
            "'unknown' is used twice",
        ),
    ],
)
def test_unknown_adult_mistakes_name_the_key(text: str, key: str, message: str) -> None:
    with pytest.raises(PolicyFileError, match=message) as info:
        _loads(text, source="p.toml")
    assert info.value.key == key
