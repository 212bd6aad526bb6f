"""The ``riskscore`` command line: :func:`main`, and :func:`console`, the console script's
entry point.

Each subcommand lives in its own module of :mod:`riskscore.cli` and calls one plain
library function; tests call :func:`main` with a list of arguments. Progress bars
appear only on a terminal; ``--json`` prints the result as one JSON line.

Errors are handled here, once: every failure a user can cause (bad input, a file that
cannot be read or written, a file that is not a riskscore database) is one line on
stderr, ``riskscore COMMAND: error: ...``, and exit status 2, never a traceback
(:func:`error_message` maps exception types to messages). A closed pipe
(``riskscore score ... | head -2``) ends the command quietly with status 141, as a POSIX
tool killed by SIGPIPE; Ctrl-C ends it with status 130 and SIGTERM with 143, each as an
exception, so that a command cleans up as it does on a failure (a ``riskscore score`` run
leaves its output folder as it was: :mod:`riskscore.io.staging`).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import io
import json
import os
import re
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePath
from types import ModuleType
from typing import Any

from riskscore._version import __version__
from riskscore.cli import (
    accounts,
    compare,
    evaluate,
    export,
    generate,
    monitor,
    policy,
    queue,
    report,
    score,
    serve,
    stream,
    train,
    warmup,
)
from riskscore.cli._once import OnceParser
from riskscore.cli._paths import BUNDLE_TYPES, OUTPUT_TYPES, bundle_path, check_not_in_bundle
from riskscore.cli._quarantine import command_line_hint
from riskscore.cli._terminal import one_line, shown_lines
from riskscore.evaluation.records import jsonable
from riskscore.exceptions import RiskscoreError
from riskscore.io.raw import show
from riskscore.io.sqlite import unusable_text
from riskscore.model.bundle import MANIFEST

__all__ = ["COMMANDS", "console", "error_message", "main"]

#: Exit status of a command that fails on input (argparse uses it for bad arguments too).
EXIT_ERROR = 2
#: Exit status when stdout was closed by the reader (128 + SIGPIPE, as the shell reports).
EXIT_BROKEN_PIPE = 141
#: Exit status on Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Exit status on SIGTERM (128 + SIGTERM).
EXIT_TERMINATED = 143

#: The subcommands, in ``--help`` order. Each module defines ``NAME``, ``HELP``, ``EXAMPLE``
#: (shown by ``--help``), ``configure(parser)``, ``run(args, show_progress) -> dict`` (calls
#: one plain library function and returns a JSON-ready result) and ``render(result)``
#: (human-readable output). Register a new command by adding it here.
COMMANDS: tuple[ModuleType, ...] = (
    generate,
    train,
    accounts,
    score,
    stream,
    policy,
    evaluate,
    queue,
    report,
    export,
    monitor,
    compare,
    serve,
    warmup,
)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; every option's help ends with its default.

    An option whose help already names its default (``(default: ...)``), or that has
    none worth showing (flags, ``None``), is left as written.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default:" in text  # named already; "the default model" names none
            or "%(default)" in text
            or default is None
            or default == ""
            or default is argparse.SUPPRESS
            or isinstance(default, bool)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def _path_of(exc: OSError) -> str:
    """The file an OSError names; one too long for a file name (thousands of characters
    from an environment variable) cut short as :func:`~riskscore.io.raw.show` cuts values."""
    if exc.filename is None:
        return "?"
    return show(str(exc.filename)) if exc.errno == errno.ENAMETOOLONG else str(exc.filename)


def error_message(exc: BaseException, args: argparse.Namespace) -> str | None:
    """The one-line message for a failure a user can cause, or None for a bug.

    Parameters
    ----------
    exc : BaseException
        What the command raised.
    args : argparse.Namespace
        The parsed arguments (to name the file a database error is about).

    Returns
    -------
    str or None
        The message without the ``riskscore COMMAND: error:`` prefix; None for an
        exception that is not the user's (it propagates, with its traceback).

    Examples
    --------
    >>> ns = argparse.Namespace(db="events.csv")
    >>> error_message(sqlite3.DatabaseError("file is not a database"), ns)
    'events.csv is not a riskscore queue (file is not a database)'
    >>> error_message(sqlite3.OperationalError("disk I/O error"), ns)
    'cannot use events.csv: disk I/O error'
    >>> error_message(FileExistsError(17, "File exists", "out.csv"), ns)
    'out.csv exists and is not a directory: --out names a directory to write into'
    """
    source = getattr(args, "events", None)
    unreadable = isinstance(exc, UnicodeDecodeError) or type(exc).__module__.startswith("pyarrow")
    if source is not None and unreadable:  # a corrupt Parquet file, CSV that is not text, ...
        return f"cannot read {source}: {exc}"
    if isinstance(exc, RiskscoreError | ValueError):  # SchemaError, PolicyFileError, JSON, ...
        return command_line_hint(in_option_words(str(exc), args), args)
    if isinstance(exc, FileExistsError | NotADirectoryError):
        # mkdir of --out (or a file inside it) where a file already is.
        if getattr(args, "command", None) == "accounts":  # its --out is a file
            return f"{_path_of(exc)} exists and is not a directory: --out names a file in one"
        return (
            f"{_path_of(exc)} exists and is not a directory: --out names a directory to write into"
        )
    if isinstance(exc, IsADirectoryError):
        if exc.filename is None:  # raised with its own message (riskscore.io.sqlite)
            return str(exc)
        return f"{exc.filename} is a directory; expected a file"
    if isinstance(exc, FileNotFoundError):
        if exc.filename is None:
            return str(exc)
        folder = Path(os.fsdecode(exc.filename)).parent
        if not folder.is_dir():  # a file to create in a folder that is not there
            return f"no such directory: {folder} (for {exc.filename}); create it first"
        return f"no such file or directory: {exc.filename}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {_path_of(exc)}"
    if isinstance(exc, sqlite3.DatabaseError):
        db = getattr(args, "db", None)
        file = db if db is not None else getattr(args, "checkpoint", None)
        if isinstance(exc, sqlite3.OperationalError) and file is not None:
            # the file could not be used now (read-only, locked, full disk): not another kind
            return unusable_text(file, exc)
        if db is not None:
            return f"{db} is not a riskscore queue ({exc})"
        checkpoint = getattr(args, "checkpoint", None)
        if checkpoint is not None:
            return f"{checkpoint} is not a riskscore checkpoint ({exc})"
        return f"not a riskscore database ({exc})"
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        return reason if exc.filename is None else f"{reason}: {_path_of(exc)}"
    return None


class Terminated(BaseException):
    """SIGTERM, raised in the main thread (a BaseException, as KeyboardInterrupt: no
    ``except Exception`` swallows it)."""


def _terminate(signum: int, frame: object) -> None:
    # A library may swallow the exception (one raised inside a lazy import of pandas by
    # pyarrow is): a second SIGTERM then ends the process at once, as before.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated


@contextlib.contextmanager
def _sigterm_raises(command: ModuleType) -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` while ``command`` runs (its default ends the
    process at once: no ``finally`` runs, a staging folder stays in ``--out``), unless
    the command handles it (``OWN_SIGTERM``, ``riskscore serve``)."""
    own = getattr(command, "OWN_SIGTERM", False)
    if own or threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set a handler (tests may call main elsewhere)
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _names_as_bytes() -> Iterator[None]:
    """Print a file name that is not UTF-8 as its bytes (as ``ls`` does), where a strict
    stdout (a UTF-8 locale) failed on it once the files were written."""
    stdout = sys.stdout
    if not isinstance(stdout, io.TextIOWrapper) or stdout.errors != "strict":
        yield
        return
    stdout.reconfigure(errors="surrogateescape")
    try:
        yield
    finally:
        stdout.reconfigure(errors="strict")


