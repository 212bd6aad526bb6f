"""Packaging as a platform engineer meets it (hostile review hr69c): the floors of the
``synapse`` and ``spark`` extras, checked in fresh environments built from the wheel.

Was: the ``synapse`` extra allowed ``matrix-synapse>=1.100``, but the module calls
``ModuleApi.run_as_background_process``, which Synapse added in 1.136. On Synapse 1.100
(fresh venv, the wheel's ``[synapse]`` extra, ``matrix-synapse==1.100.0``) the module loaded,
then every event's callback failed in Synapse's log with ``AttributeError: 'ModuleApi'
object has no attribute 'run_as_background_process'`` and no event was scored; the end-to-end
homeserver test failed. With 1.136.0 it passes. The floor is now 1.136, and a Synapse that
lacks the method (riskscore installed without the extra beside an older Synapse) is refused
at start-up with one line naming the version needed.

Was: the ``spark`` extra's ``py4j>=0.10.9.7`` named a py4j that no allowed pyspark can be
installed with (pyspark 4.0.0 pins ``py4j==0.10.9.9``; pip: ResolutionImpossible).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from synapse.module_api.errors import ConfigError
from synapse_helpers import _MECHANICS_POLICY, _base, _StandInApi

from riskscore.integrations._synapse_config import MIN_SYNAPSE, module_api_problem
from riskscore.integrations.synapse import RiskscoreModule

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "optional-dependencies"
]


def _floor(extra: str, distribution: str) -> str:
    """The version ``distribution`` must reach in ``extra`` (its ``>=`` bound)."""
    for spec in EXTRAS[extra]:
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*>=\s*([0-9.]+)(?:,.*)?", spec)
        if found is not None and found[1] == distribution:
            return found[2]
    raise AssertionError(f"{extra} declares no floor of {distribution}")


def test_the_synapse_floor_is_the_first_synapse_the_module_runs_on() -> None:
    assert _floor("synapse", "matrix-synapse") == MIN_SYNAPSE == "1.136"
    assert _floor("dev", "matrix-synapse") == MIN_SYNAPSE  # the suite's homeserver too


def test_the_py4j_floor_is_one_an_allowed_pyspark_installs_with() -> None:
    assert _floor("spark", "pyspark") == "4.0"
    assert _floor("spark", "py4j") == "0.10.9.9"  # what pyspark 4.0.0 pins


class _OlderApi(_StandInApi):
    """The module API of a Synapse before 1.136: no run_as_background_process."""

    run_as_background_process = None  # type: ignore[assignment]


def test_an_older_synapse_is_refused_at_start_not_left_scoring_nothing(tmp_path: Path) -> None:
    raw: dict[str, Any] = _base(tmp_path, policy=_MECHANICS_POLICY)
    config = RiskscoreModule.parse_config(raw)
    with pytest.raises(ConfigError, match=r"needs Synapse 1\.136 or newer") as caught:
        RiskscoreModule(config, _OlderApi())  # type: ignore[arg-type]
    assert "run_as_background_process" in str(caught.value)
    assert "pip install 'matrix-synapse>=1.136'" in str(caught.value)
    assert not (tmp_path / "s").exists()  # nothing written, no checkpoint claimed
    api = _StandInApi()
    module = RiskscoreModule(config, api)  # type: ignore[arg-type]
    assert set(api.callbacks) == {"on_new_event", "on_account_data_updated"}
    module._before_shutdown()


def test_the_refusal_names_the_running_synapse() -> None:
    problem = module_api_problem(object(), "1.120.0")
    assert problem is not None
    assert "this is Synapse 1.120.0" in problem
    assert module_api_problem(_StandInApi(), "1.163.2") is None
