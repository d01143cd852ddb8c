"""The fan-out: which accounts × regions one run covers, and the clients that read each (assumed roles)."""

from __future__ import annotations

from collections.abc import Callable

from modeshift.adapters.organizations import EnabledRegionsReader, OrganizationAccountLister
from modeshift.aws import AwsClients
from modeshift.config import ALL_REGIONS, ORGANIZATION, Settings
from modeshift.domain.models import ClusterError
from modeshift.errors import ConfigurationError, ModeshiftError
from modeshift.service import Scope, cluster_error

Progress = Callable[[str], None]
SESSION_NAME = "modeshift-analyze"


def _no_progress(_: str) -> None:
    return None


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def resolve_accounts(settings: Settings, base: AwsClients, home: str) -> list[str]:
    """The Accounts setting: () = the caller's own; ORGANIZATION = every active account of the organization."""
    if not settings.accounts:
        return [home]
    if settings.accounts == (ORGANIZATION,):
        return OrganizationAccountLister(base.client("organizations")).active_accounts()
    return list(settings.accounts)


def resolve_regions(settings: Settings, base: AwsClients) -> list[str]:
    """The Regions setting: () = the region setting; "all" = every region enabled for the caller's account where
    ECS is offered (DescribeRegions ∩ the SDK's ECS endpoints)."""
    if not settings.regions:
        return [base.region]
    if settings.regions == (ALL_REGIONS,):
        offered = set(base.session.get_available_regions("ecs"))
        return [r for r in EnabledRegionsReader(base.client("ec2")).enabled() if r in offered]
    return list(settings.regions)


def resolve_scopes(
    settings: Settings, base: AwsClients, progress: Progress = _no_progress, home: str | None = None
) -> tuple[list[Scope], list[ClusterError]]:
    """One scope per account × region. The caller's own account is read with its own credentials; every other
    through `member_role_name` (assumed once per account and region). An account whose role cannot be assumed
    becomes an error for each of its regions; the others are still read."""
    home = home or base.caller_account()
    accounts = resolve_accounts(settings, base, home)
    regions = resolve_regions(settings, base)
    others = [a for a in accounts if a != home]
    if others and not settings.member_role_name:
        raise ConfigurationError(
            f"{len(others)} account(s) other than your own ({home}) need the member role's name: "
            "--role-name NAME (or MODESHIFT_MEMBER_ROLE_NAME), the role of stacksets/member-role.yaml"
        )
    scopes: list[Scope] = []
    errors: list[ClusterError] = []
    for account in accounts:
        for region in regions:
            if account != home:
                progress(f"assuming {settings.member_role_name} in {account} for {region}")
            try:
                scopes.append(scope_for(settings, base, home, account, region))
            except ModeshiftError as exc:
                errors.append(cluster_error("*", exc, account, region))
    return scopes, errors


def scope_for(
    settings: Settings, base: AwsClients, home: str, account: str, region: str, session_name: str = SESSION_NAME
) -> Scope:
    """The clients of one account and region: the caller's own, or the member role's (`member_role_name`).
    The task ledger describes the caller's own account and region only: a same-named cluster elsewhere must
    not read it."""
    if account == home:
        clients = base if region == base.region else base.in_region(region)
        return Scope(clients=clients, region=region, account=account, ledger=region == base.region)
    if not settings.member_role_name:
        raise ConfigurationError(
            f"account {account} is read through the member role: --role-name NAME (or MODESHIFT_MEMBER_ROLE_NAME)"
        )
    arn = role_arn(base.session.get_partition_for_region(base.region), account, settings.member_role_name)
    assumed = base.assume_role(arn, region, session_name, settings.external_id)
    return Scope(clients=assumed, region=region, account=account, ledger=False)
