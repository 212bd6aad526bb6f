"""Configuration of the Synapse module: parsed and validated once, at start-up (private).

Plain Python, no Synapse import, so the rules are testable on their own; the
module turns :class:`SynapseConfigError` into Synapse's ``ConfigError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from riskscore._checks import is_int, is_real, unknown_keys_problem
from riskscore.exceptions import ModelIntegrityError
from riskscore.integrations._synapse_errors import SynapseConfigError
from riskscore.integrations._synapse_files import check_files
from riskscore.integrations._synapse_store import is_room_id, is_user_id
from riskscore.io.raw import show
from riskscore.io.schema import MAX_TZ_OFFSET_MIN, MIN_TZ_OFFSET_MIN
from riskscore.io.time_zones import time_zone
from riskscore.io.tz_offsets import one_tz_offset_problem
from riskscore.model import RiskModel, load_model
from riskscore.model.bundle import MANIFEST
from riskscore.online.options import DEFAULT_IDLE_EXPIRY_S
from riskscore.policy import AlertPolicy, PolicyFileError

__all__ = [
    "MIN_SYNAPSE",
    "AgeSourceConfig",
    "ModerationRoomConfig",
    "SynapseConfig",
    "SynapseConfigError",
    "load_bundle",
    "module_api_problem",
    "parse",
]

#: The oldest Synapse whose module API has every method the module calls: 1.136 added
#: ``ModuleApi.run_as_background_process`` (which scoring runs in). The floor of the
#: ``synapse`` extra in ``pyproject.toml`` (tests/test_hostile_hr69c.py keeps them equal).
MIN_SYNAPSE: Final = "1.136"
#: The longest ``checkpoint_interval_s`` (a day): longer is a typo, and Synapse cannot
#: schedule an infinite one.
MAX_CHECKPOINT_INTERVAL_S: Final = 86_400.0
#: A Matrix user id's localpart (the spec's grammar for new ids); a whole id is at most
#: 255 characters, so the localpart leaves room for the server name.
MAX_LOCALPART_CHARS: Final = 200
_LOCALPART: Final = re.compile(rf"[a-z0-9._=\-/+]{{1,{MAX_LOCALPART_CHARS}}}")
#: The methods of ``ModuleApi`` the module calls that Synapse before :data:`MIN_SYNAPSE` lacks.
_NEWER_MODULE_API: Final = ("run_as_background_process",)

_TOP_KEYS = frozenset(
    {
        "state_dir",
        "model",
        "policy",
        "ages",
        "alerts",
        "conversation_scope",
        "max_fanout_members",
        "max_queue",
        "batch_size",
        "checkpoint_interval_s",
        "idle_expiry_s",
        "default_tz_offset_min",
        "default_time_zone",
        "events_log",
        "shadow",
    }
)


@dataclass(frozen=True, slots=True)
class AgeSourceConfig:
    """Where declared ages (and UTC offsets) of Matrix users come from.

    Attributes
    ----------
    kind : {"none", "csv", "sqlite", "callable"}
        ``csv``: a file with columns ``user_id, age[, tz_offset_min]``;
        ``sqlite``: a database with a table of the same columns;
        ``callable``: ``"package.module:function"`` called with a user id,
        returning ``None`` or ``(age, tz_offset_min)`` (either may be None).
    path : Path or None
        The CSV or SQLite file.
    table : str
        SQLite table name.
    target : str
        The callable's import path.
    """

    kind: Literal["none", "csv", "sqlite", "callable"] = "none"
    path: Path | None = None
    table: str = "declared_ages"
    target: str = ""


@dataclass(frozen=True, slots=True)
class ModerationRoomConfig:
    """A room the module posts alerts to, as its own notice user.

    Attributes
    ----------
    user_localpart : str
        Localpart of the local account that posts (created if missing).
    moderators : tuple of str
        Matrix ids invited to the room when the module creates it.
    room_id : str or None
        An existing room the notice user has been invited to; created when None.
    """

    user_localpart: str = "riskscore"
    moderators: tuple[str, ...] = ()
    room_id: str | None = None


@dataclass(frozen=True, slots=True)
class SynapseConfig:
    """The module's validated configuration (see ``docs/synapse.md``)."""

    state_dir: Path
    model: Path | None = None
    policy: AlertPolicy | None = None
    ages: AgeSourceConfig = AgeSourceConfig()
    jsonl: Path | None = None
    moderation_room: ModerationRoomConfig | None = None
    review_queue: Path | None = None
    conversation_scope: Literal["pair", "room"] = "pair"
    max_fanout_members: int = 20
    max_queue: int = 100_000
    batch_size: int = 256
    checkpoint_interval_s: float = 60.0
    idle_expiry_s: float = DEFAULT_IDLE_EXPIRY_S
    default_tz_offset_min: int | None = None
    #: IANA time zone of recipients whose clock the age source does not know (its offset at
    #: each event's time), or None; at most one of it and ``default_tz_offset_min``.
    default_time_zone: str | None = None
    events_log: Path | None = None
    #: A candidate bundle scored next to ``model`` (``shadow: {model: ...}``), or None.
    shadow_model: Path | None = None
    #: JSON lines file its alerts are appended to (never sent to a sink).
    shadow_jsonl: Path | None = None


