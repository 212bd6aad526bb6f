"""Optional extras (private): the one message for a module of an extra that is not installed.

``pip install riskscore-metadata`` installs what scoring needs; pandas, matplotlib, LightGBM
(training), pyspark, Synapse and the web service come with extras (``[pandas]``, ``[plots]``,
``[train]``, ``[spark]``, ``[synapse]``, ``[serve]`` in ``pyproject.toml``). Code that needs one
imports it with :func:`import_extra`, or, for a module-level ``from ... import``, raises
:func:`missing_extra` from the :class:`ImportError`; either way the user reads which extra to
install, and the command line prints it as one line (exit status 2), never a traceback. An
extra that is installed but cannot load (LightGBM without the system's OpenMP runtime, which
pip does not install) is said the same way, with what it needs.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from riskscore._mpl_config import place_matplotlib_dir
from riskscore.exceptions import MissingExtraError

__all__ = ["import_extra", "missing_extra"]


def missing_extra(
    extra: str, needed_by: str, cause: ImportError, *, hint: str = ""
) -> MissingExtraError:
    """The error to raise (``from cause``) when a module of ``extra`` cannot be imported.

    Parameters
    ----------
    extra : str
        The extra of ``riskscore-metadata`` that installs the module.
    needed_by : str
        What needs it, the subject of the message (``"riskscore serve"``, ``"plotting"``).
    cause : ImportError
        The failed import; its message ends the error's.
    hint : str, optional
        Another way out, after the install command (``"or pass --no-plots"``).

    Returns
    -------
    MissingExtraError

    Examples
    --------
    >>> print(missing_extra("plots", "plotting", ImportError("No module named 'matplotlib'")))
    plotting needs the plots extra: pip install 'riskscore-metadata[plots]' \
(No module named 'matplotlib')
    """
    also = f", {hint}" if hint else ""
    return MissingExtraError(
        f"{needed_by} needs the {extra} extra: pip install 'riskscore-metadata[{extra}]'"
        f"{also} ({cause})",
        extra=extra,
        name=cause.name,
    )


def import_extra(
    module: str, extra: str, *, needed_by: str, hint: str = "", system: str = ""
) -> ModuleType:
    """Import ``module``, which the optional ``extra`` installs.

    Parameters
    ----------
    module : str
        Dotted module name (``"matplotlib.figure"``).
    extra, needed_by, hint : str
        As for :func:`missing_extra`.
    system : str, optional
        What the module needs that pip does not install, said when it is installed but
        cannot load (a shared library its import opens is missing).

    Returns
    -------
    module

    Raises
    ------
    MissingExtraError
        The module (or one it imports) is not installed, or cannot load (an
        :class:`OSError` on import); the message names the extra, and ``system``.

    Examples
    --------
    >>> import_extra("json", "plots", needed_by="plotting").__name__
    'json'
    """
    if module.split(".")[0] == "matplotlib":
        place_matplotlib_dir()  # a read-only home: no warnings, one font cache
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_extra(extra, needed_by, exc, hint=hint) from exc
    except OSError as exc:  # installed, but a shared library it opens is missing
        needs = f": {system}" if system else ""
        raise MissingExtraError(
            f"{needed_by} needs the {extra} extra, which is installed but cannot load{needs} "
            f"({exc})",
            extra=extra,
            name=module,
        ) from exc
