"""The one TOML reader of policy, vignette and world files (``riskscore._toml``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from riskscore.policy import AlertPolicy, PolicyFileError
from riskscore.synthetic import World
from riskscore.vignettes import read_vignette
from riskscore.vignettes.loader import data_directory

#: What Windows editors (Notepad, PowerShell's UTF8 encoding) write before UTF-8 text.
BOM = b"\xef\xbb\xbf"


def _with_bom(path: Path, text: str) -> Path:
    path.write_bytes(BOM + text.encode("utf-8"))
    return path


def test_a_policy_file_that_starts_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    policy = AlertPolicy.default()
    path = _with_bom(tmp_path / "mine.toml", policy.to_toml(name="mine"))
    assert AlertPolicy.from_toml(path) == policy


def test_a_world_file_that_starts_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    text = resources.files("riskscore.synthetic").joinpath("default_world.toml").read_text("utf-8")
    assert World.from_toml(_with_bom(tmp_path / "world.toml", text)) == World.default()


def test_a_vignette_file_that_starts_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    (source,) = sorted(data_directory().iterdir(), key=lambda p: p.name)[:1]
    path = _with_bom(tmp_path / source.name, source.read_text("utf-8"))
    assert read_vignette(path) == read_vignette(source)


def test_only_a_leading_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "twice.toml"
    path.write_bytes(BOM + BOM + AlertPolicy.default().to_toml().encode("utf-8"))
    with pytest.raises(PolicyFileError, match="not valid TOML"):
        AlertPolicy.from_toml(path)
