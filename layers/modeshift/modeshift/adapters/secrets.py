"""The Slack webhook URL from Secrets Manager, cached for a short while per container; the value is never logged."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from modeshift.adapters.aws_errors import error_code, translate
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
    """Reads SecretString (the URL itself, or JSON {"url": ...}) and keeps it `ttl_seconds`."""

    def __init__(
        self,
        client: Any,
        secret_arn: str,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not secret_arn:
            raise ConfigurationError("MODESHIFT_SLACK_WEBHOOK_SECRET_ARN is not set")
        self._client = client
        self.secret_arn = secret_arn
        self._ttl = ttl_seconds
        self._clock = clock
        self._value: str | None = None
        self._read_at = 0.0

    def __repr__(self) -> str:
        return f"WebhookUrlSecret(secret_arn={self.secret_arn!r})"

    def url(self) -> str:
        if self._value is None or self._clock() - self._read_at >= self._ttl:
            self._value = self._fetch()
            self._read_at = self._clock()
        return self._value

    def invalidate(self) -> None:
        """Forget the cached value (e.g. after Slack says the webhook no longer exists)."""
        self._value = None

    def _fetch(self) -> str:
        try:
            response = self._client.get_secret_value(SecretId=self.secret_arn)
        except ClientError as exc:
            code, _ = error_code(exc)
            if code in _UNUSABLE:
                raise SecretUnavailableError(f"the Slack webhook secret {self.secret_arn} {_UNUSABLE[code]}") from None
            raise translate(exc, operation="GetSecretValue", permission=PERMISSION) from None
        except BotoCoreError as exc:
            raise translate(exc, operation="GetSecretValue", permission=PERMISSION) from None
        return _url_from(response.get("SecretString"), self.secret_arn)


def _url_from(secret: str | None, secret_arn: str) -> str:
    """The URL in a SecretString; errors name the secret, never its content."""
    if not secret or not secret.strip():
        raise SecretUnavailableError(f"the Slack webhook secret {secret_arn} has no SecretString")
    text = secret.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise SecretUnavailableError(f"the Slack webhook secret {secret_arn} is not valid JSON") from None
        url = data.get("url") or data.get("webhook_url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.strip():
            raise SecretUnavailableError(f'the Slack webhook secret {secret_arn} has no "url" key')
        return url.strip()
    return text
