"""AWS Organizations and EC2 region adapters: which accounts and regions a fleet-wide run covers."""

from __future__ import annotations

from typing import Any

from modeshift.adapters.aws_errors import translated

# An account in these states can be read; SUSPENDED / PENDING_CLOSURE / CLOSED ones cannot be assumed into.
_READABLE = frozenset({"ACTIVE"})


class OrganizationAccountLister:
    """ListAccounts, from the management account or a delegated administrator."""

    def __init__(self, organizations_client: Any) -> None:
        self._client = organizations_client

    def active_accounts(self) -> list[str]:
        """Ids of the organization's active accounts, in the order AWS lists them. `State` (added 2025) is read
        first; `Status`, which it replaces, when `State` is absent."""
        accounts: list[str] = []
        with translated("ListAccounts", "organizations:ListAccounts"):
            for page in self._client.get_paginator("list_accounts").paginate():
                for account in page.get("Accounts", []):
                    state = account.get("State") or account.get("Status")
                    if state in _READABLE and account.get("Id"):
                        accounts.append(str(account["Id"]))
        return accounts


class EnabledRegionsReader:
    """DescribeRegions: the regions enabled for the account (opt-in regions only once opted in)."""

    def __init__(self, ec2_client: Any) -> None:
        self._client = ec2_client

    def enabled(self) -> list[str]:
        with translated("DescribeRegions", "ec2:DescribeRegions"):
            regions = self._client.describe_regions(AllRegions=False).get("Regions", [])
        return sorted(
            str(r["RegionName"])
            for r in regions
            if r.get("RegionName") and r.get("OptInStatus", "opt-in-not-required") != "not-opted-in"
        )