def _render(command: ModuleType, result: dict[str, Any]) -> None:
    """The command's result as text, with paths and ids it names shown escaped where they
    hold a character that acts on a terminal (``--out $'o\\e[2J'``)."""
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        command.render(result)
    sys.stdout.write(shown_lines(text.getvalue()))


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests capture stdout)
        pass


class _Discarded(io.TextIOBase):
    """Where diagnostics go when the process was started with stderr closed (``2>&-``):
    nowhere, as with ``2>/dev/null``."""

    def write(self, text: str) -> int:
        return len(text)


def _stderr_if_closed() -> None:
    """Give a process started with stderr closed (Python then holds ``sys.stderr`` None) a
    stderr that discards: a command reads its input and writes its output as with
    ``2>/dev/null``. Every command stopped with exit status 1 before any work (on
    ``sys.stderr.isatty()``), and ``print(..., file=sys.stderr)`` writes to stdout when
    ``sys.stderr`` is None, into the alerts of ``riskscore stream``."""
    if sys.stderr is None:
        sys.stderr = _Discarded()


#: Where build_parser keeps, per subcommand, each option's destination and its name.
_OPTION_NAMES = "option_names"
_LEADING_NAME = re.compile(r"^([a-z][a-z0-9_]*) (must|is)\b")
#: A parameter name of more than one word anywhere in a message (``"urgent_per_million
#: (200) cannot exceed review_per_million"``), not part of a path (``out/chunk_rows.csv``).
_PARAMETER_NAME = re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/-]|\.\w)")