def _mapping(value: Any, path: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SynapseConfigError(
            f"expected a mapping, found {type(value).__name__} {show(value)}", path
        )
    return value


def _unknown(raw: Mapping[str, Any], allowed: frozenset[str], path: tuple[str, ...]) -> None:
    problem = unknown_keys_problem(raw, allowed)
    if problem:
        raise SynapseConfigError(problem, path)


def _path(value: Any, path: tuple[str, ...]) -> Path:
    if not isinstance(value, str) or not value.strip() or "\0" in value:  # no path holds NUL
        raise SynapseConfigError(f"expected a file system path, found {show(value)}", path)
    try:
        return Path(value).expanduser()
    except RuntimeError:  # "~nosuchuser/x"
        raise SynapseConfigError(f"{value!r} names the home of no user", path) from None


def _number(
    value: Any, path: tuple[str, ...], *, low: float, high: float = math.inf, integer: bool = False
) -> float:
    # a finite number (is_real: never a bool, nor an integer too large for a float, which
    # YAML reads as given), or infinity where a number of seconds may mean "never"
    ok_type = (
        (is_int(value) and is_real(value)) if integer else (is_real(value) or value == math.inf)
    )
    number = float(value) if ok_type else math.nan
    if not low <= number <= high:
        kind = "an integer" if integer else "a number"
        raise SynapseConfigError(f"expected {kind} in [{low}, {high}], found {show(value)}", path)
    return number


def _policy(raw: Any, path: tuple[str, ...]) -> AlertPolicy:
    """A policy file's path, or the same keys inline: the one validator of every policy."""
    try:
        if isinstance(raw, str):
            return AlertPolicy.from_toml(_path(raw, path))
        return AlertPolicy.from_mapping(raw)
    except FileNotFoundError:
        raise SynapseConfigError(f"no such policy file {raw!r}", path) from None
    except PolicyFileError as exc:
        if isinstance(raw, str):  # the key is in the file, which the message names
            raise SynapseConfigError(str(exc), path) from None
        raise SynapseConfigError(exc.reason, (*path, *map(str, exc.path))) from None


def _ages(raw: Any, path: tuple[str, ...]) -> AgeSourceConfig:
    ages = _mapping(raw, path)
    _unknown(ages, frozenset({"csv", "sqlite", "table", "callable"}), path)
    sources = [k for k in ("csv", "sqlite", "callable") if k in ages]
    if len(sources) > 1:
        raise SynapseConfigError(f"give one age source, found {', '.join(sources)}", path)
    if "table" in ages and "sqlite" not in ages:
        raise SynapseConfigError("'table' applies to an 'sqlite' age source only", path)
    if not sources:
        return AgeSourceConfig()
    kind = sources[0]
    if kind == "callable":
        target = ages["callable"]
        if not isinstance(target, str) or target.count(":") != 1:
            raise SynapseConfigError(
                f"expected 'package.module:function', found {show(target)}", (*path, "callable")
            )
        return AgeSourceConfig(kind="callable", target=target)
    file = _path(ages[kind], (*path, kind))
    if not file.is_file():
        raise SynapseConfigError(f"no such file {str(file)!r}", (*path, kind))
    table = ages.get("table", "declared_ages")
    if not isinstance(table, str) or not table.isidentifier():
        raise SynapseConfigError(
            f"expected a table name (an identifier), found {show(table)}", path
        )
    return AgeSourceConfig(kind="csv" if kind == "csv" else "sqlite", path=file, table=table)


def _moderation_room(raw: Any, path: tuple[str, ...]) -> ModerationRoomConfig:
    room = _mapping(raw, path)
    _unknown(room, frozenset({"user", "moderators", "room_id"}), path)
    user = room.get("user", "riskscore")
    if not isinstance(user, str) or not _LOCALPART.fullmatch(user):
        raise SynapseConfigError(
            f"expected a localpart such as 'riskscore' (lower-case letters, digits and "
            f"._=-/+, at most {MAX_LOCALPART_CHARS} characters), found {show(user)}",
            (*path, "user"),
        )
    moderators = room.get("moderators", [])
    if not isinstance(moderators, list) or not all(map(is_user_id, moderators)):
        raise SynapseConfigError(
            f"expected a list of Matrix ids such as '@mod:example.org', found {show(moderators)}",
            (*path, "moderators"),
        )
    room_id = room.get("room_id")
    if room_id is not None and not is_room_id(room_id):
        raise SynapseConfigError(
            f"expected a room id such as '!abc:example.org', found {show(room_id)}", path
        )
    if room_id is None and not moderators:
        raise SynapseConfigError("give 'room_id' or at least one of 'moderators' to invite", path)
    return ModerationRoomConfig(user, tuple(moderators), room_id)


def _bundle(value: Any, path: tuple[str, ...]) -> Path:
    model = _path(value, path)
    if not (model / MANIFEST).is_file():
        raise SynapseConfigError(
            f"{str(model)!r} is not a riskscore model bundle (no {MANIFEST})", path
        )
    return model


def _shadow(raw: Any, path: tuple[str, ...]) -> dict[str, Any]:
    """``shadow: {model: BUNDLE, jsonl: FILE}``: a candidate scored next to the model, its
    alerts appended to ``jsonl`` only."""
    shadow = _mapping(raw, path)
    _unknown(shadow, frozenset({"model", "jsonl"}), path)
    for key, what in (("model", "the candidate bundle"), ("jsonl", "where its alerts go")):
        if key not in shadow:
            raise SynapseConfigError(f"required: {what}", (*path, key))
    return {
        "shadow_model": _bundle(shadow["model"], (*path, "model")),
        "shadow_jsonl": _path(shadow["jsonl"], (*path, "jsonl")),
    }


def _alerts(raw: Any, path: tuple[str, ...]) -> dict[str, Any]:
    alerts = _mapping(raw, path)
    _unknown(alerts, frozenset({"jsonl", "moderation_room", "review_queue"}), path)
    out: dict[str, Any] = {}
    if "jsonl" in alerts:
        out["jsonl"] = _path(alerts["jsonl"], (*path, "jsonl"))
    if "moderation_room" in alerts:
        out["moderation_room"] = _moderation_room(
            alerts["moderation_room"], (*path, "moderation_room")
        )
    if "review_queue" in alerts:
        out["review_queue"] = _path(alerts["review_queue"], (*path, "review_queue"))
    if not out:
        raise SynapseConfigError(
            "configure at least one sink: jsonl, moderation_room or review_queue", path
        )
    return out


def parse(raw: Any) -> SynapseConfig:
    """Validate the module's ``config:`` block.

    Parameters
    ----------
    raw : mapping
        The block as read from ``homeserver.yaml``.

    Returns
    -------
    SynapseConfig

    Raises
    ------
    SynapseConfigError
        A missing or wrong value, with its path and how to fix it.

    Examples
    --------
    >>> import tempfile
    >>> cfg = parse({"state_dir": tempfile.gettempdir(), "alerts": {"jsonl": "/tmp/a.jsonl"}})
    >>> cfg.conversation_scope, cfg.max_fanout_members
    ('pair', 20)
    >>> try:
    ...     parse({"alerts": {"jsonl": "a.jsonl"}})
    ... except SynapseConfigError as exc:
    ...     print(exc.path, exc.msg)
    ('state_dir',) required: a directory the module may write (checkpoints, room status)
    """
    conf = _mapping(raw if raw is not None else {}, ())
    _unknown(conf, _TOP_KEYS, ())
    if "state_dir" not in conf:
        raise SynapseConfigError(
            "required: a directory the module may write (checkpoints, room status)", ("state_dir",)
        )
    if "alerts" not in conf:
        raise SynapseConfigError("required: where alerts go (jsonl, moderation_room)", ("alerts",))
    kwargs: dict[str, Any] = {"state_dir": _path(conf["state_dir"], ("state_dir",))}
    if kwargs["state_dir"].exists() and not kwargs["state_dir"].is_dir():
        raise SynapseConfigError(
            f"{conf['state_dir']!r} exists and is not a directory: give a directory the "
            "module may write",
            ("state_dir",),
        )
    kwargs.update(_alerts(conf["alerts"], ("alerts",)))
    if conf.get("model") is not None:
        kwargs["model"] = _bundle(conf["model"], ("model",))
    if "shadow" in conf:
        kwargs.update(_shadow(conf["shadow"], ("shadow",)))
    if "policy" in conf:
        kwargs["policy"] = _policy(conf["policy"], ("policy",))
    if "ages" in conf:
        kwargs["ages"] = _ages(conf["ages"], ("ages",))
    if "events_log" in conf:
        kwargs["events_log"] = _path(conf["events_log"], ("events_log",))
    if "conversation_scope" in conf:
        scope = conf["conversation_scope"]
        if scope not in ("pair", "room"):
            raise SynapseConfigError(
                f"expected 'pair' or 'room', found {show(scope)}", ("conversation_scope",)
            )
        kwargs["conversation_scope"] = scope
    for key, low, high in (("max_fanout_members", 2, 10_000), ("max_queue", 1, 10**9)):
        if key in conf:
            kwargs[key] = int(_number(conf[key], (key,), low=low, high=high, integer=True))
    if "batch_size" in conf:
        kwargs["batch_size"] = int(
            _number(conf["batch_size"], ("batch_size",), low=1, integer=True)
        )
    if conf.get("default_tz_offset_min") is not None:  # null or absent: unknown, never UTC
        path = ("default_tz_offset_min",)
        offset = int(
            _number(
                conf["default_tz_offset_min"],
                path,
                low=MIN_TZ_OFFSET_MIN,
                high=MAX_TZ_OFFSET_MIN,
                integer=True,
            )
        )
        off_step = one_tz_offset_problem(offset)  # the schema's rule: whole quarter hours
        if off_step is not None:
            raise SynapseConfigError(f"{offset} {off_step}", path)
        kwargs["default_tz_offset_min"] = offset
    if conf.get("default_time_zone") is not None:
        path = ("default_time_zone",)
        if "default_tz_offset_min" in kwargs:
            raise SynapseConfigError(
                "give default_tz_offset_min or default_time_zone, not both (a time zone follows "
                "daylight-saving time, a fixed offset does not)",
                path,
            )
        name = conf["default_time_zone"]
        if not isinstance(name, str):
            raise SynapseConfigError(f"expected a time zone name (text), found {show(name)}", path)
        try:
            kwargs["default_time_zone"] = time_zone(name).key
        except ValueError as exc:
            raise SynapseConfigError(str(exc), path) from None
    # idle expiry may be infinite (never forget); the checkpoint interval may not: Synapse
    # makes a timedelta of it, and inf (or 1e14 s) stopped the homeserver at start-up
    limits: dict[str, float] = {
        "checkpoint_interval_s": MAX_CHECKPOINT_INTERVAL_S,
        "idle_expiry_s": math.inf,
    }
    for key, most in limits.items():
        if key in conf:
            kwargs[key] = _number(conf[key], (key,), low=1e-3, high=most)
    check_files(kwargs, _inputs(conf, kwargs))
    return SynapseConfig(**kwargs)


def _inputs(conf: Mapping[str, Any], kwargs: Mapping[str, Any]) -> dict[Path, str]:
    """The files and directories the module reads, by the setting that names them."""
    found: dict[Path, str] = {}
    ages = kwargs.get("ages")
    if ages is not None and ages.path is not None:
        found[ages.path] = "the ages source (ages)"
    if isinstance(conf.get("policy"), str):
        found[_path(conf["policy"], ("policy",))] = "the policy file (policy)"
    for key, what in (("model", "the model bundle (model)"), ("shadow_model", "shadow.model")):
        if kwargs.get(key) is not None:
            found[kwargs[key]] = what
    return found


def module_api_problem(api: object, synapse_version: str) -> str | None:
    """Why Synapse's module API ``api`` cannot run the module, or None when it can.

    A Synapse older than :data:`MIN_SYNAPSE` loads the module, then fails the callback of
    every event on a method its module API lacks (in Synapse's log): nothing is scored.

    Parameters
    ----------
    api : object
        Synapse's ``ModuleApi``.
    synapse_version : str
        The running Synapse's version, for the message.

    Returns
    -------
    str or None

    Examples
    --------
    >>> print(module_api_problem(object(), "1.100.0"))
    riskscore needs Synapse 1.136 or newer (this is Synapse 1.100.0, whose module API has no \
run_as_background_process): pip install 'matrix-synapse>=1.136'
    """
    missing = [name for name in _NEWER_MODULE_API if not callable(getattr(api, name, None))]
    if not missing:
        return None
    return (
        f"riskscore needs Synapse {MIN_SYNAPSE} or newer (this is Synapse {synapse_version}, "
        f"whose module API has no {', '.join(missing)}): "
        f"pip install 'matrix-synapse>={MIN_SYNAPSE}'"
    )


def load_bundle(directory: Path | None, path: tuple[str, ...]) -> RiskModel:
    """The model bundle a setting at ``path`` names (the default bundle for None).

    Raises
    ------
    SynapseConfigError
        The bundle cannot be read or is refused (``ModelIntegrityError``).
    """
    try:
        return load_model(directory)
    except (ModelIntegrityError, OSError) as exc:
        raise SynapseConfigError(f"cannot load the model: {exc}", path) from None
