"""Where a capacity-provider strategy puts a service's tasks: each provider's base first, then the rest by weight."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from modeshift.domain.models import CapacityProviderStrategyItem, LaunchMode

# Tie-break order when two modes hold the same number of tasks: on-demand first, because Spot is the
# optimistic case and a tie gives no evidence that the workload tolerates interruption.
MODE_PREFERENCE = (
    LaunchMode.FARGATE,
    LaunchMode.EC2,
    LaunchMode.MANAGED_INSTANCES,
    LaunchMode.FARGATE_SPOT,
    LaunchMode.EXTERNAL,
)


def mode_of_provider(provider: str) -> LaunchMode:
    """FARGATE and FARGATE_SPOT are AWS's own providers; every other one is an EC2 Auto Scaling group
    (or, for ECS Managed Instances, AWS-run EC2: still EC2 capacity for this comparison)."""
    if provider == "FARGATE":
        return LaunchMode.FARGATE
    if provider == "FARGATE_SPOT":
        return LaunchMode.FARGATE_SPOT
    return LaunchMode.EC2


def place_tasks(strategy: Sequence[CapacityProviderStrategyItem], count: int) -> dict[str, int]:
    """Tasks per capacity provider for `count` tasks, as ECS places them.

    ECS satisfies each provider's `base` first (in strategy order), then splits the remaining tasks in
    proportion to `weight`; a provider of weight 0 receives only its base. Fractions are resolved by
    largest remainder, ties to the earlier provider in the strategy. A strategy whose weights are all
    zero places every task beyond the bases on its first provider (ECS rejects such strategies unless
    a base covers them, so this only keeps the function total).
    """
    placed = {item.capacity_provider: 0 for item in strategy}
    if not strategy or count <= 0:
        return placed
    remaining = count
    for item in strategy:
        take = min(item.base, remaining)
        placed[item.capacity_provider] += take
        remaining -= take
    if remaining == 0:
        return placed
    total_weight = sum(item.weight for item in strategy)
    if total_weight <= 0:
        placed[strategy[0].capacity_provider] += remaining
        return placed
    shares = [(item, remaining * item.weight / total_weight) for item in strategy]
    floors = {item.capacity_provider: math.floor(share) for item, share in shares}
    left = remaining - sum(floors.values())
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i][1] - math.floor(shares[i][1])), i))
    for index in by_remainder[:left]:
        floors[shares[index][0].capacity_provider] += 1
    for provider, extra in floors.items():
        placed[provider] += extra
    return placed


def mix_by_mode(
    strategy: Sequence[CapacityProviderStrategyItem],
    count: int,
    overrides: Mapping[str, LaunchMode] | None = None,
) -> dict[LaunchMode, int]:
    """Tasks per launch mode for `count` tasks under `strategy` (providers of one mode added up); `overrides`
    names providers whose mode their name does not tell (ECS Managed Instances providers)."""
    mix: dict[LaunchMode, int] = {}
    for provider, tasks in place_tasks(strategy, count).items():
        mode = (overrides or {}).get(provider) or mode_of_provider(provider)
        mix[mode] = mix.get(mode, 0) + tasks
    return mix


def dominant_mode(mix: Mapping[LaunchMode, int | float]) -> LaunchMode | None:
    """The mode holding most tasks; None when nothing is placed."""
    top = max(mix.values(), default=0)
    if top <= 0:
        return None
    return next(mode for mode in MODE_PREFERENCE if mix.get(mode, 0) == top)


def strategy_mode(
    strategy: Sequence[CapacityProviderStrategyItem],
    count: int,
    overrides: Mapping[str, LaunchMode] | None = None,
) -> LaunchMode | None:
    """The mode of most tasks under `strategy`; with no tasks to place, the mode one task would take."""
    if not strategy:
        return None
    return dominant_mode(mix_by_mode(strategy, max(count, 1), overrides))
