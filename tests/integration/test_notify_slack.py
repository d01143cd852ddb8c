"""notify_slack end to end: an SNS event → Block Kit → a local webhook server (127.0.0.1) that records requests.

The webhook URL comes from a moto Secrets Manager secret; the server scripts Slack's answers (429, 500, 400, 200).
The allow-list setting MODESHIFT_SLACK_WEBHOOK_HOSTS names 127.0.0.1, the only way plain http is accepted.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import io
import json
import logging
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modeshift.adapters.secrets import SecretUnavailableError, WebhookUrlSecret
from modeshift.adapters.slack_webhook import (
    RetryPolicy,
    SlackRejectedError,
    SlackUnavailableError,
    SlackWebhookClient,
)
from modeshift.errors import ConfigurationError
from tests.events import load_event
from tests.fixtures.lambda_context import FakeLambdaContext

pytestmark = pytest.mark.integration

REGION = "eu-west-1"
ACCOUNT = "123456789012"
APP = Path(__file__).resolve().parents[2] / "functions" / "notify_slack" / "app.py"
EVENT = "sns_verdict_notification"
SECRET_NAME = "modeshift/slack-webhook"
WEBHOOK_PATH = "/services/T0SECRET/B0SECRET/xoxSECRETtokenDoNotLog"
SERVER_LIFETIME_SECONDS = 60  # the server shuts itself down even if a test never reaches its teardown


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeSlack:
    """Answers each POST with the next scripted (status, headers, body); the last one repeats."""

    url: str
    script: list[tuple[int, dict[str, str], str]] = field(default_factory=lambda: [(200, {}, "ok")])
    requests: list[Recorded] = field(default_factory=list)

    def answer(self) -> tuple[int, dict[str, str], str]:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    state: dict[str, FakeSlack] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            fake = state["fake"]
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            fake.requests.append(Recorded(self.path, dict(self.headers.items()), json.loads(raw)))
            status, headers, body = fake.answer()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest's output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    state["fake"] = FakeSlack(url=f"http://{host}:{port}{WEBHOOK_PATH}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    watchdog = threading.Timer(SERVER_LIFETIME_SECONDS, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield state["fake"]
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_METRICS_NAMESPACE": "modeshift",
        "POWERTOOLS_SERVICE_NAME": "notify_slack",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # the local server is plain http on 127.0.0.1: accepted only because the allow-list names it
        "MODESHIFT_SLACK_WEBHOOK_HOSTS": "hooks.slack.com,127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MODESHIFT_TABLE_NAME", "MODESHIFT_TOPIC_ARN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def secrets(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def _put_secret(client: Any, value: str) -> str:
    arn: str = client.create_secret(Name=SECRET_NAME, SecretString=value)["ARN"]
    return arn


def _lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext("modeshift-NotifySlackFunction", region=REGION, account=ACCOUNT, remaining_millis=90_000)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("notify_slack_app_under_test", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Inject the sleep (no real waiting) and a fixed jitter; everything else is the real client.
    client = functools.partial(SlackWebhookClient, sleep=sleeps.append, jitter=lambda: 0.5)
    monkeypatch.setattr(module, "SlackWebhookClient", client)
    yield module
    module._secret.cache_clear()


@pytest.fixture
def wired(app: ModuleType, secrets: Any, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    arn = _put_secret(secrets, json.dumps({"url": slack.url}))
    monkeypatch.setenv("MODESHIFT_SLACK_WEBHOOK_SECRET_ARN", arn)
    return app


def _invoke(app: ModuleType, event: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = app.lambda_handler(event or load_event(EVENT), _lambda_context())
    return result


def _assert_url_not_logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], expect: str = "Slack"
) -> None:
    captured = capsys.readouterr()
    everything = caplog.text + captured.out + captured.err
    assert expect in everything  # the handler's log lines were captured: the check below means something
    assert "SECRET" not in everything and "xox" not in everything
    assert WEBHOOK_PATH not in everything


# ---------------------------------------------------------------- the handler


def test_notify_slack_posts_block_kit_for_the_sample_event(
    wired: ModuleType, slack: FakeSlack, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Everything the app and the library log, at every level; botocore's own DEBUG wire dumps (which print
    # response bodies, secrets included) stay off as they are in Lambda, where the root logger is at WARNING.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="notify_slack")
    caplog.set_level(logging.DEBUG, logger="modeshift")
    assert _invoke(wired) == {"posted": 1}
    (request,) = slack.requests
    assert request.path == WEBHOOK_PATH
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.body["text"].startswith("modeshift: payments-prod/service:checkout-api")
    assert request.body["blocks"][0]["type"] == "header"
    assert "$224.59/month" in json.dumps(request.body)
    _assert_url_not_logged(caplog, capsys)


def test_notify_slack_retries_after_429_then_succeeds(
    wired: ModuleType,
    slack: FakeSlack,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack.script = [(429, {"Retry-After": "0"}, "rate_limited"), (200, {}, "ok")]
    assert _invoke(wired) == {"posted": 1}
    assert len(slack.requests) == 2
    assert slack.requests[0].body == slack.requests[1].body
    assert sleeps == [0.0]  # Retry-After honoured, not the backoff
    _assert_url_not_logged(caplog, capsys)


def test_notify_slack_fails_the_record_after_bounded_retries_when_slack_keeps_failing(
    wired: ModuleType,
    slack: FakeSlack,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack.script = [(500, {}, "internal_error")]
    with pytest.raises(SlackUnavailableError) as raised:
        _invoke(wired)
    attempts = RetryPolicy().max_attempts
    assert len(slack.requests) == attempts
    assert sleeps == [0.5 * 1.0, 0.5 * 2.0, 0.5 * 4.0][: attempts - 1]  # jitter x base x 2^(n-1)
    assert "HTTP 500 internal_error" in str(raised.value)
    assert slack.url not in str(raised.value)
    _assert_url_not_logged(caplog, capsys, expect="Slack delivery failed")


def test_notify_slack_does_not_retry_a_400(
    wired: ModuleType, slack: FakeSlack, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    slack.script = [(400, {}, "invalid_blocks")]
    with pytest.raises(SlackRejectedError) as raised:
        _invoke(wired)
    assert len(slack.requests) == 1 and sleeps == []
    assert raised.value.status == 400 and raised.value.reason == "invalid_blocks"


def test_notify_slack_rereads_the_secret_when_slack_says_the_webhook_is_gone(
    wired: ModuleType, slack: FakeSlack, secrets: Any
) -> None:
    slack.script = [(404, {}, "no_service"), (200, {}, "ok")]
    with pytest.raises(SlackRejectedError):
        _invoke(wired)
    secrets.put_secret_value(SecretId=SECRET_NAME, SecretString=slack.url + "?rotated=1")
    assert _invoke(wired) == {"posted": 1}
    assert slack.requests[-1].path == WEBHOOK_PATH + "?rotated=1"


def test_notify_slack_raises_a_clear_error_when_the_secret_is_missing(
    app: ModuleType, secrets: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:modeshift/nothing-AbC123"
    monkeypatch.setenv("MODESHIFT_SLACK_WEBHOOK_SECRET_ARN", arn)
    with pytest.raises(SecretUnavailableError, match="does not exist"):
        _invoke(app)


def test_notify_slack_raises_a_clear_error_when_no_secret_is_configured(app: ModuleType, secrets: Any) -> None:
    with pytest.raises(ConfigurationError, match="MODESHIFT_SLACK_WEBHOOK_SECRET_ARN"):
        _invoke(app)


def test_notify_slack_posts_each_record_and_plain_text_messages(wired: ModuleType, slack: FakeSlack) -> None:
    event = load_event(EVENT)
    second = copy.deepcopy(event["Records"][0])
    second["Sns"]["Message"] = "a plain <text> message & more"
    second["Sns"]["Subject"] = None
    event["Records"].append(second)
    assert _invoke(wired, event) == {"posted": 2}
    assert "a plain &lt;text&gt; message &amp; more" in json.dumps(slack.requests[1].body)


# ---------------------------------------------------------------- the secret reader


def test_webhook_secret_accepts_a_bare_url_and_caches_it_for_the_ttl(secrets: Any) -> None:
    arn = _put_secret(secrets, "https://hooks.slack.com/services/T/B/X")
    now = [0.0]
    reader = WebhookUrlSecret(secrets, arn, ttl_seconds=300, clock=lambda: now[0])
    assert reader.url().reveal() == "https://hooks.slack.com/services/T/B/X"
    secrets.put_secret_value(SecretId=arn, SecretString="https://hooks.slack.com/services/T/B/Y")
    now[0] = 299.0
    assert reader.url().reveal().endswith("/X")
    now[0] = 300.0
    assert reader.url().reveal().endswith("/Y")
    assert "hooks.slack.com" not in repr(reader) and "hooks.slack.com" not in repr(reader.url())


@pytest.mark.parametrize(
    ("value", "message"),
    [("{}", 'no "url" key'), ("{not json", "not valid JSON"), ("   ", "no SecretString")],
)
def test_webhook_secret_rejects_unusable_values_without_quoting_them(secrets: Any, value: str, message: str) -> None:
    arn = _put_secret(secrets, value)
    with pytest.raises(SecretUnavailableError, match=message) as raised:
        WebhookUrlSecret(secrets, arn).url()
    if value.strip():
        assert value not in str(raised.value)


def test_webhook_secret_scheduled_for_deletion_is_a_clear_error(secrets: Any) -> None:
    arn = _put_secret(secrets, "https://hooks.slack.com/services/T/B/X")
    secrets.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    with pytest.raises(SecretUnavailableError, match="scheduled for deletion"):
        WebhookUrlSecret(secrets, arn).url()


# ---------------------------------------------------------------- the webhook client


def test_webhook_client_refuses_plain_http_to_other_hosts_without_quoting_the_url() -> None:
    with pytest.raises(ConfigurationError) as raised:
        SlackWebhookClient("http://hooks.slack.com/services/T/B/SECRETX")
    assert "SECRETX" not in str(raised.value)
    assert "SECRETX" not in repr(SlackWebhookClient("https://hooks.slack.com/services/T/B/SECRETX"))


def test_webhook_client_caps_retry_after_and_retries_connection_failures(slack: FakeSlack) -> None:
    sleeps: list[float] = []
    slack.script = [(429, {"Retry-After": "3600"}, "rate_limited"), (200, {}, "ok")]
    loopback = ("127.0.0.1",)
    client = SlackWebhookClient(
        slack.url, allowed_hosts=loopback, sleep=sleeps.append, policy=RetryPolicy(max_delay_seconds=7)
    )
    assert client.post({"text": "hi"}) == 2
    assert sleeps == [7]
    closed = SlackWebhookClient(
        "http://127.0.0.1:9/x", allowed_hosts=loopback, sleep=sleeps.append, policy=RetryPolicy(max_attempts=2)
    )
    with pytest.raises(SlackUnavailableError, match="connection failed"):
        closed.post({"text": "hi"})


# ---------------------------------------------------------------- the webhook URL never leaks, whatever fails

LEAK_TOKEN = "SUPERSECRETTOKEN"
LEAK_PATH = f"/services/T0LEAKME/B0LEAKME/{LEAK_TOKEN}"
# any of these in any output, in any case, means a piece of the URL's path got out (whitespace may split the token)
LEAK_MARKERS = ("supersecret", "secrettoken", "t0leakme", "b0leakme")


@dataclass
class LeakCase:
    """A secret value (from the fake server's address) and the fake server's script; `expect` the error type."""

    secret: Callable[[str, int, int], str]  # (loopback base URL, refused port, silent port) -> SecretString
    expect: type[Exception]
    script: list[tuple[int, dict[str, str], str]] = field(default_factory=lambda: [(200, {}, "ok")])
    requests: int = 0  # how many requests the fake server must have seen


LEAK_CASES = {
    "newline_inside": LeakCase(
        lambda base, _r, _s: "https://hooks.slack.com/services/T0LEAKME/B0LEAKME/SUPERSECRET\nTOKEN",
        SecretUnavailableError,
    ),
    "space_inside": LeakCase(
        lambda base, _r, _s: "https://hooks.slack.com/services/T0LEAKME/B0LEAKME/SUPER SECRETTOKEN",
        SecretUnavailableError,
    ),
    "newline_inside_json": LeakCase(
        lambda base, _r, _s: json.dumps({"url": f"https://hooks.slack.com{LEAK_PATH[:-5]}\n{LEAK_PATH[-5:]}"}),
        SecretUnavailableError,
    ),
    "broken_json": LeakCase(
        lambda base, _r, _s: '{"url": "https://hooks.slack.com' + LEAK_PATH + '"', SecretUnavailableError
    ),
    "wrong_host": LeakCase(lambda base, _r, _s: f"https://evil.example.com{LEAK_PATH}", SecretUnavailableError),
    "http_to_slack": LeakCase(lambda base, _r, _s: f"http://hooks.slack.com{LEAK_PATH}", SecretUnavailableError),
    "redirect_302": LeakCase(
        lambda base, _r, _s: base + LEAK_PATH,
        SlackRejectedError,
        [(302, {"Location": f"https://evil.example.com{LEAK_PATH}"}, f"Found: {LEAK_PATH}")],
        requests=1,
    ),
    "redirect_308": LeakCase(
        lambda base, _r, _s: base + LEAK_PATH,
        SlackRejectedError,
        [(308, {"Location": "https://evil.example.com/"}, "")],
        requests=1,
    ),
    "rejected_400": LeakCase(
        lambda base, _r, _s: base + LEAK_PATH, SlackRejectedError, [(400, {}, "invalid_payload")], requests=1
    ),
    "gone_404_echoing_the_path": LeakCase(
        lambda base, _r, _s: base + LEAK_PATH,
        SlackRejectedError,
        [(404, {}, f"404 page not found: {LEAK_PATH}")],
        requests=1,
    ),
    "code_that_is_the_token": LeakCase(
        lambda base, _r, _s: base + LEAK_PATH.lower(), SlackRejectedError, [(403, {}, LEAK_TOKEN.lower())], requests=1
    ),
    "error_500_echoing_the_url": LeakCase(
        lambda base, _r, _s: base + LEAK_PATH,
        SlackUnavailableError,
        [(500, {}, f"<html><body>upstream failed for https://hooks.slack.com{LEAK_PATH}</body></html>")],
        requests=2,
    ),
    "connection_refused": LeakCase(
        lambda base, refused, _s: f"http://127.0.0.1:{refused}{LEAK_PATH}", SlackUnavailableError
    ),
    "timeout": LeakCase(lambda base, _r, silent: f"http://127.0.0.1:{silent}{LEAK_PATH}", SlackUnavailableError),
}


@pytest.fixture
def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers: every read times out."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def powertools_log(app: ModuleType) -> Iterator[io.StringIO]:
    """What the handler's Powertools logger writes (stdout in Lambda, hence CloudWatch Logs).

    Its stream handler is made once per logger name and keeps the stream it was given then, so capsys does
    not see it: point that handler at a buffer for the test."""
    handler = app.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def _chain(exc: BaseException | None) -> list[BaseException]:
    """The exception and every __cause__ / __context__ behind it, suppressed or not."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is known for known in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__]
    return seen


def _on_failure_record(event: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """What Lambda sends to the OnFailure destination (the function's dead-letter queue) after the last retry."""
    return {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
        },
    }


@pytest.mark.parametrize("case", sorted(LEAK_CASES))
def test_notify_slack_never_reveals_the_webhook_url_when_delivery_fails(
    case: str,
    app: ModuleType,
    secrets: Any,
    slack: FakeSlack,
    sleeps: list[float],
    refused_port: int,
    silent_port: int,
    monkeypatch: pytest.MonkeyPatch,
    powertools_log: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    leak = LEAK_CASES[case]
    base = slack.url.removesuffix(WEBHOOK_PATH)
    secret_value = leak.secret(base, refused_port, silent_port)
    assert any(marker in secret_value.lower() for marker in LEAK_MARKERS)  # the fake secret is recognisable
    monkeypatch.setenv("MODESHIFT_SLACK_WEBHOOK_SECRET_ARN", _put_secret(secrets, secret_value))
    fast = RetryPolicy(max_attempts=2, timeout_seconds=0.3)
    client = functools.partial(SlackWebhookClient, sleep=sleeps.append, jitter=lambda: 0.5, policy=fast)
    monkeypatch.setattr(app, "SlackWebhookClient", client)
    slack.script = list(leak.script)
    # everything the app, the library and Powertools log, at every level (botocore's own DEBUG wire dumps print
    # the GetSecretValue response and stay off, as in Lambda, where the root logger is at WARNING)
    caplog.set_level(logging.INFO)
    for name in ("modeshift", "aws_lambda_powertools", app.logger.name):
        caplog.set_level(logging.DEBUG, logger=name)
    event = load_event(EVENT)

    raised: BaseException | None = None
    response: Any = None
    try:
        response = _invoke(app, copy.deepcopy(event))
    except Exception as exc:  # the handler must fail the record: Lambda retries it, then dead-letters it
        raised = exc

    assert isinstance(raised, leak.expect), f"{case}: {raised!r} / {response!r}"
    assert len(slack.requests) == leak.requests  # a redirect was not followed; nothing went to another host
    captured = capsys.readouterr()
    log = powertools_log.getvalue()
    assert '"message":"Slack delivery failed"' in log  # the handler's own log line was seen: the scan means something
    outputs = {
        "Powertools log": log,
        "caplog": caplog.text + json.dumps([vars(record) for record in caplog.records], default=str),
        "stdout": captured.out,
        "stderr": captured.err,
        "response": json.dumps(response, default=str),
        "traceback (Lambda's log, the X-Ray exception)": "".join(traceback.format_exception(raised)),
        "dead-letter record": json.dumps(_on_failure_record(event, raised), default=str),
    }
    for index, exc in enumerate(_chain(raised)):
        outputs[f"exception {index} str/repr/attributes"] = f"{exc}\n{exc!r}\n{vars(exc)!r}\n{exc.args!r}"
    for where, text in outputs.items():
        for marker in LEAK_MARKERS:
            assert marker not in text.lower(), f"{case}: {marker!r} leaked into the {where}"


# ---------------------------------------------------------------- messages that cannot be read


def _with_message(message: str, message_id: str = "bad-message-1") -> dict[str, Any]:
    event = load_event(EVENT)
    event["Records"][0]["Sns"]["Message"] = message
    event["Records"][0]["Sns"]["MessageId"] = message_id
    return event


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ('{"a":' * 3000 + "1" + "}" * 3000, "RecursionError"),
        ("[" * 3000 + "]" * 3000, "RecursionError"),
        (json.dumps("[" * 3000 + "]" * 3000), "RecursionError"),  # a JSON string holding the deep JSON
        ('{"monthly_savings_usd": ' + "9" * 5000 + "}", "ValueError"),
        ('{"reasons": 5}', "TypeError"),
    ],
    ids=["object 3,000 deep", "array 3,000 deep", "string of deep JSON", "5,000-digit number", "wrong types"],
)
def test_notify_slack_fails_the_record_with_a_clear_log_line_when_the_message_cannot_be_read(
    wired: ModuleType, slack: FakeSlack, caplog: pytest.LogCaptureFixture, message: str, error: str
) -> None:
    caplog.set_level(logging.INFO)

    with pytest.raises(wired.UnreadableMessageError, match="bad-message-1 could not be read"):
        _invoke(wired, _with_message(message))

    assert slack.requests == []
    (line,) = [r for r in caplog.records if r.getMessage() == "SNS message unreadable, not posted"]
    assert (line.levelname, line.message_id, line.error) == ("ERROR", "bad-message-1", error)  # type: ignore[attr-defined]


def test_notify_slack_posts_the_good_record_and_fails_the_bad_one_when_both_arrive_together(
    wired: ModuleType, slack: FakeSlack
) -> None:
    event = _with_message("[" * 3000 + "]" * 3000)
    event["Records"].append(load_event(EVENT)["Records"][0])

    with pytest.raises(wired.UnreadableMessageError):
        _invoke(wired, event)

    assert len(slack.requests) == 1
    assert slack.requests[0].body["text"].startswith("modeshift: payments-prod/service:checkout-api")
