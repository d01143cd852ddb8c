"""POST a Block Kit payload to a Slack incoming webhook, retrying 429 and 5xx with capped, jittered backoff.

The webhook URL is a credential. Rules:
- it must point at an allow-listed host (setting MODESHIFT_SLACK_WEBHOOK_HOSTS, default `hooks.slack.com`,
  exact names, no wildcards) over https on the default port; plain http is accepted only for a loopback
  host (127.0.0.1, localhost, ::1) that the allow-list names explicitly, which is how tests reach a local
  server. The default list has no loopback host, so production cannot be downgraded to http, and a Lambda
  function's loopback has nothing listening anyway;
- it may hold no whitespace, control or non-ASCII character anywhere, no user:password@ and no #fragment;
- redirects are never followed: a 3xx is an error (urllib would otherwise re-send to another host);
- it never appears in an error message, a log line, a repr or an exception chain: errors say what is wrong,
  never the value, and are raised outside `except` blocks so no exception that might quote it is chained;
  a response body is shown only when it looks like one of Slack's short error codes and echoes no part of
  the URL (proxies and error pages often repeat the request path).
"""

from __future__ import annotations

import http.client
import json
import random
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from modeshift.errors import ConfigurationError, ModeshiftError

DEFAULT_WEBHOOK_HOSTS: tuple[str, ...] = ("hooks.slack.com",)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
URL_MAX_CHARS = 2_048  # Slack's webhook URLs are about 80 characters; anything this long is not one
_BODY_READ_BYTES = 4_096
# Slack answers errors with a short code such as "invalid_payload", "no_service" or "channel_is_archived".
_SLACK_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SECRET_PART_MIN_CHARS = 4


class WebhookUrlError(ConfigurationError):
    """The webhook URL breaks a rule; the message names the rule, never the URL."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"the Slack webhook URL {problem}")


class SlackRejectedError(ModeshiftError):
    """Slack refused the message for good (3xx, or 4xx other than 429): retrying the same payload cannot help."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        if 300 <= status < 400:
            message = f"Slack answered HTTP {status}, a redirect, which is never followed: check the webhook URL"
        else:
            message = f"Slack rejected the message: HTTP {status} {reason}".rstrip()
        super().__init__(message)


class SlackUnavailableError(ModeshiftError):
    """Slack kept answering 429/5xx (or could not be reached) through every attempt."""

    def __init__(self, attempts: int, last: str) -> None:
        self.attempts = attempts
        super().__init__(f"Slack did not accept the message after {attempts} attempts (last: {last})")


