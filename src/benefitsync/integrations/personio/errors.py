"""Errors of the Personio client, classified by what the caller should do about them.

- `AuthenticationError`: the credentials are wrong or were revoked; a human must reconnect.
- `RetriableError`: Personio was unavailable, too slow or rate limited, and the client's own
  retries (with back-off, within its deadline) are used up. Trying again later may work.
- `FatalError`: a request that retrying cannot fix (400, 403, 404, a response we cannot make sense
  of). The run must stop and say why. `NotFoundError` (404) and `NotPermitted` (a scope the
  credential lacks) are the kinds a caller tells apart.
- `BadRecord` is *not* an exception: one employee's data cannot be read. The listing goes on and the
  caller reports the record.
"""

from __future__ import annotations

from dataclasses import dataclass


class PersonioError(Exception):
    """Base class of everything the Personio client raises.

    `status` is the HTTP status of the last response when there was one (None for transport
    failures), so a sync run can record it.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AuthenticationError(PersonioError):
    """Wrong or revoked credentials: re-authenticating once did not help; reconnect needed."""


class RetriableError(PersonioError):
    """429/5xx/timeouts/resets/broken JSON, raised only once retries or the deadline ran out."""


class FatalError(PersonioError):
    """A failure retrying cannot fix; the run must stop (e.g. 400, 403, unexpected payloads)."""


class NotFoundError(FatalError):
    """The requested employee does not exist (404 from `GET /v1/company/employees/{id}`)."""


class NotPermitted(FatalError):
    """The credential may not do this (a v2 scope it lacks: 403, or `invalid_grant`)."""


#: How many characters of the raw record a `BadRecord` keeps: enough to find it, never a whole
#: employee (which would copy personal data into logs and run reports).
RAW_EXCERPT_CHARS = 200


@dataclass(frozen=True)
class BadRecord:
    """One employee record that could not be parsed; the listing continues without it.

    `personio_id` is None when even the id could not be read. `raw` is a short excerpt of the
    offending value (not of the whole record) for the sync report.
    """

    personio_id: int | None
    reason: str
    raw: str = ""

    def __post_init__(self) -> None:
        if len(self.raw) > RAW_EXCERPT_CHARS:
            object.__setattr__(self, "raw", self.raw[: RAW_EXCERPT_CHARS - 1] + "…")
