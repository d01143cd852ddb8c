"""POST a Block Kit payload to a Slack incoming webhook, retrying 429 and 5xx with capped, jittered backoff.

The webhook URL is a credential: it never appears in a log line, an error message or a traceback.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from modeshift.errors import ConfigurationError, ModeshiftError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_BODY_PREVIEW_CHARS = 200  # Slack answers with a short code such as "invalid_payload" or "no_service"


class SlackRejectedError(ModeshiftError):
    """Slack refused the message for good (4xx other than 429): retrying the same payload cannot help."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"Slack rejected the message: HTTP {status} {reason}".rstrip())


class SlackUnavailableError(ModeshiftError):
    """Slack kept answering 429/5xx (or could not be reached) through every attempt."""

    def __init__(self, attempts: int, last: str) -> None:
        self.attempts = attempts
        super().__init__(f"Slack did not accept the message after {attempts} attempts (last: {last})")


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_attempts` POSTs; waits of base * 2^(n-1) seconds with full jitter, each at most `max_delay`."""

    max_attempts: int = 4
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 10.0
    timeout_seconds: float = 10.0


def validate_webhook_url(url: str) -> str:
    """https (http only on loopback, for tests); errors never quote the URL."""
    parts = urlsplit(url.strip())
    if parts.scheme == "https" and parts.hostname:
        return url.strip()
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url.strip()
    raise ConfigurationError("the Slack webhook URL must be an https:// URL (the secret holds something else)")


class SlackWebhookClient:
    def __init__(
        self,
        url: str,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._url = validate_webhook_url(url)
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter

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
        """(status, Slack's short reason, Retry-After seconds); status 0 when no HTTP answer came."""
        request = urllib.request.Request(
            self._url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._policy.timeout_seconds) as response:
                return response.status, _preview(response.read()), None
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, _preview(exc.read()), _retry_after(exc.headers.get("Retry-After"))
        except urllib.error.URLError as exc:
            return 0, f"connection failed: {type(exc.reason).__name__}", None
        except (TimeoutError, ConnectionError) as exc:
            return 0, f"connection failed: {type(exc).__name__}", None


def _preview(raw: bytes) -> str:
    return raw[:_BODY_PREVIEW_CHARS].decode("utf-8", errors="replace").strip()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header; None for a missing or HTTP-date value (backoff applies then)."""
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None
