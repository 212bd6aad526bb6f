"""The online scorer's options shared by ``riskscore stream`` and ``riskscore serve``.

One definition of each option (name, unit, default) and one way to build or restore an
:class:`~riskscore.online.OnlineScorer` from them, so that both commands score the same
events the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from riskscore.cli._future_option import add_max_future_s_option
from riskscore.cli._groups_option import add_max_room_members_option
from riskscore.cli._time import integer, positive_seconds, seconds
from riskscore.model import RiskModel
from riskscore.online import OnlineScorer
from riskscore.online.lock import claim
from riskscore.online.memory import DEFAULT_MAX_CONVERSATIONS
from riskscore.online.options import DEFAULT_IDLE_EXPIRY_S, DEFAULT_MAX_ACCOUNT_CONTACTS
from riskscore.online.persist import CHECKPOINTED_OPTIONS
from riskscore.policy import AlertPolicy

__all__ = ["add_scorer_options", "scorer_from_args"]

#: Where add_scorer_options keeps the parser's defaults of the options a checkpoint keeps
#: (:data:`~riskscore.online.persist.CHECKPOINTED_OPTIONS`, and ``--time-source``) in the
#: namespace. The options themselves parse to None when not given, so that an option left
#: out keeps the checkpoint's value and one asked for, even at its default, is compared
#: with it.
_DEFAULTS = "scorer_option_defaults"
#: The options whose absence a restore must tell from their default value.
_RESTORED = (*CHECKPOINTED_OPTIONS, "time_source")


def add_idle_expiry_option(parser: argparse.ArgumentParser, *, what: str = "") -> None:
    """Add ``--idle-expiry-s`` (``what`` prefixes its help; its default is the scorer's,
    or None after a ``what``, for the command to fill in where it applies)."""
    parser.add_argument(
        "--idle-expiry-s",
        type=positive_seconds,
        default=None if what else DEFAULT_IDLE_EXPIRY_S,
        help=f"{what}forget conversations and accounts with no event for this many seconds of "
        f"event time (default: {DEFAULT_IDLE_EXPIRY_S:.0f} s, 30 days; inf keeps everything)",
    )


def add_scorer_options(parser: argparse.ArgumentParser) -> None:
    """Add the scorer's options (expiry, cool-down, late and future events, the cap, the
    largest group room scored)."""
    add_idle_expiry_option(parser)
    parser.add_argument(
        "--cooldown-s",
        type=seconds,
        default=0.0,
        help="minimum event time between two alerts of one conversation, in seconds",
    )
    parser.add_argument(
        "--reorder-tolerance-s",
        type=seconds,
        default=300.0,
        help="events up to this many seconds late are clamped, later ones refused",
    )
    add_max_future_s_option(parser, online=True)
    parser.add_argument(
        "--time-source",
        choices=("wall", "events"),
        default="wall",
        help="the clock --max-future-s is measured from: the system clock (wall), or for "
        "replaying history the latest accepted event (events; the first event, which sets "
        "it, may be dated at most five years, or --max-future-s if longer, after the time of "
        "reading, as in batch; events before 2000-01-01 are refused with either)",
    )
    parser.add_argument(
        "--max-conversations",
        type=integer,
        default=DEFAULT_MAX_CONVERSATIONS,
        help="cap on live conversations; the least recently active is evicted beyond it",
    )
    add_max_room_members_option(parser)
    parser.add_argument(
        "--max-account-contacts",
        type=integer,
        default=DEFAULT_MAX_ACCOUNT_CONTACTS,
        help="most distinct accounts one account's counts hold; past it (a flood of new ids) "
        "they stop growing",
    )
    defaults = {dest: parser.get_default(dest) for dest in _RESTORED}
    for action in parser._actions:  # argparse keeps no public list of its options
        if action.dest in defaults:
            action.help = _with_default(action.help or "", defaults[action.dest])
    parser.set_defaults(**{_DEFAULTS: defaults}, **dict.fromkeys(_RESTORED))


def _with_default(text: str, default: object) -> str:
    """An option's help naming its default as written, since the option itself parses to
    None when left out (the help formatter would show None, or no default at all)."""
    if "%(default)s" in text:
        return text.replace("%(default)s", str(default))
    return text if "default:" in text else f"{text} (default: {default})"


def scorer_from_args(
    args: argparse.Namespace,
    model: RiskModel,
    policy: AlertPolicy,
    checkpoint: Path | None,
    *,
    shadow_model: RiskModel | None = None,
) -> OnlineScorer:
    """The scorer restored from ``checkpoint`` when that file exists, else a new one.

    A restored scorer keeps the configuration stored in its checkpoint; an option given
    with another value than the stored one is refused (``ValueError`` naming each), never
    ignored in silence. ``--time-source``, which :meth:`OnlineScorer.restore` lets a
    restart change (replay, then go live), applies when given.
    ``shadow_model`` is scored next to ``model`` (``OnlineScorer(shadow_model=...)``).

    The scorer claims ``checkpoint`` (:meth:`OnlineScorer.claim_checkpoint`) before it is
    read, and so before any input: a second command on the same file fails here.
    """
    if checkpoint is None:
        return _new_scorer(args, model, policy, shadow_model)
    with claim(checkpoint):
        if checkpoint.exists():
            scorer = OnlineScorer.restore(
                checkpoint,
                model,
                policy,
                time_source=args.time_source,  # None: the checkpoint's
                shadow_model=shadow_model,
            )
            try:
                _refuse_other_options(args, scorer, checkpoint)
            except ValueError:
                scorer.release_checkpoints()
                raise
        else:
            scorer = _new_scorer(args, model, policy, shadow_model)
        scorer.claim_checkpoint(checkpoint)
    return scorer


def _new_scorer(
    args: argparse.Namespace,
    model: RiskModel,
    policy: AlertPolicy,
    shadow_model: RiskModel | None,
) -> OnlineScorer:
    defaults = getattr(args, _DEFAULTS)
    options = {
        dest: defaults[dest] if getattr(args, dest) is None else getattr(args, dest)
        for dest in _RESTORED
    }
    return OnlineScorer(model, policy, **options, shadow_model=shadow_model)


def _refuse_other_options(args: argparse.Namespace, scorer: OnlineScorer, checkpoint: Path) -> None:
    """Refuse the options asked for (given on the command line, at their default value
    too) that differ from those a restored scorer keeps from its checkpoint."""
    differ = [
        f"--{dest.replace('_', '-')} {_shown(getattr(args, dest))} "
        f"(the checkpoint's: {_shown(getattr(scorer, dest))})"
        for dest in CHECKPOINTED_OPTIONS
        if getattr(args, dest) is not None and getattr(args, dest) != getattr(scorer, dest)
    ]
    if differ:
        raise ValueError(
            f"{checkpoint} holds a scorer with other options than asked: {'; '.join(differ)}. "
            "A restored scorer keeps the options it was checkpointed with: leave them out, "
            "or start a new checkpoint file to change them"
        )


def _shown(value: float) -> str:
    """A number as an option takes it: 3600, 1000000, 0.5, inf."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
