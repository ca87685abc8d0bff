"""What every AWS-reading module shares: clients, paging, concurrency, and access denial.

boto3 is imported inside functions only, so the model and the file source stay light.
Access denial is never fatal and never hidden: :meth:`Reader.guard` records what could
not be read in the store's ``unreadable`` list, and rules about it report "not
evaluated" instead of passing on missing data. The same goes for a response that cannot
be parsed, paging that does not end, and calls not made because the reader's deadline
had passed (:mod:`mlops_guard.metadata.sources._aws_responses`).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from mlops_guard.metadata.model import Unreadable

ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
# A resource deleted between a List and its Describe is simply gone, not an error.
NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ResourceNotFoundException"})
MAX_WORKERS = 8
RETRIES = {"mode": "adaptive", "max_attempts": 10}
# Per attempt: a call never waits on one socket longer than this (retries are bounded by
# RETRIES and the whole read by the reader's deadline).
CONNECT_TIMEOUT, READ_TIMEOUT = 10, 60
# No listing of ours is near this many pages (100 records each): more means a server
# handing out fresh NextTokens forever.
MAX_PAGES = 10_000

T = TypeVar("T")
R = TypeVar("R")


def error_code(error: BaseException) -> str | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


class Reader:
    """The clients of one export run and the list of things it was not allowed to read."""

    def __init__(
        self, boto_session, *, max_workers: int = MAX_WORKERS, timeout: float | None = None
    ):
        from botocore.config import Config

        from mlops_guard.metadata.sources._aws_responses import Deadline

        self.boto_session = boto_session
        self.max_workers = max_workers
        self.deadline = Deadline(timeout)
        self.config = Config(
            retries=dict(RETRIES),
            max_pool_connections=max(10, max_workers + 2),
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
        )
        self.unreadable: list[Unreadable] = []
        self._clients: dict[str, Any] = {}

    def client(self, service: str):
        """One client per service, created on the calling thread (sessions are not
        thread-safe), whose responses are checked before botocore parses them and whose
        requests stop at the deadline."""
        from mlops_guard.metadata.sources._aws_responses import check_body

        if service not in self._clients:
            client = self.boto_session.client(service, config=self.config)
            client.meta.events.register("before-parse", check_body)
            client.meta.events.register("before-send", self.deadline.check)
            self._clients[service] = client
        return self._clients[service]

    @contextlib.contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Record access denial, an unreadable response or the deadline for ``what`` and
        carry on; let every other error through."""
        from botocore.exceptions import ClientError

        from mlops_guard.metadata.sources._aws_responses import UnreadableResponse

        try:
            yield
        except UnreadableResponse as error:
            self.unreadable.append(Unreadable(what=what, reason=str(error)))
        except ClientError as error:
            code = error_code(error)
            if code not in ACCESS_DENIED_CODES:
                raise
            message = error.response.get("Error", {}).get("Message") or ""
            reason = f"{code}: {message}" if message else code
            self.unreadable.append(Unreadable(what=what, reason=reason))

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``function`` over ``items`` with bounded concurrency, results in input order."""
        items = list(items)
        if len(items) <= 1 or self.max_workers <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            return list(pool.map(function, items))

    def imap(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Like :meth:`map`, but yields results in input order as they are done, with at
        most ``2 * max_workers`` calls in flight: results not yet consumed (whole API
        responses) are never all held at once."""
        items = list(items)
        if len(items) <= 1 or self.max_workers <= 1:
            yield from (function(item) for item in items)
            return
        ahead = 2 * self.max_workers
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            queue: collections.deque = collections.deque()
            for item in items:
                queue.append(pool.submit(function, item))
                if len(queue) >= ahead:
                    yield queue.popleft().result()
            while queue:
                yield queue.popleft().result()


def pages(call: Callable[..., dict], key: str, **params) -> Iterator[dict]:
    """Every item under ``key`` across NextToken pages of ``call(**params)``.

    A token given twice, or more than :data:`MAX_PAGES` pages, is a listing that would
    never end: it raises :class:`UnreadableResponse` (after the items already read),
    never a quiet stop that passes for the end of the list."""
    from mlops_guard.metadata.sources._aws_responses import UnreadableResponse

    seen: set[str] = set()
    for _page in range(MAX_PAGES):
        response = call(**params)
        yield from response.get(key) or []
        token = response.get("NextToken")
        if not token:
            return
        if token in seen:
            reason = "paging stopped: the same NextToken came twice"
            raise UnreadableResponse(what="", reason=reason)
        seen.add(token)
        params["NextToken"] = token
    raise UnreadableResponse(
        what="", reason=f"paging stopped: still a NextToken after {MAX_PAGES} pages"
    )


def is_not_found(error: BaseException) -> bool:
    return error_code(error) in NOT_FOUND_CODES


def tags_dict(tags: list[dict] | None) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags or [] if "Key" in tag}


def as_utc(moment: datetime | None) -> datetime | None:
    """Naive datetimes given by a user are taken as UTC, like AWS timestamps."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
