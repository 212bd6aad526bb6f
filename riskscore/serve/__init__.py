"""``riskscore serve``: a scoring service over HTTP and a moderator console in the browser.

Needs the optional extra ``riskscore-metadata[serve]`` (FastAPI, anyio, uvicorn, Jinja2,
MarkupSafe, argon2-cffi, itsdangerous, python-multipart, prometheus-client, matplotlib);
without it, importing this package or any of its modules raises
:class:`~riskscore.MissingExtraError`.

- :mod:`~riskscore.serve.app`: :func:`create_app`, the ASGI application, its start-up
  (restore) and shutdown (checkpoint).
- :mod:`~riskscore.serve.config`: :class:`ServeConfig`.
- :mod:`~riskscore.serve.service`: :class:`ScoringService`, the scoring behind
  ``POST /v1/events``, free of the web framework; :mod:`~riskscore.serve.batches`: the
  batch ids it remembers (``Idempotency-Key``), as they come in and as checkpoints keep them;
  :mod:`~riskscore.moderation.queue_writer`: its alerts and reports queued in order, held
  while another process holds the queue locked.
- :mod:`~riskscore.serve.api`, :mod:`~riskscore.serve.console`: the routes.
- :mod:`~riskscore.serve.accounts`, :mod:`~riskscore.serve.moderator`,
  :mod:`~riskscore.serve.access_log`, :mod:`~riskscore.serve.security`: moderator
  accounts (and one account as read back), the access log (sign-ins, sign-outs, case
  pages opened), sessions, CSRF tokens, sign-in rate limiting.
- :mod:`~riskscore.serve.metrics`, :mod:`~riskscore.serve.timeline`,
  :mod:`~riskscore.serve.plot`, :mod:`~riskscore.serve.body`: Prometheus metrics, the
  events' metadata for the timeline plot, the plot, the request body.

See ``docs/serve.md``.
"""

from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Final

from riskscore._mpl_config import place_matplotlib_dir
from riskscore._optional import missing_extra
from riskscore.exceptions import MissingExtraError

#: The modules of the libraries the ``[serve]`` extra declares (``pyproject.toml``; uvicorn's
#: optional httptools and uvloop aside). Looked up, not imported, here (FastAPI takes seconds
#: to import): any module of this package, imported on its own, then names the extra.
_EXTRA_MODULES: Final = (
    "anyio",
    "argon2",
    "fastapi",
    "itsdangerous",
    "jinja2",
    "markupsafe",
    "matplotlib",
    "prometheus_client",
    "python_multipart",
    "starlette",
    "uvicorn",
)
_ABSENT: Final = [name for name in _EXTRA_MODULES if find_spec(name) is None]
if _ABSENT:
    _CAUSE = ModuleNotFoundError(f"No module named {_ABSENT[0]!r}", name=_ABSENT[0])
    raise missing_extra("serve", "riskscore.serve", _CAUSE)
# before riskscore.serve.plot imports matplotlib (a read-only home: no warnings)
place_matplotlib_dir()

if TYPE_CHECKING:
    from riskscore.serve.app import create_app
    from riskscore.serve.config import Part, ServeConfig
    from riskscore.serve.service import ScoringService

#: Names loaded on first use: the application pulls in FastAPI and matplotlib (seconds of
#: start-up), which the command line's other commands, and ``riskscore serve
#: --add-moderator``, never need.
_LAZY = {
    "create_app": "riskscore.serve.app",
    "Part": "riskscore.serve.config",
    "ServeConfig": "riskscore.serve.config",
    "ScoringService": "riskscore.serve.service",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        loaded = import_module(module)
    except MissingExtraError:  # riskscore.serve.app names the extra itself
        raise
    except ImportError as exc:  # FastAPI, Jinja2, ... of the optional extra
        raise missing_extra("serve", f"riskscore.serve.{name}", exc) from exc
    return getattr(loaded, name)


__all__ = ["Part", "ScoringService", "ServeConfig", "create_app"]
