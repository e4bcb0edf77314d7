"""One exception tree for bulkboot; every ``str(exc)`` is a message fit to show a user.

Foreign exceptions (yaml, OSError, aiohttp, json) are translated into these at the
boundary that meets them. Only ``bulkboot.cli`` prints them and picks the exit code,
from ``exit_code``. No message may contain a password, token or secret.

    BulkbootError                     exit 1 unless said otherwise
    ├── UsageError                    a bad flag or flag value (exit 2)
    │   └── MicroversionSyntaxError   not '2.N' within bulkboot's range (also a ValueError)
    ├── ManifestError                 the manifest is invalid; carries every Problem (exit 2)
    ├── ConfigError                   clouds.yaml / secure.yaml / OS_* is bad or missing (exit 2)
    ├── JournalError                  the local journal cannot be read or written
    │   └── FleetBusy                 another run holds the fleet's lock (exit 2)
    ├── RunFailed                     the run stopped on an error after it had sent work
    ├── OutputError                   an output file (a report) could not be written at the end
    ├── Interrupted                   the user pressed Ctrl-C (exit 130)
    └── CloudError                    something the cloud said, or failed to say
        ├── AuthError                 Keystone refused us, or a 401 survived one re-auth (exit 2)
        ├── EndpointNotFound          the catalog has no such service/interface/region (exit 2)
        ├── MicroversionError         requested microversion outside the server's range (exit 2)
        ├── ResolveError              image/flavor/network names missing or ambiguous (exit 2)
        ├── QuotaCheckError           the fleet does not fit in what is left of the quota (exit 2)
        ├── TransportError            no HTTP answer at all
        │   ├── CloudConnectionError  refused, reset, DNS, TLS
        │   │   └── ConnectionLost    broke after the request was sent: it may have arrived
        │   └── RequestTimeout        connect or total timeout
        ├── CreateUncertain           a create's answer was lost, the server not (yet) seen
        ├── BadAnswer                 a success answer not in the API's shape (not JSON ...)
        │   └── AnswerTooLarge        an answer past the cap on one answer (decoded)
        └── ApiError                  an HTTP error answer; keeps Nova's message and request id
            ├── Redirected            3xx: never followed (exit 2)
            ├── BadRequest            400
            ├── Unauthorized          401
            ├── Forbidden             403
            │   └── OverQuota         403 "Quota exceeded ..." (and legacy 413)
            ├── NotFound              404
            ├── Conflict              409
            ├── RateLimited           429 (retry_after)
            ├── ServerError           500, 502, 504
            └── Unavailable           503 (retry_after)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from bulkboot.pipeline.spec import Problem

# Task groups raise these; Python 3.10 has them from the ``exceptiongroup`` backport
# (which anyio itself uses there). Everyone imports them from here.
if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup, ExceptionGroup
else:
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

__all__ = [
    "AnswerTooLarge",
    "ApiError",
    "AuthError",
    "BadAnswer",
    "BadRequest",
    "BaseExceptionGroup",
    "BulkbootError",
    "CloudConnectionError",
    "CloudError",
    "ConfigError",
    "Conflict",
    "ConnectionLost",
    "CreateUncertain",
    "EndpointNotFound",
    "ExceptionGroup",
    "FleetBusy",
    "Forbidden",
    "Interrupted",
    "JournalError",
    "ManifestError",
    "MicroversionError",
    "MicroversionSyntaxError",
    "NotFound",
    "OutputError",
    "OverQuota",
    "QuotaCheckError",
    "RateLimited",
    "Redirected",
    "RequestTimeout",
    "ResolveError",
    "RunFailed",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "UsageError",
    "first_error",
]

EXIT_FAILURE = 1
EXIT_INVALID = 2
# A gate failed: a ``load`` threshold did not hold (or no capacity step held), or
# ``report compare --fail-on-regression`` found a regression. The run itself worked.
EXIT_GATE = 3
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # a bug in bulkboot, not an error of the user's or the cloud's


class BulkbootError(Exception):
    """Base of every error bulkboot raises on purpose; ``str()`` is the user's message."""

    exit_code: ClassVar[int] = EXIT_FAILURE


class UsageError(BulkbootError):
    """A command-line flag or its value is wrong."""

    exit_code = EXIT_INVALID


class ManifestError(BulkbootError):
    """The manifest has problems; all of them are listed, one per line, each with its place."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(BulkbootError):
    """Cloud configuration is missing or wrong; the message names the file and key."""

    exit_code = EXIT_INVALID


class JournalError(BulkbootError):
    """The fleet's journal (or its lock) cannot be read or written."""


class FleetBusy(JournalError):
    """Another run holds the fleet's lock (it is changing the fleet now); nothing was sent."""

    exit_code = EXIT_INVALID