@dataclass(frozen=True)
class WebhookUrl:
    """A webhook URL that passed `validate_webhook_url`; it prints as <redacted> (use `reveal()` to send)."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "WebhookUrl(<redacted>)"

    def __str__(self) -> str:
        return "<redacted Slack webhook URL>"

    def secret_parts(self) -> tuple[str, ...]:
        """Path segments and query values (the token lives there): a response body echoing one is not shown."""
        parts = urlsplit(self._value)
        pieces = [*parts.path.split("/"), *(value for _, value in parse_qsl(parts.query))]
        return tuple(p.lower() for p in pieces if len(p) >= _SECRET_PART_MIN_CHARS)


def webhook_url_problem(url: str, allowed_hosts: Collection[str] = DEFAULT_WEBHOOK_HOSTS) -> str | None:
    """What is wrong with `url` in words that never quote it, or None when it may be used."""
    if not url:
        return "is empty"
    if len(url) > URL_MAX_CHARS:
        return f"is longer than {URL_MAX_CHARS} characters"
    if any(not "\x21" <= char <= "\x7e" for char in url):
        return "contains whitespace, a control character or a non-ASCII character (check the secret for a newline)"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a malformed host or port; the message would quote it, so it is not kept
        host, port, parts = None, None, None
    if parts is None or not host:
        return "is not a valid absolute URL"
    if "@" in parts.netloc:
        return "must not carry user credentials"
    if parts.fragment or url.endswith("#"):
        return "must not carry a #fragment"
    allowed = {name.strip().lower() for name in allowed_hosts}
    if host.lower() not in allowed:
        return f"must point at an allowed host ({', '.join(sorted(allowed))}; setting MODESHIFT_SLACK_WEBHOOK_HOSTS)"
    if parts.scheme == "https":
        if port not in (None, 443):
            return "must use the default https port"
    elif not (parts.scheme == "http" and host.lower() in LOOPBACK_HOSTS):
        return "must use https (plain http only for an allow-listed loopback host)"
    if parts.path in ("", "/"):
        return "has no webhook path"
    return None


def validate_webhook_url(url: str, allowed_hosts: Collection[str] = DEFAULT_WEBHOOK_HOSTS) -> WebhookUrl:
    """`url` as a WebhookUrl, or WebhookUrlError naming the broken rule (never the URL)."""
    problem = webhook_url_problem(url, allowed_hosts)
    if problem is not None:
        raise WebhookUrlError(problem)
    return WebhookUrl(url)


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_attempts` POSTs; waits of base * 2^(n-1) seconds with full jitter, each at most `max_delay`."""

    max_attempts: int = 4
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 10.0
    timeout_seconds: float = 10.0


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Return no new request, so urllib raises HTTPError with the 3xx instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SlackWebhookClient:
    def __init__(
        self,
        url: WebhookUrl | str,
        *,
        allowed_hosts: Collection[str] = DEFAULT_WEBHOOK_HOSTS,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """`url` is a WebhookUrl already validated (e.g. by the secret reader) or a string checked here."""
        self._url = url if isinstance(url, WebhookUrl) else validate_webhook_url(url, allowed_hosts)
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter
        self._opener = urllib.request.build_opener(_RefuseRedirects)

    def __repr__(self) -> str:  # keep the URL out of reprs in logs and tracebacks
        return "SlackWebhookClient(url=<redacted>)"

    def post(self, payload: dict[str, Any]) -> int:
        """Deliver `payload`; the number of attempts it took. Raises SlackRejectedError or SlackUnavailableError."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        policy = self._policy
        last = ""
        for attempt in range(1, policy.max_attempts + 1):
            status, reason, retry_after = self._send(body)
            if 200 <= status < 300:
                return attempt
            last = f"HTTP {status} {reason}".strip() if status else reason
            if status and status not in RETRYABLE_STATUSES and not 500 <= status < 600:
                raise SlackRejectedError(status, reason)
            if attempt < policy.max_attempts:
                self._sleep(self._delay(attempt, retry_after))
        raise SlackUnavailableError(policy.max_attempts, last)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        cap = self._policy.max_delay_seconds
        if retry_after is not None:
            return min(max(retry_after, 0.0), cap)
        return self._jitter() * min(cap, self._policy.base_delay_seconds * 2 ** (attempt - 1))

    def _send(self, body: bytes) -> tuple[int, str, float | None]:
        """(status, Slack's short reason, Retry-After seconds); status 0 when no HTTP answer came.

        Every failure becomes a value here and nothing is re-raised from these handlers: urllib's own
        exceptions carry the URL (HTTPError.url, InvalidURL's message)."""
        try:
            request = urllib.request.Request(
                self._url.reveal(),
                data=body,
                method="POST",
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            with self._opener.open(request, timeout=self._policy.timeout_seconds) as response:
                return response.status, "", None
        except urllib.error.HTTPError as exc:
            return exc.code, _reason(_body_of(exc), self._url), _retry_after(exc.headers.get("Retry-After"))
        except urllib.error.URLError as exc:
            cause = exc.reason if isinstance(exc.reason, BaseException) else exc
            return 0, f"connection failed: {type(cause).__name__}", None
        except (OSError, http.client.HTTPException, ValueError) as exc:  # timeouts, resets, bad status lines
            return 0, f"connection failed: {type(exc).__name__}", None


def _body_of(error: urllib.error.HTTPError) -> bytes:
    """The start of an error response's body; empty when reading it fails too (nothing escapes from here)."""
    try:
        return error.read(_BODY_READ_BYTES)
    except (OSError, http.client.HTTPException, ValueError):
        return b""
    finally:
        error.close()


def _reason(raw: bytes, url: WebhookUrl) -> str:
    """Slack's short error code from a response body, or a note that the body is not shown."""
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    lowered = text.lower()
    echoes_url = any(
        part in lowered or (len(lowered) >= _SECRET_PART_MIN_CHARS and lowered in part) for part in url.secret_parts()
    )
    if _SLACK_CODE.fullmatch(text) and not echoes_url:
        return text
    return "(response body not shown: not a Slack error code)"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header; None for a missing or HTTP-date value (backoff applies then)."""
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None
