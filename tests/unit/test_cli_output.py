"""The CLI without AWS: argument errors, filters and their totals, exit statuses, and the redacted --debug log."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from modeshift.cli import (
    EXIT_FAILURE,
    EXIT_NO_SUCH_CLUSTER,
    EXIT_OK,
    Analysis,
    Criteria,
    _finish,
    cluster_not_found,
    main,
    redact,
    sdk_debug_log,
    select,
    terminal_width,
)
from modeshift.domain.models import (
    ClusterError,
    ClusterVerdict,
    ClusterVerdictKind,
    Goal,
    LaunchMode,
    Pattern,
    WorkloadVerdict,
    WorkloadVerdictKind,
)
from modeshift.domain.report import AnalysisReport, PricingInfo, build_report
from modeshift.errors import ClusterNotFoundError

# ------------------------------------------------------------------ builders


def verdict(
    cluster: str, workload: str, savings: float = 0.0, confidence: float = 0.8, current: float = 100.0
) -> WorkloadVerdict:
    moves = savings > 0
    return WorkloadVerdict(
        cluster=cluster,
        workload=workload,
        service=workload.removeprefix("service:") if workload.startswith("service:") else None,
        task_family=workload.split(":", 1)[1],
        verdict=WorkloadVerdictKind.MOVE_TO_FARGATE if moves else WorkloadVerdictKind.KEEP,
        current_mode=LaunchMode.EC2,
        recommended_mode=LaunchMode.FARGATE if moves else LaunchMode.EC2,
        pattern=Pattern.BURSTY,
        current_monthly_cost_usd=current,
        recommended_monthly_cost_usd=current - savings,
        monthly_savings_usd=savings,
        confidence=confidence,
        reasons=("because",),
    )


def cluster_verdict(name: str, savings: float = 0.0, confidence: float = 0.9) -> ClusterVerdict:
    return ClusterVerdict(
        cluster=name,
        verdict=ClusterVerdictKind.TUNE_CAPACITY if savings else ClusterVerdictKind.KEEP,
        instance_count=3,
        monthly_cost_usd=300.0,
        wasted_monthly_cost_usd=100.0,
        cpu_reservation_pct=30.0,
        memory_reservation_pct=20.0,
        monthly_savings_usd=savings,
        confidence=confidence,
        reasons=("low reservation",),
    )


def report(
    workloads: list[WorkloadVerdict], clusters: list[ClusterVerdict], errors: tuple[ClusterError, ...] = ()
) -> AnalysisReport:
    return build_report(
        generated_at=datetime(2026, 3, 2, tzinfo=UTC),
        region="us-east-1",
        lookback_days=14,
        goal=Goal.BALANCED,
        pricing=PricingInfo(source="embedded", as_of=date(2026, 1, 15)),
        workloads=workloads,
        clusters=clusters,
        errors=errors,
    )


def fleet() -> AnalysisReport:
    return report(
        [
            verdict("shop", "service:web-frontend", savings=40.0),
            verdict("shop", "service:web-admin", savings=10.0, confidence=0.3),
            verdict("shop", "service:checkout"),
            verdict("batch", "family:nightly-etl", savings=25.0),
        ],
        [cluster_verdict("shop"), cluster_verdict("batch", savings=60.0), cluster_verdict("idle", confidence=0.2)],
    )


TAGS = {
    ("shop", "web-frontend"): {"team": "web", "env": "prod"},
    ("shop", "web-admin"): {"team": "web", "env": "staging"},
    ("shop", "checkout"): {"team": "payments"},
}


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ arguments


def test_modeshift_names_the_unknown_flag_when_it_comes_before_any_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--bogus")

    assert code == 2 and out == ""
    assert err.strip() == "modeshift: unrecognized arguments: --bogus"


def test_modeshift_asks_for_a_command_when_none_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys)

    assert code == 2
    assert "choose a command: analyze, demo or report" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("analyze", "--lookback-days", "two"), "argument --lookback-days: 'two' is not a whole number"),
        (("analyze", "--lookback-days", "0"), "argument --lookback-days: 0 must be at least 1"),
        (("analyze", "--min-savings-usd", "ten"), "argument --min-savings-usd: 'ten' is not a number"),
        (("analyze", "--ec2-discount-pct", "x"), "argument --ec2-discount-pct: 'x' is not a number"),
        (("analyze", "--min-confidence", "1.5"), "argument --min-confidence: 1.5 is not a confidence between 0 and 1"),
        (("analyze", "--tag", "team"), "argument --tag: 'team' is not KEY=VALUE"),
        (("analyze", "--output", "xml"), "argument --output: invalid choice: 'xml'"),
    ],
)
def test_modeshift_explains_a_bad_value_in_words_when_an_argument_is_wrong(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, _, err = run_main(capsys, *argv)

    assert code == 2
    assert message in err
    assert (
        "_positive_int" not in err and "_non_negative" not in err and "invalid" not in err.replace("invalid choice", "")
    )
    assert len(err.strip().splitlines()) == 1


def test_terminal_width_follows_columns_when_the_variable_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "132")

    assert terminal_width() == 132


# ------------------------------------------------------------------ filters


def test_select_keeps_workloads_matching_a_service_glob_when_service_is_given() -> None:
    shown = select(fleet(), Criteria(services=("web-*",)), {}, 0.5)

    assert [w.workload for w in shown.workloads] == ["service:web-frontend", "service:web-admin"]
    assert [c.cluster for c in shown.clusters] == ["shop"]  # only clusters hosting a shown workload


@pytest.mark.parametrize("pattern", ["nightly-*", "family:nightly-etl", "*etl"])
def test_select_matches_task_families_when_the_glob_names_the_family(pattern: str) -> None:
    shown = select(fleet(), Criteria(services=(pattern,)), {}, 0.5)

    assert [w.workload for w in shown.workloads] == ["family:nightly-etl"]


def test_select_keeps_services_carrying_every_tag_when_tags_are_given() -> None:
    shown = select(fleet(), Criteria(tags=(("team", "web"), ("env", "prod"))), TAGS, 0.5)

    assert [w.workload for w in shown.workloads] == ["service:web-frontend"]


def test_select_leaves_out_task_families_and_untagged_services_when_a_tag_is_given() -> None:
    shown = select(fleet(), Criteria(tags=(("team", "*"),)), TAGS, 0.5)

    assert sorted(w.workload for w in shown.workloads) == [
        "service:checkout",
        "service:web-admin",
        "service:web-frontend",
    ]


def test_select_hides_workload_and_cluster_verdicts_below_min_confidence_when_given() -> None:
    shown = select(fleet(), Criteria(min_confidence=0.5), {}, 0.5)

    assert all(w.confidence >= 0.5 for w in shown.workloads)
    assert "service:web-admin" not in {w.workload for w in shown.workloads}
    assert [c.cluster for c in shown.clusters] == ["batch", "shop"]  # idle (0.2) hidden, the others kept


def test_select_recomputes_totals_over_what_is_shown_when_filtered() -> None:
    full = fleet()

    shown = select(full, Criteria(services=("web-*",)), {}, 0.5)

    rebuilt = build_report(
        generated_at=full.generated_at,
        region=full.region,
        lookback_days=full.lookback_days,
        goal=full.goal,
        pricing=full.pricing,
        workloads=shown.workloads,
        clusters=shown.clusters,
        confidence_floor=0.5,
    )
    assert shown.totals == rebuilt.totals
    assert shown.totals.workload_count == 2
    assert shown.totals.monthly_savings_usd == 40.0  # web-frontend
    assert shown.totals.unconfirmed_monthly_savings_usd == 10.0  # web-admin, confidence 0.3
    assert shown.totals.cluster_tuning_savings_usd == 0.0  # batch's tuning is not shown


def test_select_applies_the_confidence_floor_given_when_nothing_is_filtered() -> None:
    shown = select(fleet(), Criteria(), {}, 0.9)

    assert len(shown.workloads) == 4
    assert shown.totals.monthly_savings_usd == 60.0  # batch's tuning (0.9); every workload verdict is below 0.9
    assert shown.totals.unconfirmed_monthly_savings_usd == 75.0
    assert shown.totals.confidence_floor == 0.9


def test_select_returns_the_document_unchanged_when_nothing_filters_and_the_floor_is_its_own() -> None:
    full = fleet()

    assert select(full, Criteria(), {}, full.totals.confidence_floor) is full


# ------------------------------------------------------------------ exit statuses


def _analysis(errors: tuple[ClusterError, ...], named: tuple[str, ...], analysed: bool = True) -> Analysis:
    full = report([verdict("core", "service:orders")], [cluster_verdict("core")] if analysed else [], errors)
    return Analysis(report=full, shown=full, named_clusters=named)


def _not_found(name: str) -> ClusterError:
    return ClusterError(cluster=name, error=str(ClusterNotFoundError(name)))


def test_finish_exits_3_and_names_the_cluster_on_stderr_when_a_named_cluster_does_not_exist() -> None:
    stderr = io.StringIO()

    code = _finish(_analysis((_not_found("typo"),), ("typo", "core")), stderr)

    assert code == EXIT_NO_SUCH_CLUSTER == 3
    assert "modeshift: cluster typo not analysed: cluster 'typo' does not exist" in stderr.getvalue()


def test_finish_exits_3_when_the_only_named_cluster_does_not_exist() -> None:
    assert _finish(_analysis((_not_found("typo"),), ("typo",), analysed=False), io.StringIO()) == 3


def test_finish_exits_0_and_reports_on_stderr_when_a_named_cluster_is_only_denied() -> None:
    denied = ClusterError(cluster="locked", error="access denied", missing_permission="ecs:DescribeServices")
    stderr = io.StringIO()

    code = _finish(_analysis((denied,), ("locked", "core")), stderr)

    assert code == EXIT_OK
    assert "cluster locked not analysed: access denied (missing permission: ecs:DescribeServices)" in stderr.getvalue()


def test_finish_exits_1_when_nothing_could_be_analysed_and_no_cluster_was_named() -> None:
    denied = ClusterError(cluster="locked", error="access denied", missing_permission="ecs:DescribeServices")

    assert _finish(_analysis((denied,), (), analysed=False), io.StringIO()) == EXIT_FAILURE


def test_cluster_not_found_recognises_a_cluster_named_by_its_arn() -> None:
    arn = "arn:aws:ecs:us-east-1:123456789012:cluster/typo"

    assert cluster_not_found(ClusterError(cluster=arn, error=str(ClusterNotFoundError("typo"))))
    assert not cluster_not_found(ClusterError(cluster="typo", error="ListServices failed: Throttling"))


# ------------------------------------------------------------------ --debug never logs a secret

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "FAKE-SECRET-wJalrXUtnFEMI-K7MDENG"
SESSION_TOKEN = "FAKE-SESSION-TOKEN-IQoJb3JpZ2luX2VjEXAMPLE"
RETURNED = {
    "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
    "SecretAccessKey": "FAKE-RETURNED-SECRET-9drTJvcXLB89EXAMPLE",
    "SessionToken": "FAKE-RETURNED-TOKEN-AQoDYXdzEPT",
}
WEB_IDENTITY_TOKEN = "FAKE-WEB-IDENTITY-TOKEN-eyJhbGciOi"
SECRETS = (ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN, WEB_IDENTITY_TOKEN, *RETURNED.values())


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _sts_answering_credentials() -> Any:
    """A real STS client, signed with fake credentials, whose every call is answered locally (no network)."""
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        aws_session_token=SESSION_TOKEN,
        region_name="us-east-1",
    )
    sts = session.client("sts")
    credentials = (
        "".join(f"<{k}>{v}</{k}>" for k, v in RETURNED.items()) + "<Expiration>2030-01-01T00:00:00Z</Expiration>"
    )

    def answer_as(action: str) -> Any:
        body = (
            f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result>'
            f"<Credentials>{credentials}</Credentials>"
            "<AssumedRoleUser><AssumedRoleId>AROA3XFRBF23:x</AssumedRoleId><Arn>arn:aws:sts::1:assumed-role/r/x</Arn>"
            f"</AssumedRoleUser></{action}Result></{action}Response>"
        ).encode()

        def answer(request: Any, **_: Any) -> AWSResponse:
            return AWSResponse(request.url, 200, {"Content-Type": "text/xml"}, _Raw(body))

        return answer

    for action in ("AssumeRole", "AssumeRoleWithWebIdentity"):
        sts.meta.events.register(f"before-send.sts.{action}", answer_as(action))
    return sts


def test_sdk_debug_log_never_writes_a_credential_when_botocore_logs_signed_calls_and_their_answers() -> None:
    sts = _sts_answering_credentials()
    log = io.StringIO()

    with sdk_debug_log(log):
        sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/reader", RoleSessionName="modeshift")
        sts.assume_role_with_web_identity(
            RoleArn="arn:aws:iam::123456789012:role/reader",
            RoleSessionName="modeshift",
            WebIdentityToken=WEB_IDENTITY_TOKEN,
        )

    text = log.getvalue()
    assert "AssumeRole" in text and "Authorization" in text  # the request log is there...
    assert "<redacted>" in text
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == []  # ...and no secret in it
    assert re.search(r"Signature:\s*[0-9a-f]{64}", text) is None


def test_sdk_debug_log_stops_logging_when_the_run_ends() -> None:
    sts = _sts_answering_credentials()
    log = io.StringIO()
    with sdk_debug_log(log):
        pass

    sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/reader", RoleSessionName="modeshift")

    assert log.getvalue() == ""


@pytest.mark.parametrize(
    "text",
    [
        "headers={'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260302/us-east-1/ecs/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd', "
        "'X-Amz-Security-Token': b'FAKE-SESSION-TOKEN-IQoJb3JpZ2luX2VjEXAMPLE'}",
        "POST\n/\n\nhost:ecs.us-east-1.amazonaws.com\nx-amz-security-token:FAKE-SESSION-TOKEN-IQoJb3JpZ2luX2VjEXAMPLE\n",
        '{"roleCredentials": {"accessKeyId": "ASIAIOSFODNN7EXAMPLE", '
        '"secretAccessKey": "FAKE-SECRET-wJalrXUtnFEMI-K7MDENG", '
        '"sessionToken": "FAKE-SESSION-TOKEN-IQoJb3JpZ2luX2VjEXAMPLE"}}',
        "GET /r?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260302"
        "&X-Amz-Security-Token=FAKE-SESSION-TOKEN-IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-Signature=deadbeef HTTP/1.1",
        "<SecretAccessKey>FAKE-SECRET-wJalrXUtnFEMI-K7MDENG</SecretAccessKey>",
        "Action=AssumeRoleWithWebIdentity&WebIdentityToken=FAKE-WEB-IDENTITY-TOKEN-eyJhbGciOi&Version=2011-06-15",
    ],
)
def test_redact_removes_every_credential_when_it_appears_in_a_log_line(text: str) -> None:
    redacted = redact(text)

    assert [secret for secret in SECRETS if secret in redacted] == []
    assert "<redacted>" in redacted