class RunFailed(BulkbootError):
    """An error ended the run after it had sent creates or deletes: the summary of what
    exists was shown, the journal has every request; ``cause`` is the error itself."""

    def __init__(self, message: str, *, cause: BaseException) -> None:
        self.cause = cause
        super().__init__(message)


class OutputError(BulkbootError):
    """An output file (``--report``) could not be written once the work was done.

    Exit 1, never 2: servers may have been created; they and the journal are as the
    run left them. (A path that cannot take the file is found before the first request,
    as a ``UsageError``.)
    """


class Interrupted(BulkbootError):
    """The user interrupted the run; what was done is journaled."""

    exit_code = EXIT_INTERRUPTED


# ---------------------------------------------------------------- cloud side


class CloudError(BulkbootError):
    """Something the cloud answered, or failed to answer."""


class AuthError(CloudError):
    """Keystone refused the credentials, or a request stayed 401 after one re-authentication."""

    exit_code = EXIT_INVALID


class EndpointNotFound(CloudError):
    """The service catalog holds no endpoint for the service type, interface and region."""

    exit_code = EXIT_INVALID


class MicroversionError(CloudError):
    """The requested compute microversion is outside what the server supports."""

    exit_code = EXIT_INVALID


class ResolveError(CloudError):
    """Image, flavor or network references could not be resolved; lists every problem."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class QuotaCheckError(CloudError):
    """The fleet needs more instances, cores or RAM than the quota leaves."""

    exit_code = EXIT_INVALID


class TransportError(CloudError):
    """No HTTP answer: the request may or may not have reached the server."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        super().__init__(message)


class CloudConnectionError(TransportError):
    """The connection was refused, reset or could not be set up (DNS, TLS)."""


class ConnectionLost(CloudConnectionError):
    """The connection broke after the request was written: it may have reached the server."""


class RequestTimeout(TransportError):
    """The request did not complete within its timeout."""


class BadAnswer(CloudError):
    """A success answer bulkboot cannot read (not JSON, not in the API's shape): read as
    empty, a listing would hide the fleet's servers, and a re-apply would duplicate them."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        super().__init__(message)


class CreateUncertain(CloudError):
    """A ``POST /servers`` may have reached Nova (timeout, broken connection, 504) and
    the server did not show up while we looked: it may still appear. It was NOT sent
    again (that could make a duplicate); find it later by ``name`` and fleet mark."""

    def __init__(self, message: str, *, name: str, fleet: str) -> None:
        self.name = name
        self.fleet = fleet
        super().__init__(message)


class ApiError(CloudError):
    """An HTTP error answer. ``message`` is the service's own words, as novaclient shows them."""

    status: ClassVar[int] = 0

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str = "",
        url: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.http_status = status if status is not None else type(self).status
        self.method = method
        self.url = url
        self.request_id = request_id
        self.retry_after = retry_after
        text = f"{message} (HTTP {self.http_status}"
        if method and url:
            text += f", {method} {url}"
        if request_id:
            text += f", request id {request_id}"
        super().__init__(text + ")")


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class OverQuota(Forbidden):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class RateLimited(ApiError):
    status = 429


class ServerError(ApiError):
    status = 500


class Unavailable(ApiError):
    status = 503


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to show for a task group's failure: its first ``BulkbootError``.

    Task groups wrap a task's exception in an ``ExceptionGroup``; the user must see
    the one clear message inside (a 401 that survived re-authentication, say), not a
    group. Cancellations and other leaves are only returned when there is no such
    error, and then the group itself.
    """
    found = group.subgroup(lambda exc: isinstance(exc, BulkbootError))
    while found is not None:
        leaf = found.exceptions[0]
        if not isinstance(leaf, BaseExceptionGroup):
            return leaf
        found = leaf
    return group


class MicroversionSyntaxError(UsageError, ValueError):
    """A microversion written wrong: not ``2.N``, or outside what bulkboot speaks.

    A ``ValueError`` too, so that callers written against ``microversion.parse``'s
    older contract keep catching it.
    """


class AnswerTooLarge(BadAnswer):
    """An answer larger than bulkboot reads of one (``limit`` bytes once decoded): it
    was not read further, so neither a huge body nor a gzip bomb can fill the memory."""

    def __init__(self, message: str, *, method: str = "", url: str = "", limit: int = 0) -> None:
        self.limit = limit
        super().__init__(message, method=method, url=url)


class Redirected(ApiError):
    """A 3xx answer to an API request. Redirects are never followed: one could carry the
    token, a password or a create's body to another host. ``location`` is where it
    pointed (any password in it masked); the endpoint to configure, if it is trusted."""

    exit_code = EXIT_INVALID
    status = 302

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str = "",
        url: str = "",
        request_id: str | None = None,
        location: str | None = None,
    ) -> None:
        self.location = location
        super().__init__(message, status=status, method=method, url=url, request_id=request_id)
