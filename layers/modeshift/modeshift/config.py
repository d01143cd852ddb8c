"""Settings: MODESHIFT_* environment variables validated once into one model (the README documents each)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modeshift.adapters.slack_webhook import DEFAULT_WEBHOOK_HOSTS
from modeshift.domain.models import Goal
from modeshift.domain.options import PolicyOptions
from modeshift.domain.report import DEFAULT_CONFIDENCE_FLOOR
from modeshift.errors import ConfigurationError

ENV_PREFIX = "MODESHIFT_"
ORGANIZATION = "ORGANIZATION"
ALL_REGIONS = "all"
_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


class Settings(BaseModel):
    """Everything an analysis run needs besides AWS credentials (which the SDK resolves itself)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str | None = None
    clusters: tuple[str, ...] = ()
    lookback_days: int = Field(default=14, ge=1, le=455)
    metric_period_seconds: int = Field(default=300, ge=60)
    goal: Goal = Goal.BALANCED
    min_savings_usd: float = Field(default=10.0, ge=0)
    min_savings_pct: float = Field(default=10.0, ge=0, le=100)
    # verdicts below this confidence are listed but their savings are summed apart ("unconfirmed")
    confidence_floor: float = Field(default=DEFAULT_CONFIDENCE_FLOOR, ge=0, le=1)
    ec2_discount_pct: float = Field(default=0.0, ge=0, lt=100)
    fargate_discount_pct: float = Field(default=0.0, ge=0, lt=100)
    ec2_spot_discount_pct: float = Field(default=55.0, ge=0, lt=100)
    operator_cost_per_instance_hour_usd: float = Field(default=0.02, ge=0)
    headroom_pct: float = Field(default=0.0, ge=0, lt=100)
    # right-sizing headroom over the measured peaks (CPU: p99 of per-period max; memory: observed max)
    cpu_headroom_pct: float = Field(default=20.0, ge=0, le=400)
    memory_headroom_pct: float = Field(default=20.0, ge=0, le=400)
    allow_fargate_spot: bool = True
    use_price_list_api: bool = False
    # DynamoDB table holding the task ledger (and verdict state, for the deployed app); optional
    table_name: str | None = None
    # the deployed app: where verdicts go, and the low-reservation alarms it keeps per EC2 cluster
    topic_arn: str | None = None
    manage_alarms: bool = False
    alarm_reservation_threshold_pct: float = Field(default=40.0, gt=0, lt=100)
    # task-ledger rows and verdict state expire after this many days (DynamoDB TTL)
    retention_days: int = Field(default=70, ge=15, le=500)
    # noise control: a verdict already sent is re-sent for a change at most once per cooldown (unless its
    # severity rose); more than digest_threshold messages in one run go out as one digest
    cooldown_hours: int = Field(default=24 * 7, ge=0, le=24 * 90)
    digest_threshold: int = Field(default=5, ge=1)
    # which renderings of each verdict go to the topic (attribute `audience`: subscribers filter on it)
    notify_audiences: tuple[Literal["machine", "email", "chat"], ...] = ("machine",)
    # notify_slack: the Secrets Manager secret holding the Slack incoming-webhook URL (never the URL itself)
    slack_webhook_secret_arn: str | None = None
    # notify_slack: the only hosts the webhook URL may name (exact, comma-separated). Plain http is accepted
    # only for a loopback host listed here (tests); the default admits https://hooks.slack.com/... alone.
    slack_webhook_hosts: tuple[str, ...] = Field(default=DEFAULT_WEBHOOK_HOSTS, min_length=1)
    # clusters analysed at once by one run (a bounded thread pool; the deployed sweep has its own MaxConcurrency)
    concurrency: int = Field(default=4, ge=1, le=1000)
    # the deployed sweep: the share of clusters whose worker may crash before the map stops (the merge still runs)
    tolerated_failure_pct: float = Field(default=10.0, ge=0, le=100)
    # the fan-out: accounts (12-digit ids, or ORGANIZATION: every active account of the organization) and regions
    # (or "all": every region ECS is enabled in); () = the caller's account, and the `region` setting
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    # the read-only role deployed to member accounts (stacksets/member-role.yaml), and its external id
    member_role_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_+=,.@-]{1,64}$")
    external_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$")
    # weekly_report: the private bucket the report pages go to, and how long the summary's link works (max 7 days);
    # the deployed sweep writes its per-cluster parts and the merged document there too (sweeps/)
    report_bucket: str | None = None
    # a day by default: the link is for this week's summary, not a standing door (SigV4 allows up to 7 days)
    report_link_expiry_seconds: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)

    @field_validator("clusters", "notify_audiences", "accounts", "regions", mode="before")
    @classmethod
    def _split_clusters(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("accounts")
    @classmethod
    def _account_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(a.upper() == ORGANIZATION for a in value):
            if len(value) > 1:
                raise ValueError(f"{ORGANIZATION} stands alone: it already means every active account")
            return (ORGANIZATION,)
        for account in value:
            if not _ACCOUNT_ID.fullmatch(account):
                raise ValueError(f"{account!r} is not a 12-digit AWS account id (or {ORGANIZATION})")
        return tuple(dict.fromkeys(value))

    @field_validator("regions")
    @classmethod
    def _region_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(r.lower() == ALL_REGIONS for r in value):
            if len(value) > 1:
                raise ValueError(f"{ALL_REGIONS!r} stands alone: it already means every region ECS is enabled in")
            return (ALL_REGIONS,)
        for region in value:
            if not _REGION.fullmatch(region):
                raise ValueError(f"{region!r} is not an AWS region name (e.g. eu-west-1), or {ALL_REGIONS!r}")
        return tuple(dict.fromkeys(value))

    @field_validator("slack_webhook_hosts", mode="before")
    @classmethod
    def _host_names(cls, value: Any) -> Any:
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            return value
        hosts = tuple(str(name).strip().lower() for name in names if str(name).strip())
        for host in hosts:
            if host != "::1" and not _HOST_NAME.fullmatch(host):
                raise ValueError(f"{host!r} is not a plain host name (no scheme, port, path or wildcard)")
        return hosts

    def policy_options(self) -> PolicyOptions:
        return PolicyOptions(
            goal=self.goal,
            operator_cost_per_instance_hour_usd=self.operator_cost_per_instance_hour_usd,
            ec2_discount_pct=self.ec2_discount_pct,
            fargate_discount_pct=self.fargate_discount_pct,
            ec2_spot_discount_pct=self.ec2_spot_discount_pct,
            min_savings_usd=self.min_savings_usd,
            min_savings_pct=self.min_savings_pct,
            headroom_pct=self.headroom_pct,
            cpu_headroom_pct=self.cpu_headroom_pct,
            memory_headroom_pct=self.memory_headroom_pct,
            allow_fargate_spot=self.allow_fargate_spot,
        )

    def merged(self, **overrides: Any) -> Settings:
        """A copy with the given non-None values replaced, validated again."""
        values = self.model_dump()
        values.update({key: value for key, value in overrides.items() if value is not None})
        return build_settings(values)


def build_settings(values: Mapping[str, Any]) -> Settings:
    try:
        return Settings.model_validate(dict(values))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Read MODESHIFT_<FIELD> variables (e.g. MODESHIFT_LOOKBACK_DAYS=14); unknown MODESHIFT_ names are errors."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    known = set(Settings.model_fields)
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        field = name[len(ENV_PREFIX) :].lower()
        if field not in known:
            # Only the documented names are settings; a typo must not be silently ignored.
            raise ConfigurationError(f"unknown setting {name}; see the README's configuration table")
        if raw.strip() == "":
            continue
        values[field] = _coerce(raw)
    if "region" not in values:
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            values["region"] = region
    return build_settings(values)


def _coerce(raw: str) -> Any:
    text = raw.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text
