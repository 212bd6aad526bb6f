"""Defects fixed by follow54: each test failed before its fix."""

from __future__ import annotations

import importlib

import pytest
from test_optional import _forget, _hide

from riskscore.exceptions import MissingExtraError

# ---------------------------------------------------------------- Synapse without its extra


@pytest.mark.parametrize(
    ("module", "hidden"),
    [
        ("riskscore.integrations._synapse_sinks", "synapse"),
        ("riskscore.integrations._synapse_harness", "signedjson"),
    ],
)
def test_synapse_modules_without_the_extra_name_it(
    monkeypatch: pytest.MonkeyPatch, module: str, hidden: str
) -> None:
    """Was: ``import riskscore.integrations._synapse_sinks`` without Synapse raised a bare
    ``ModuleNotFoundError: No module named 'synapse.module_api'``, and the test homeserver
    of ``_synapse_harness`` one for ``signedjson`` when it wrote its signing key."""
    _hide(monkeypatch, hidden)
    _forget(monkeypatch, module)
    with pytest.raises(MissingExtraError, match=r"riskscore-metadata\[synapse\]") as info:
        importlib.import_module(module)
    assert info.value.extra == "synapse"
    assert hidden in str(info.value)
