"""Right size: the smallest task that holds a workload's measured peaks with headroom, per launch mode.

CPU is held to the p99 of the per-period CPU Maximum (one slow minute in a hundred may run at the
limit, not above it); memory to the highest Maximum ever seen, because running out of memory kills
the task. Each gets its own headroom on top. Utilisation is a percent of what the task reserves
today, so the needs are that share of today's size. A task is never sized below its observed memory
peak plus headroom, never grown (a bigger size is not a saving), and not sized at all without both
measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from modeshift.domain.models import LaunchMode, TaskSize, WorkloadFeatures
from modeshift.domain.pricing import TaskTooLargeForFargateError, fargate_size

# EC2-backed reservations are rounded up to these steps: small enough to pack tightly, coarse enough
# that a few percent of noise does not produce a new revision every week.
EC2_CPU_STEP_UNITS = 128
EC2_MEMORY_STEP_MIB = 128
_FARGATE_MODES = (LaunchMode.FARGATE, LaunchMode.FARGATE_SPOT)


@dataclass(frozen=True)
class Need:
    """CPU units and MiB one task needs, with the arithmetic that produced them."""

    cpu_units: float
    memory_mib: float
    arithmetic: str


def measured_need(
    size: TaskSize, features: WorkloadFeatures, cpu_headroom_pct: float, memory_headroom_pct: float
) -> Need | None:
    """What one task needs, from today's size and its utilisation; None without CPU peak and memory peak.

    A task that reserves no CPU (an EC2 task sized from containers) keeps needing none: its CPU share is
    not measurable as a percent of nothing.
    """
    cpu_peak = features.cpu_max_p99_pct
    memory_peak = features.memory_max_pct
    if memory_peak is None or (cpu_peak is None and size.cpu_units > 0):
        return None
    if not (math.isfinite(memory_peak) and (cpu_peak is None or math.isfinite(cpu_peak))):
        return None
    memory = size.memory_mib * memory_peak / 100.0 * (1 + memory_headroom_pct / 100.0)
    cpu = 0.0 if cpu_peak is None else size.cpu_units * cpu_peak / 100.0 * (1 + cpu_headroom_pct / 100.0)
    cpu_text = (
        "no CPU reserved today"
        if cpu_peak is None
        else f"CPU {size.cpu_units} units × p99 of per-period max {cpu_peak:.1f}% × (1 + {cpu_headroom_pct:g}%)"
        f" = {cpu:,.0f} units"
    )
    memory_text = (
        f"memory {size.memory_mib} MiB × max {memory_peak:.1f}% × (1 + {memory_headroom_pct:g}%) = {memory:,.0f} MiB"
    )
    return Need(cpu_units=cpu, memory_mib=memory, arithmetic=f"needs {cpu_text}; {memory_text}")


def size_for_mode(need: Need, today: TaskSize, mode: LaunchMode) -> TaskSize | None:
    """The smallest size `mode` can run that holds `need`; None when it would not be smaller than today.

    Fargate: the smallest valid Fargate size (which may be the size Fargate bills for today's task).
    EC2-backed modes: the need rounded up to 128 CPU units / 128 MiB, at least one step of each. Memory
    above today's is never a smaller size (None); CPU is held at today's when it measured above it.
    """
    # CPU above today's reservation (EC2 shares can burst past it) is not a reason to grow: hold today's CPU.
    cpu_need = min(need.cpu_units, float(today.cpu_units))
    if mode in _FARGATE_MODES:
        try:
            fitted = fargate_size(math.ceil(cpu_need), math.ceil(need.memory_mib))
            billed_today = fargate_size(today.cpu_units, today.memory_mib)
        except TaskTooLargeForFargateError:
            return None
        smaller = (fitted.cpu_units, fitted.memory_mib) != (billed_today.cpu_units, billed_today.memory_mib)
        if smaller and fitted.cpu_units <= billed_today.cpu_units and fitted.memory_mib <= billed_today.memory_mib:
            return fitted
        return None
    cpu = 0 if today.cpu_units <= 0 else min(today.cpu_units, _step_up(cpu_need, EC2_CPU_STEP_UNITS))
    memory = _step_up(need.memory_mib, EC2_MEMORY_STEP_MIB)
    if cpu > today.cpu_units or memory > today.memory_mib or (cpu, memory) == (today.cpu_units, today.memory_mib):
        return None
    return TaskSize(cpu_units=cpu, memory_mib=memory, sized_from="task")


def _step_up(value: float, step: int) -> int:
    return max(step, math.ceil(value / step - 1e-9) * step)
