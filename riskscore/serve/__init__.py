"""``riskscore serve``: a scoring service over HTTP and a moderator console in the browser.

Needs the optional extra ``riskscore-metadata[serve]`` (FastAPI, uvicorn, Jinja2,
argon2-cffi, itsdangerous, python-multipart, prometheus-client, matplotlib).

- :mod:`~riskscore.serve.app`: :func:`create_app`, the ASGI application, its start-up
  (restore) and shutdown (checkpoint).
- :mod:`~riskscore.serve.config`: :class:`ServeConfig`.
- :mod:`~riskscore.serve.service`: :class:`ScoringService`, the scoring behind
  ``POST /v1/events``, free of the web framework.
- :mod:`~riskscore.serve.api`, :mod:`~riskscore.serve.console`: the routes.
- :mod:`~riskscore.serve.accounts`, :mod:`~riskscore.serve.security`: moderator accounts,
  sessions, CSRF tokens, sign-in rate limiting.
- :mod:`~riskscore.serve.metrics`, :mod:`~riskscore.serve.timeline`,
  :mod:`~riskscore.serve.plot`, :mod:`~riskscore.serve.body`: Prometheus metrics, the
  events' metadata for the timeline plot, the plot, the request body.

See ``docs/serve.md``.
"""

from riskscore.serve.app import create_app
from riskscore.serve.config import Part, ServeConfig
from riskscore.serve.service import ScoringService

__all__ = ["Part", "ScoringService", "ServeConfig", "create_app"]
