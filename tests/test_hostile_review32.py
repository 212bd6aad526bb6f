"""Hostile review 32: the environment variables riskscore reads, the synthetic worlds'
whole numbers, vignette numbers beyond a float, and the base world of ``draw_world``.

Each test failed on the code before its fix. All data is synthetic."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.cli import serve as serve_command
from riskscore.cli.entrypoint import build_parser
from riskscore.exceptions import ModelIntegrityError
from riskscore.io.threads import THREADS_VARIABLE, worker_threads
from riskscore.model.bundle import KEY_VARIABLE
from riskscore.synthetic import World, draw_world, generate, generate_parquet
from riskscore.synthetic.profiles import MAX_CONVERSATION_EVENTS
from riskscore.synthetic.world import MAX_FANOUT
from riskscore.vignettes import VignetteFileError, read_vignette
from riskscore.vignettes.loader import data_directory

EVENTS = (
    "conversation_id,timestamp,sender_id,recipient_id,channel,sender_age,recipient_age,event\n"
    "c1,1700000000,adult,kid,public,41,12,contact_request\n"
    "c1,1700000060,kid,adult,public,12,41,contact_accept\n"
)
INT64_MAX = 2**63 - 1


# ------------------------------------------------------------ RISKSCORE_NUM_THREADS


def test_a_bad_thread_count_is_named_as_the_variable_not_as_the_events_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``RISKSCORE_NUM_THREADS=two riskscore score events.parquet`` ended with
    ``events.parquet: not a readable Parquet events file (ValueError: environment variable
    RISKSCORE_NUM_THREADS='two' ...)``: the reader took the variable's error for the file's,
    and the user was sent to look for a broken file."""
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    monkeypatch.setenv(THREADS_VARIABLE, "two")
    with pytest.raises(ValueError, match=r"^environment variable RISKSCORE_NUM_THREADS='two'"):
        rs.read_messages(events)
    code = main(["score", str(events), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("riskscore score: error: environment variable RISKSCORE_NUM_THREADS=")
    assert "not a readable" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("setting", ["1_6", "\uff11", "\u0663"])
def test_a_thread_count_written_as_no_number_riskscore_reads_is_refused(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: read by Python's ``int``, which takes ``1_6`` as 16 and digits of other scripts
    (a full-width 1, an Arabic-Indic 3); every number riskscore reads elsewhere (the CLI's
    options, the data) is ASCII digits without ``_`` (``riskscore.io.text.is_number_text``)."""
    monkeypatch.setenv(THREADS_VARIABLE, setting)
    with pytest.raises(ValueError, match="is not a number of threads"):
        worker_threads()


# ------------------------------------------------------------ secrets set but empty


def test_an_empty_model_key_is_refused_not_read_as_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: ``RISKSCORE_MODEL_KEY=`` (a secret that did not reach the container) was read as
    no key: bundles were loaded without their signature checked and saved unsigned, without
    a word. A key of one space was refused (1 byte); one of none was not."""
    model = rs.load_model()
    monkeypatch.setenv(KEY_VARIABLE, "")
    with pytest.raises(ModelIntegrityError, match=f"{KEY_VARIABLE} is set but empty"):
        rs.load_model()
    with pytest.raises(ModelIntegrityError, match=f"{KEY_VARIABLE} is set but empty"):
        rs.save_model(model, tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()


def test_an_empty_api_token_is_refused_not_read_as_an_open_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: ``RISKSCORE_API_TOKEN=`` was read as no token (``... or None``): ``riskscore
    serve`` answered ``/v1/*`` and ``/metrics`` to anyone, without a word."""
    monkeypatch.setenv("RISKSCORE_SESSION_KEY", "a session key of synthetic tests 0123456789")
    monkeypatch.setenv("RISKSCORE_API_TOKEN", "")
    args = build_parser().parse_args(
        ["serve", "--db", str(tmp_path / "q.sqlite"), "--checkpoint", str(tmp_path / "c.sqlite")]
    )
    with pytest.raises(ValueError, match="RISKSCORE_API_TOKEN is set but empty"):
        serve_command._config(args)
    assert not (tmp_path / "c.sqlite").exists()  # refused before any file is made


# ------------------------------------------------------------ worlds' whole numbers


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_fanout": INT64_MAX + 1}, "max_fanout"),
        ({"max_fanout": 10**30}, "max_fanout"),
        (
            {"scenarios": {"grooming_refused": {"max_unanswered": INT64_MAX + 1}}},
            "scenario 'grooming_refused'.max_unanswered",
        ),
    ],
)
def test_a_world_integer_beyond_int64_is_refused_by_name(
    changes: dict[str, object], field: str
) -> None:
    """Was: taken by the world (an integer >= 0 or 1, no upper bound), then the generator's
    int64 arrays could not hold it: ``max_fanout`` 2**63 ended ``generate`` with
    ``OverflowError: Python int too large to convert to C long``, naming nothing;
    ``max_unanswered`` 2**63 was cast to int64 with numpy's "invalid value" warning, a
    nonsense bound in silence. World files (TOML integers of any length) reach the same
    fields."""
    with pytest.raises(ValueError, match=rf"^{re.escape(field)}: must be an integer .*<= \d+, got"):
        World.default().replace(**changes)


def test_world_integers_at_their_largest_generate() -> None:
    """A guard that passed before: the largest values the bounds keep still generate
    (``max_unanswered`` is bounded by the most events of a conversation, which no larger
    value changes; 2**63 - 1 went through a float, 2**63, and failed as above)."""
    world = World.default().replace(
        max_fanout=MAX_FANOUT,
        scenarios={"grooming_refused": {"max_unanswered": MAX_CONVERSATION_EVENTS}},
    )
    assert generate(40, prevalence=0.5, seed=1, world=world).messages.n_conversations == 40


def test_a_scenarios_max_unanswered_may_be_a_numpy_integer() -> None:
    """Was: ``max_unanswered`` took only a Python int (``np.int64(3)`` was "must be an
    integer"), where every other whole number of a world takes numpy's too (``is_int``)."""
    world = World.default().replace(scenarios={"grooming_refused": {"max_unanswered": np.int64(3)}})
    assert world.scenario("grooming_refused").max_unanswered == 3


# ------------------------------------------------------------ draw_world's base


@pytest.mark.parametrize("base", ["default", {}, {"name": "mine"}])
def test_draw_world_refuses_a_base_that_is_not_a_world(base: object) -> None:
    """Was: a base that is not a World ended with ``AttributeError: 'str' object has no
    attribute 'to_dict'``, and an empty mapping (false) drew from the default world in
    silence; ``generate(world=...)`` refuses both naming what it needs."""
    with pytest.raises(ValueError, match=r"^base must be a riskscore\.synthetic\.World, got"):
        draw_world(3, base=base)  # type: ignore[arg-type]


# ------------------------------------------------------------ vignette numbers


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("adult = { age = 34, tz = 60 }", "adult = { age = 1%s, tz = 60 }", "accounts.adult.age"),
        ("after_min = 40", "after_min = 1%s", "conversations[0].phases[0].opening[1].after_min"),
        ("hours = [16.5, 19.5]", "hours = [1%s, 19.5]", "conversations[0].phases[0].hours[0]"),
    ],
)
def test_a_vignette_number_too_large_for_a_float_is_refused_by_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    """Was: TOML integers have no length limit in Python's reader, and the vignette's number
    check called ``math.isnan`` on them: ``OverflowError: int too large to convert to
    float``, naming neither the file nor the key. One number rule
    (``riskscore._checks.is_real``), as world parameters got in review 6."""
    source = data_directory() / "g01-cold-contact-12-encrypted-night.toml"
    text = source.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "t01-huge.toml"
    path.write_text(text.replace(old, new % ("0" * 400), 1), encoding="utf-8")
    with pytest.raises(VignetteFileError) as info:
        read_vignette(path)
    assert str(info.value).startswith(f"t01-huge.toml: key {key!r}: expected a number")


# ------------------------------------------------------------ RISKSCORE_MODEL_DIR


def test_a_model_dir_from_the_environment_that_holds_no_bundle_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``RISKSCORE_MODEL_DIR`` left pointing at a folder without a bundle (a stale
    export, a typo) made every command without ``--model`` fail with ``no manifest.json in
    data: not a riskscore model bundle``: nothing said that the folder came from the
    environment, and the command line named no model."""
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    monkeypatch.setenv("RISKSCORE_MODEL_DIR", str(tmp_path / "stale"))
    with pytest.raises(ModelIntegrityError, match="named by the environment variable"):
        rs.load_model()
    code = main(["score", str(events), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "RISKSCORE_MODEL_DIR" in err
    assert len(err.strip().splitlines()) == 1
    # a folder given by name is not said to come from the environment
    with pytest.raises(ModelIntegrityError) as info:
        rs.load_model(tmp_path / "other")
    assert "RISKSCORE_MODEL_DIR" not in str(info.value)


# ------------------------------------------------------------ generate_parquet's two files


def test_generate_parquet_refuses_one_file_for_events_and_labels(tmp_path: Path) -> None:
    """Was: ``labels_path`` naming the events file itself (or a link to it) had both writers
    write one ``.partial`` file; the call ended with ``FileNotFoundError`` on the second
    move, after the first had replaced the earlier ``events.parquet``: the new run's events
    beside the earlier run's labels, a pair that does not belong together."""
    events, labels = generate_parquet(tmp_path / "events.parquet", 30, seed=1)
    before = (events.read_bytes(), labels.read_bytes())
    (tmp_path / "link.parquet").symlink_to(events)
    for same in (events, tmp_path / "link.parquet"):
        with pytest.raises(ValueError, match=r"^path and labels_path name one file"):
            generate_parquet(events, 40, seed=2, labels_path=same)
        assert (events.read_bytes(), labels.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "events.parquet",
        "labels.parquet",
        "link.parquet",
    ]


def test_generate_parquet_refuses_a_folder_for_either_file_before_writing(tmp_path: Path) -> None:
    """Was: a ``labels_path`` that is a folder was found out at the last move, after the new
    events had replaced the earlier ones (``IsADirectoryError`` naming ``labels.partial``):
    the earlier labels stayed beside the new events."""
    events, labels = generate_parquet(tmp_path / "events.parquet", 30, seed=1)
    before = (events.read_bytes(), labels.read_bytes())
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        generate_parquet(events, 40, seed=2, labels_path=tmp_path / "folder")
    assert info.value.filename == str(tmp_path / "folder")
    assert (events.read_bytes(), labels.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "events.parquet",
        "folder",
        "labels.parquet",
    ]
