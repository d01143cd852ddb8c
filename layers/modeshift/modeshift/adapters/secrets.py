"""The Slack webhook URL from Secrets Manager, checked and cached for a short while per container; never logged.

The URL must pass the webhook rules of `adapters.slack_webhook` (allow-listed host, https, no whitespace or
control characters, ...). Errors name the secret (its ARN) and the broken rule, never the value; they are
raised outside `except` blocks, so no chained exception (a JSON decode error keeps the whole document) can
carry it either.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from modeshift.adapters.aws_errors import error_code, translate
from modeshift.adapters.slack_webhook import DEFAULT_WEBHOOK_HOSTS, WebhookUrl, webhook_url_problem
from modeshift.errors import ConfigurationError, ModeshiftError

PERMISSION = "secretsmanager:GetSecretValue"
DEFAULT_TTL_SECONDS = 300.0  # a rotated webhook is picked up within five minutes
# Codes that mean the secret is gone, scheduled for deletion, has no current value or cannot be decrypted.
_UNUSABLE = {
    "ResourceNotFoundException": "does not exist (or has no current version)",
    "InvalidRequestException": "is scheduled for deletion or disabled",
    "DecryptionFailure": "cannot be decrypted with its KMS key (kms:Decrypt missing or key disabled)",
}


class SecretUnavailableError(ModeshiftError):
    """The webhook secret is missing, expired, unreadable or holds no URL."""


class WebhookUrlSecret:
    """Reads SecretString (the URL itself, or JSON {"url": ...}), checks it and keeps it `ttl_seconds`.

    `allowed_hosts` None means the MODESHIFT_SLACK_WEBHOOK_HOSTS setting, read once when the reader is built
    (the handler builds one reader per container)."""

    def __init__(
        self,
        client: Any,
        secret_arn: str,
        *,
        allowed_hosts: Collection[str] = DEFAULT_WEBHOOK_HOSTS,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not secret_arn:
            raise ConfigurationError("MODESHIFT_SLACK_WEBHOOK_SECRET_ARN is not set")
        self._client = client
        self.secret_arn = secret_arn
        self.allowed_hosts = tuple(allowed_hosts)
        self._ttl = ttl_seconds
        self._clock = clock
        self._value: WebhookUrl | None = None
        self._read_at = 0.0

    def __repr__(self) -> str:
        return f"WebhookUrlSecret(secret_arn={self.secret_arn!r})"

    def url(self) -> WebhookUrl:
        if self._value is None or self._clock() - self._read_at >= self._ttl:
            self._value = self._fetch()
            self._read_at = self._clock()
        return self._value

    def invalidate(self) -> None:
        """Forget the cached value (e.g. after Slack says the webhook no longer exists)."""
        self._value = None

    def _fetch(self) -> WebhookUrl:
        try:
            response = self._client.get_secret_value(SecretId=self.secret_arn)
        except ClientError as exc:
            code, _ = error_code(exc)
            if code in _UNUSABLE:
                raise SecretUnavailableError(f"the Slack webhook secret {self.secret_arn} {_UNUSABLE[code]}") from None
            raise translate(exc, operation="GetSecretValue", permission=PERMISSION) from None
        except BotoCoreError as exc:
            raise translate(exc, operation="GetSecretValue", permission=PERMISSION) from None
        raw = _url_from(response.get("SecretString"), self.secret_arn)
        problem = webhook_url_problem(raw, self.allowed_hosts)
        if problem is not None:
            raise SecretUnavailableError(f"the Slack webhook secret {self.secret_arn} holds a URL that {problem}")
        return WebhookUrl(raw)


_NOT_JSON = object()


def _url_from(secret: str | None, secret_arn: str) -> str:
    """The URL in a SecretString (not yet checked); errors name the secret, never its content.

    Whitespace around the whole SecretString (a file's trailing newline) is dropped; inside the URL it is
    an error (see webhook_url_problem)."""
    if not secret or not secret.strip():
        raise SecretUnavailableError(f"the Slack webhook secret {secret_arn} has no SecretString")
    text = secret.strip()
    if not text.startswith("{"):
        return text
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError keeps the whole document: let it go here
        data = _NOT_JSON
    if data is _NOT_JSON:
        raise SecretUnavailableError(f"the Slack webhook secret {secret_arn} is not valid JSON")
    url = (data.get("url") or data.get("webhook_url")) if isinstance(data, dict) else None
    if not isinstance(url, str) or not url:
        raise SecretUnavailableError(f'the Slack webhook secret {secret_arn} has no "url" key')
    return url