def in_option_words(message: str, args: argparse.Namespace) -> str:
    """``message`` of a library check (``"cooldown_s must be ..."``) with the parameter
    it opens with named as the command's option that set it (``"--cooldown-s must be
    ..."``): a user of the command line never typed the library's name.

    Examples
    --------
    >>> ns = argparse.Namespace(option_names={"label_noise": "--label-noise"})
    >>> in_option_words("label_noise must be a number in [0, 0.5], got 2.0", ns)
    '--label-noise must be a number in [0, 0.5], got 2.0'
    >>> in_option_words("start must be epoch seconds >= 0", ns)
    'start must be epoch seconds >= 0'
    >>> ns.option_names["urgent_per_million"] = "--urgent-per-million"
    >>> ns.option_names["review_per_million"] = "--review-per-million"
    >>> in_option_words("urgent_per_million (2) cannot exceed review_per_million (1)", ns)
    '--urgent-per-million (2) cannot exceed --review-per-million (1)'
    """
    names = getattr(args, _OPTION_NAMES, {})
    # a path the user gave ("data is a directory") is the user's word, not a parameter
    given = {str(v) for v in vars(args).values() if isinstance(v, str | PurePath)}
    # a check of two parameters names both ("... cannot exceed review_per_million"); a
    # message that names the option itself already says both ("pass max_future_s=inf
    # (--max-future-s inf on the command line)")
    said = {name for name, option in names.items() if option in message}
    message = _LEADING_NAME.sub(
        lambda m: m[0] if m[1] in given else f"{names.get(m[1], m[1])} {m[2]}", message, count=1
    )
    return _PARAMETER_NAME.sub(
        lambda m: m[0] if m[0] in given or m[0] in said else names.get(m[0], m[0]), message
    )


#: What `riskscore --help` ends with: a first run, and where each command's help is.
TOP_EXAMPLE = (
    "examples:\n"
    "  riskscore generate --conversations 2000 --prevalence 0.05 --seed 7 --out data/\n"
    "  riskscore score data/events.parquet --out results/ --top 3\n"
    "  riskscore score --help   # each command's options, defaults and examples"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = OnceParser(
        prog="riskscore",
        description="Metadata-only grooming-risk scoring of conversations, with alerts for "
        "human review. Reads no message content.",
        epilog=TOP_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        child = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP,
            epilog=command.EXAMPLE,
            formatter_class=_HelpFormatter,
        )
        command.configure(child)
        child.add_argument("--json", action="store_true", help="print the result as JSON")
        options = {
            action.dest: max(action.option_strings, key=len)
            for action in child._actions  # argparse keeps no public list of its options
            if action.option_strings
        }
        child.set_defaults(
            _command=command,
            **{_OPTION_NAMES: options},
            _outputs=[a.dest for a in child._actions if a.type in OUTPUT_TYPES],
            _bundles=[a.dest for a in child._actions if a.type in BUNDLE_TYPES],
        )
    return parser


def _output_in_given_bundle(args: argparse.Namespace) -> str | None:
    """Why an output option of this command line is refused, or None: an output inside a
    bundle the same command line names (``evaluate --model models/mine --out
    models/mine/report``) would sit beside that model's files, and ``train --from-queue
    --model models/mine --out models/mine`` would replace the model it starts from. The
    shipped bundle and ``$RISKSCORE_MODEL_DIR``'s are refused while the options are read,
    or by ``train`` with its ``--replace-shipped-model`` escape, so not here."""
    names = getattr(args, _OPTION_NAMES, {})
    bundles = {  # a directory that is no bundle fails its command for that reason
        names.get(dest, dest): path
        for dest in args._bundles
        if (path := bundle_path(getattr(args, dest, None))) is not None
        and (path / MANIFEST).is_file()
    }
    if not bundles:
        return None
    for dest in args._outputs:
        value = getattr(args, dest, None)
        if isinstance(value, Path):
            try:
                check_not_in_bundle(
                    value, option=names.get(dest, dest), replace_shipped=True, given_bundles=bundles
                )
            except ValueError as exc:
                return str(exc)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``riskscore`` command line; return the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 on success; 2 on bad input or a file that cannot be used (one line on stderr);
        141 when the reader closed stdout; 130 on Ctrl-C; 143 on SIGTERM.
    """
    _stderr_if_closed()  # first: argparse writes its errors there
    args = build_parser().parse_args(argv)
    command = args._command
    refusal = _output_in_given_bundle(args)
    if refusal:
        print(f"riskscore {args.command}: error: {one_line(refusal)}", file=sys.stderr)
        return EXIT_ERROR
    show = sys.stderr.isatty() and not args.json
    try:
        with _sigterm_raises(command):
            result = command.run(args, show)
        with _names_as_bytes():
            if args.json:
                # NaN (a metric undefined on this sample) is null: NaN is not JSON
                print(json.dumps(jsonable(result), default=str))
            else:
                _render(command, result)
        sys.stdout.flush()  # a closed pipe fails here, not at interpreter exit
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"riskscore {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print(f"riskscore {args.command}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except Exception as exc:
        message = error_message(exc, args)
        if message is None:
            raise
        print(f"riskscore {args.command}: error: {one_line(message)}", file=sys.stderr)
        return EXIT_ERROR
    # a command may ask for another success code (monitor --fail-on-drift)
    return int(result.get("exit_code", 0))


def console() -> int:
    """The console script and ``python -m riskscore``: :func:`main` on ``sys.argv``.

    Returns
    -------
    int
        :func:`main`'s exit code.
    """
    try:
        return main()
    finally:
        # Every output is closed by now. What is left are the imported libraries'
        # objects (about 130,000 with numba and pyarrow), which the interpreter's last
        # garbage collections would walk one by one: 0.3 to 1.5 s of every command on a
        # 2-core VM. Frozen, they are left to the operating system like the rest of the
        # process's memory. Not in :func:`main`: tests call it many times in one process.
        gc.freeze()
