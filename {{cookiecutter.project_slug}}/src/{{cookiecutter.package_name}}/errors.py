"""The errors a user can act on, as opposed to bugs (which keep their traceback).

Standard library only: the Spark ETL imports this module too.
"""

from __future__ import annotations


class StepError(Exception):
    """A step cannot use its input or state.

    The message is one line that names the problem, the path and the fix; the step
    prints it as ``ERROR: <message>`` and exits non-zero, having written nothing.
    """


class PayloadError(ValueError):
    """A request to the model server that the server cannot score.

    ``status_code`` is the HTTP status a server answers with: the client must change
    its request, so it is a 4xx status.
    """

    status_code = 400


class UnsupportedMediaTypeError(PayloadError):
    """The request's Content-Type is not one the model reads."""

    status_code = 415


class NotAcceptableError(PayloadError):
    """The response format asked for in Accept is not one the model writes."""

    status_code = 406
