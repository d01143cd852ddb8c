"""The demo fleet: five ECS clusters and 14 days of metrics, each one a case the advisor should call."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modeshift.demo import seed
from modeshift.demo.seed import Timeline
from modeshift.domain.models import LaunchMode, Pattern

# --------------------------------------------------------------------------- knobs (tune here)

LOOKBACK_DAYS = 14
PERIOD_SECONDS = 300

# shop-ec2: EC2, Container Insights on, a bursty and a steady service
SHOP_CLUSTER = "shop-ec2"
SHOP_INSTANCE_TYPE = "m5.large"
SHOP_INSTANCE_COUNT = 4
WEB_CPU_UNITS, WEB_MEMORY_MIB = 512, 1024
WEB_BASE_TASKS, WEB_PEAK_TASKS = 2, 10
WEB_BURSTS_PER_DAY, WEB_BURST_MINUTES = 3, 45
WEB_CPU_PCT, WEB_MEMORY_PCT = 35.0, 45.0
API_CPU_UNITS, API_MEMORY_MIB, API_TASKS = 1024, 2048, 4
API_CPU_PCT, API_MEMORY_PCT = 40.0, 55.0

# core-ec2: EC2, Container Insights off, steady services on too many instances
CORE_CLUSTER = "core-ec2"
CORE_INSTANCE_TYPE = "c5.xlarge"
CORE_INSTANCE_COUNT = 6
CORE_SERVICE_CPU_UNITS, CORE_SERVICE_MEMORY_MIB, CORE_SERVICE_TASKS = 1024, 1536, 3
ORDERS_CPU_PCT, ORDERS_MEMORY_PCT = 22.0, 40.0
INVENTORY_CPU_PCT, INVENTORY_MEMORY_PCT = 15.0, 35.0
# ... and a bursty GPU inference service: its share of the idle cluster costs far more than Fargate
# would, yet its container asks for a GPU, so feasibility keeps it on EC2 whatever the price.
# Real GPU hosts would be g4dn/g5, which the embedded catalog does not price: an unpriced instance
# would drop out of the cluster's bill, so it shares the cluster's c5.xlarge (moto places no task).
INFERENCE = "inference"
INFERENCE_CPU_UNITS, INFERENCE_MEMORY_MIB, INFERENCE_GPUS = 1024, 2048, 1
INFERENCE_BASE_TASKS, INFERENCE_PEAK_TASKS = 1, 4
INFERENCE_BURSTS_PER_DAY, INFERENCE_BURST_MINUTES = 2, 60
INFERENCE_CPU_PCT, INFERENCE_MEMORY_PCT = 30.0, 60.0

# batch-ec2: EC2, Container Insights on, one nightly standalone task family
BATCH_CLUSTER = "batch-ec2"
BATCH_INSTANCE_TYPE = "m5.large"
BATCH_INSTANCE_COUNT = 2
NIGHTLY_FAMILY = "nightly-report"
NIGHTLY_CPU_UNITS, NIGHTLY_MEMORY_MIB, NIGHTLY_TASKS = 2048, 4096, 1
NIGHTLY_AT_HOUR_UTC, NIGHTLY_RUN_MINUTES = 1, 60
NIGHTLY_CPU_USED_FRACTION, NIGHTLY_MEMORY_USED_FRACTION = 0.7, 0.6

# fargate-prod: Fargate only, Container Insights on
FARGATE_CLUSTER = "fargate-prod"
CHECKOUT_CPU_UNITS, CHECKOUT_MEMORY_MIB, CHECKOUT_TASKS = 2048, 3072, 40
CHECKOUT_CPU_PCT, CHECKOUT_MEMORY_PCT = 55.0, 60.0
FRONTEND_CPU_UNITS, FRONTEND_MEMORY_MIB, FRONTEND_TASKS = 256, 512, 2
FRONTEND_CPU_PCT, FRONTEND_MEMORY_PCT = 20.0, 30.0
# three idle tasks: what scaling in to one task of the smallest size that holds it saves
ADMIN_CPU_UNITS, ADMIN_MEMORY_MIB, ADMIN_TASKS = 512, 1024, 3
ADMIN_CPU_PCT, ADMIN_MEMORY_PCT = 0.3, 12.0
REPORTS_CPU_UNITS, REPORTS_MEMORY_MIB, REPORTS_TASKS = 1024, 2048, 4
REPORTS_RUN_MINUTES = 15
REPORTS_CPU_PCT, REPORTS_MEMORY_PCT = 70.0, 50.0
INTERRUPTIBLE_TAG = "modeshift:interruptible"
ARM64_TAG = "modeshift:arm64"
SEARCH_BETA_CPU_UNITS, SEARCH_BETA_MEMORY_MIB, SEARCH_BETA_TASKS = 512, 1024, 2
SEARCH_BETA_DAYS = 1
SEARCH_BETA_CPU_PCT, SEARCH_BETA_MEMORY_PCT = 25.0, 40.0
GHOST_CPU_UNITS, GHOST_MEMORY_MIB, GHOST_DESIRED = 256, 512, 1

# legacy-ec2: one EC2 host for one small service, catalog, which moves to Fargate halfway through the 14 days
# (demo/change.py makes the move and the analysis from before it), so the report measures a real switch
LEGACY_CLUSTER = "legacy-ec2"
LEGACY_INSTANCE_TYPE = "m5.large"
CATALOG = "catalog"
CATALOG_CPU_UNITS, CATALOG_MEMORY_MIB, CATALOG_TASKS = 512, 1024, 2
CATALOG_CPU_PCT, CATALOG_MEMORY_PCT = 18.0, 25.0

STEADY_NOISE = 0.08
TASK_NOISE = 0.0  # steady services hold their count exactly
RESERVATION_NOISE = 0.01


# --------------------------------------------------------------------------- what was created


@dataclass(frozen=True, slots=True)
class SeedClients:
    ecs: Any
    ec2: Any
    cloudwatch: Any

    @classmethod
    def from_session(cls, session: Any, region: str, endpoint_url: str | None = None) -> SeedClients:
        """Clients for the seeding; the CloudWatch one skips botocore's client-side parameter check.

        That check costs ~45 % of the client's time per 1,000-item PutMetricData and the server
        validates anyway: the calls themselves are the real API.
        """
        from botocore.config import Config

        def make(name: str, config: Any = None) -> Any:
            return session.client(name, region_name=region, endpoint_url=endpoint_url, config=config)

        return cls(
            ecs=make("ecs"),
            ec2=make("ec2"),
            cloudwatch=make("cloudwatch", Config(parameter_validation=False)),
        )


@dataclass(frozen=True, slots=True)
class DemoService:
    cluster: str
    name: str
    arn: str
    task_definition_arn: str
    cpu_units: int
    memory_mib: int
    desired_count: int
    mode: LaunchMode
    seeded_pattern: Pattern
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemoStandaloneFamily:
    cluster: str
    family: str
    task_definition_arn: str
    cpu_units: int
    memory_mib: int
    seeded_pattern: Pattern


@dataclass(frozen=True, slots=True)
class DemoCluster:
    name: str
    arn: str
    container_insights: bool
    services: tuple[DemoService, ...]
    standalone_families: tuple[DemoStandaloneFamily, ...] = ()
    instance_type: str | None = None
    container_instance_arns: tuple[str, ...] = ()
    registered_cpu_units: int = 0
    registered_memory_mib: int = 0

    @property
    def has_ec2_capacity(self) -> bool:
        return bool(self.container_instance_arns)


@dataclass(frozen=True, slots=True)
class DemoFleet:
    region: str
    start: datetime
    end: datetime
    period_seconds: int
    clusters: tuple[DemoCluster, ...]
    datapoints: int  # CloudWatch datapoints written

    def cluster(self, name: str) -> DemoCluster:
        return next(c for c in self.clusters if c.name == name)

    def service(self, cluster: str, name: str) -> DemoService:
        return next(s for s in self.cluster(cluster).services if s.name == name)


# --------------------------------------------------------------------------- seeding


def _seed_for(*names: str) -> int:
    return zlib.crc32("/".join(names).encode()) ^ seed.DEFAULT_SEED


def _reservation_pct(
    timeline: Timeline,
    loads: Sequence[tuple[Sequence[float | None], int]],
    registered: int,
    seed_value: int,
) -> list[float | None]:
    """Percent of registered capacity the running tasks reserve, per period."""
    noise = seed.steady(timeline, 1.0, RESERVATION_NOISE, seed=seed_value)
    out: list[float | None] = []
    for i in range(timeline.count):
        reserved = sum((tasks[i] or 0.0) * size for tasks, size in loads)
        factor = noise[i]
        jitter = 1.0 if factor is None else factor
        out.append(min(100.0, 100.0 * reserved / registered * jitter) if registered else None)
    return out


Progress = Callable[[str], None]


def _no_progress(_: str) -> None:
    return None


class _DeferredCloudWatch:
    """Stands in for the CloudWatch client while the fleet is built: records each PutMetricData call, by series.

    Writing after everything is planned lets the seeding say how far it is out of a known total; the
    calls replayed are the very ones recorded, in the same order within each series.
    """

    def __init__(self) -> None:
        self.series: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def put_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        first = kwargs["MetricData"][0]
        dims = ",".join(f"{d['Name']}={d['Value']}" for d in first.get("Dimensions", ()))
        self.series.setdefault((kwargs["Namespace"], first["MetricName"], dims), []).append(kwargs)
        return {}

    def replay(self, cloudwatch: Any, progress: Progress) -> None:
        total_series = len(self.series)
        total_points = sum(len(call["MetricData"]) for calls in self.series.values() for call in calls)
        done_points = 0
        for done_series, calls in enumerate(self.series.values(), start=1):
            for call in calls:
                cloudwatch.put_metric_data(**call)
                done_points += len(call["MetricData"])
            progress(
                f"seeding metrics: series {done_series}/{total_series} ({done_points:,}/{total_points:,} datapoints)"
            )


class _Seeder:
    def __init__(self, clients: SeedClients, timeline: Timeline) -> None:
        self.timeline = timeline
        self.datapoints = 0
        self.deferred = _DeferredCloudWatch()
        # every metric write below goes to the recorder; ECS and EC2 calls go straight to the endpoint
        self.clients = SeedClients(ecs=clients.ecs, ec2=clients.ec2, cloudwatch=self.deferred)

    def service_metrics(
        self,
        cluster: str,
        name: str,
        tasks: Sequence[float | None],
        cpu_pct: Sequence[float | None],
        memory_pct: Sequence[float | None],
        container_insights: bool,
    ) -> None:
        self.datapoints += seed.put_service_metrics(
            self.clients.cloudwatch,
            self.timeline,
            cluster,
            name,
            tasks,
            cpu_pct,
            memory_pct,
            container_insights=container_insights,
            seed=_seed_for(cluster, name, "spread"),
        )

    def cluster_metrics(
        self,
        cluster: seed.Ec2ClusterSeed,
        cpu_loads: Sequence[tuple[Sequence[float | None], int]],
        memory_loads: Sequence[tuple[Sequence[float | None], int]],
        container_insights: bool,
    ) -> None:
        t = self.timeline
        dims = seed.dimensions(ClusterName=cluster.name)
        cpu = _reservation_pct(t, cpu_loads, cluster.registered_cpu_units, _seed_for(cluster.name, "cpu"))
        memory = _reservation_pct(t, memory_loads, cluster.registered_memory_mib, _seed_for(cluster.name, "mem"))
        cw = self.clients.cloudwatch
        self.datapoints += seed.put_series(
            cw, seed.AWS_ECS, "CPUReservation", dims, t.start, t.period_seconds, cpu, unit="Percent"
        )
        self.datapoints += seed.put_series(
            cw, seed.AWS_ECS, "MemoryReservation", dims, t.start, t.period_seconds, memory, unit="Percent"
        )
        if container_insights:
            instances = [float(len(cluster.container_instance_arns))] * t.count
            self.datapoints += seed.put_series(
                cw,
                seed.CONTAINER_INSIGHTS,
                "ContainerInstanceCount",
                dims,
                t.start,
                t.period_seconds,
                instances,
                unit="Count",
            )


def _last_count(tasks: Sequence[float | None]) -> int:
    return int(tasks[-1] or 0) if tasks else 0


def seed_demo_fleet(
    session_or_clients: Any, region: str, now: datetime, progress: Progress = _no_progress
) -> DemoFleet:
    """Create the demo fleet through the ECS, EC2 and CloudWatch APIs, metrics ending at `now` (floored).

    `session_or_clients` is a boto3 Session (clients follow AWS_ENDPOINT_URL) or SeedClients. `progress`
    hears one line per cluster created, then one per metric series written (done of total).
    """
    clients = (
        session_or_clients
        if isinstance(session_or_clients, SeedClients)
        else SeedClients.from_session(session_or_clients, region)
    )
    timeline = Timeline.ending(now, days=LOOKBACK_DAYS, period_seconds=PERIOD_SECONDS)
    seeder = _Seeder(clients, timeline)
    steps = (
        (SHOP_CLUSTER, _seed_shop),
        (CORE_CLUSTER, _seed_core),
        (BATCH_CLUSTER, _seed_batch),
        (FARGATE_CLUSTER, _seed_fargate),
        (LEGACY_CLUSTER, _seed_legacy),
    )
    built = []
    for position, (name, build) in enumerate(steps, start=1):
        progress(f"seeding cluster {position}/{len(steps)}: {name} (ECS and EC2 resources)")
        built.append(build(seeder.clients, seeder))
    clusters = tuple(built)
    seeder.deferred.replay(clients.cloudwatch, progress)
    return DemoFleet(
        region=region,
        start=timeline.start,
        end=timeline.end,
        period_seconds=timeline.period_seconds,
        clusters=clusters,
        datapoints=seeder.datapoints,
    )


def _ec2_service(
    clients: SeedClients,
    cluster: str,
    name: str,
    cpu_units: int,
    memory_mib: int,
    desired: int,
    pattern: Pattern,
    sized_at: seed.SizedAt = "task",
    *,
    network_mode: str | None = None,
    gpus: int = 0,
) -> DemoService:
    td = seed.register_task_definition(
        clients.ecs,
        name,
        cpu_units=cpu_units,
        memory_mib=memory_mib,
        sized_at=sized_at,
        compatibilities=("EC2",),
        network_mode=network_mode,
        gpus=gpus,
    )
    arn = seed.create_service(clients.ecs, cluster, name, td, desired_count=desired, launch_type="EC2")
    return DemoService(cluster, name, arn, td, cpu_units, memory_mib, desired, LaunchMode.EC2, pattern)


def _seed_shop(clients: SeedClients, seeder: _Seeder) -> DemoCluster:
    t = seeder.timeline
    ec2_cluster = seed.create_ec2_cluster(
        clients.ecs,
        clients.ec2,
        SHOP_CLUSTER,
        instance_type=SHOP_INSTANCE_TYPE,
        instance_count=SHOP_INSTANCE_COUNT,
        container_insights=True,
    )
    web_tasks = seed.counts(
        seed.bursty(
            t,
            WEB_BASE_TASKS,
            WEB_PEAK_TASKS,
            WEB_BURSTS_PER_DAY,
            WEB_BURST_MINUTES,
            noise=TASK_NOISE,
            seed=_seed_for(SHOP_CLUSTER, "web"),
        )
    )
    api_tasks = seed.counts(seed.steady(t, API_TASKS, TASK_NOISE))
    web = _ec2_service(
        clients,
        SHOP_CLUSTER,
        "web",
        WEB_CPU_UNITS,
        WEB_MEMORY_MIB,
        _last_count(web_tasks),
        Pattern.BURSTY,
        sized_at="containers",
    )
    api = _ec2_service(clients, SHOP_CLUSTER, "api", API_CPU_UNITS, API_MEMORY_MIB, API_TASKS, Pattern.STEADY)
    seeder.service_metrics(
        SHOP_CLUSTER,
        "web",
        web_tasks,
        seed.steady(t, WEB_CPU_PCT, STEADY_NOISE * 2, seed=_seed_for(SHOP_CLUSTER, "web", "cpu")),
        seed.steady(t, WEB_MEMORY_PCT, STEADY_NOISE / 2, seed=_seed_for(SHOP_CLUSTER, "web", "mem")),
        container_insights=True,
    )
    seeder.service_metrics(
        SHOP_CLUSTER,
        "api",
        api_tasks,
        seed.steady(t, API_CPU_PCT, STEADY_NOISE, seed=_seed_for(SHOP_CLUSTER, "api", "cpu")),
        seed.steady(t, API_MEMORY_PCT, STEADY_NOISE / 2, seed=_seed_for(SHOP_CLUSTER, "api", "mem")),
        container_insights=True,
    )
    seeder.cluster_metrics(
        ec2_cluster,
        [(web_tasks, WEB_CPU_UNITS), (api_tasks, API_CPU_UNITS)],
        [(web_tasks, WEB_MEMORY_MIB), (api_tasks, API_MEMORY_MIB)],
        container_insights=True,
    )
    return _ec2_demo_cluster(ec2_cluster, True, (web, api))


def _seed_legacy(clients: SeedClients, seeder: _Seeder) -> DemoCluster:
    """catalog on its own EC2 host; its host reserves nothing once catalog moves to Fargate, halfway."""
    t = seeder.timeline
    ec2_cluster = seed.create_ec2_cluster(
        clients.ecs, clients.ec2, LEGACY_CLUSTER, instance_type=LEGACY_INSTANCE_TYPE, instance_count=1
    )
    tasks = seed.counts(seed.steady(t, CATALOG_TASKS, TASK_NOISE))
    catalog = _ec2_service(
        clients, LEGACY_CLUSTER, CATALOG, CATALOG_CPU_UNITS, CATALOG_MEMORY_MIB, CATALOG_TASKS, Pattern.STEADY
    )
    seeder.service_metrics(
        LEGACY_CLUSTER,
        CATALOG,
        tasks,
        seed.steady(t, CATALOG_CPU_PCT, STEADY_NOISE, seed=_seed_for(LEGACY_CLUSTER, CATALOG, "cpu")),
        seed.steady(t, CATALOG_MEMORY_PCT, STEADY_NOISE / 2, seed=_seed_for(LEGACY_CLUSTER, CATALOG, "mem")),
        container_insights=False,
    )
    on_ec2 = [v if i < t.count // 2 else 0.0 for i, v in enumerate(tasks)]
    seeder.cluster_metrics(
        ec2_cluster,
        [(on_ec2, CATALOG_CPU_UNITS)],
        [(on_ec2, CATALOG_MEMORY_MIB)],
        container_insights=False,
    )
    return _ec2_demo_cluster(ec2_cluster, False, (catalog,))


def _seed_core(clients: SeedClients, seeder: _Seeder) -> DemoCluster:
    t = seeder.timeline
    ec2_cluster = seed.create_ec2_cluster(
        clients.ecs,
        clients.ec2,
        CORE_CLUSTER,
        instance_type=CORE_INSTANCE_TYPE,
        instance_count=CORE_INSTANCE_COUNT,
        container_insights=False,
    )
    tasks = seed.counts(seed.steady(t, CORE_SERVICE_TASKS, TASK_NOISE))
    services = []
    levels = {
        "orders": (ORDERS_CPU_PCT, ORDERS_MEMORY_PCT),
        "inventory": (INVENTORY_CPU_PCT, INVENTORY_MEMORY_PCT),
    }
    for name, (cpu_pct, memory_pct) in levels.items():
        services.append(
            _ec2_service(
                clients,
                CORE_CLUSTER,
                name,
                CORE_SERVICE_CPU_UNITS,
                CORE_SERVICE_MEMORY_MIB,
                CORE_SERVICE_TASKS,
                Pattern.STEADY,
                sized_at="containers" if name == "inventory" else "task",
            )
        )
        seeder.service_metrics(
            CORE_CLUSTER,
            name,
            tasks,
            seed.steady(t, cpu_pct, STEADY_NOISE, seed=_seed_for(CORE_CLUSTER, name, "cpu")),
            seed.steady(t, memory_pct, STEADY_NOISE / 2, seed=_seed_for(CORE_CLUSTER, name, "mem")),
            container_insights=False,
        )
    inference_tasks = seed.counts(
        seed.bursty(
            t,
            INFERENCE_BASE_TASKS,
            INFERENCE_PEAK_TASKS,
            INFERENCE_BURSTS_PER_DAY,
            INFERENCE_BURST_MINUTES,
            noise=TASK_NOISE,
            seed=_seed_for(CORE_CLUSTER, INFERENCE),
        )
    )
    services.append(
        _ec2_service(
            clients,
            CORE_CLUSTER,
            INFERENCE,
            INFERENCE_CPU_UNITS,
            INFERENCE_MEMORY_MIB,
            _last_count(inference_tasks),
            Pattern.BURSTY,
            network_mode="bridge",
            gpus=INFERENCE_GPUS,
        )
    )
    seeder.service_metrics(
        CORE_CLUSTER,
        INFERENCE,
        inference_tasks,
        seed.steady(t, INFERENCE_CPU_PCT, STEADY_NOISE * 2, seed=_seed_for(CORE_CLUSTER, INFERENCE, "cpu")),
        seed.steady(t, INFERENCE_MEMORY_PCT, STEADY_NOISE / 2, seed=_seed_for(CORE_CLUSTER, INFERENCE, "mem")),
        container_insights=False,
    )
    seeder.cluster_metrics(
        ec2_cluster,
        [*[(tasks, CORE_SERVICE_CPU_UNITS)] * len(levels), (inference_tasks, INFERENCE_CPU_UNITS)],
        [*[(tasks, CORE_SERVICE_MEMORY_MIB)] * len(levels), (inference_tasks, INFERENCE_MEMORY_MIB)],
        container_insights=False,
    )
    return _ec2_demo_cluster(ec2_cluster, False, tuple(services))


def _seed_batch(clients: SeedClients, seeder: _Seeder) -> DemoCluster:
    t = seeder.timeline
    ec2_cluster = seed.create_ec2_cluster(
        clients.ecs,
        clients.ec2,
        BATCH_CLUSTER,
        instance_type=BATCH_INSTANCE_TYPE,
        instance_count=BATCH_INSTANCE_COUNT,
        container_insights=True,
    )
    td = seed.register_task_definition(
        clients.ecs, NIGHTLY_FAMILY, cpu_units=NIGHTLY_CPU_UNITS, memory_mib=NIGHTLY_MEMORY_MIB
    )
    running = seed.periodic(t, NIGHTLY_TASKS, NIGHTLY_RUN_MINUTES, daily_at_hour=NIGHTLY_AT_HOUR_UTC, noise=0.0)
    cpu_used = seed.periodic(
        t,
        NIGHTLY_TASKS * NIGHTLY_CPU_UNITS * NIGHTLY_CPU_USED_FRACTION,
        NIGHTLY_RUN_MINUTES,
        daily_at_hour=NIGHTLY_AT_HOUR_UTC,
        noise=STEADY_NOISE,
        seed=_seed_for(BATCH_CLUSTER, NIGHTLY_FAMILY, "cpu"),
    )
    memory_used = seed.periodic(
        t,
        NIGHTLY_TASKS * NIGHTLY_MEMORY_MIB * NIGHTLY_MEMORY_USED_FRACTION,
        NIGHTLY_RUN_MINUTES,
        daily_at_hour=NIGHTLY_AT_HOUR_UTC,
        noise=STEADY_NOISE / 2,
        seed=_seed_for(BATCH_CLUSTER, NIGHTLY_FAMILY, "mem"),
    )
    dims = seed.dimensions(ClusterName=BATCH_CLUSTER, TaskDefinitionFamily=NIGHTLY_FAMILY)
    family_series = {
        "CpuReserved": ([None if r is None else r * NIGHTLY_CPU_UNITS for r in running], "None"),
        "CpuUtilized": (cpu_used, "None"),
        "MemoryReserved": ([None if r is None else r * NIGHTLY_MEMORY_MIB for r in running], "Megabytes"),
        "MemoryUtilized": (memory_used, "Megabytes"),
    }
    for metric_name, (values, unit) in family_series.items():
        seeder.datapoints += seed.put_series(
            clients.cloudwatch,
            seed.CONTAINER_INSIGHTS,
            metric_name,
            dims,
            t.start,
            t.period_seconds,
            values,
            unit=unit,
        )
    seeder.cluster_metrics(
        ec2_cluster,
        [(running, NIGHTLY_CPU_UNITS)],
        [(running, NIGHTLY_MEMORY_MIB)],
        container_insights=True,
    )
    family = DemoStandaloneFamily(
        BATCH_CLUSTER, NIGHTLY_FAMILY, td, NIGHTLY_CPU_UNITS, NIGHTLY_MEMORY_MIB, Pattern.PERIODIC
    )
    return _ec2_demo_cluster(ec2_cluster, True, (), (family,))


def _ec2_demo_cluster(
    ec2_cluster: seed.Ec2ClusterSeed,
    container_insights: bool,
    services: tuple[DemoService, ...],
    families: tuple[DemoStandaloneFamily, ...] = (),
) -> DemoCluster:
    return DemoCluster(
        name=ec2_cluster.name,
        arn=ec2_cluster.arn,
        container_insights=container_insights,
        services=services,
        standalone_families=families,
        instance_type=ec2_cluster.instance_type,
        container_instance_arns=ec2_cluster.container_instance_arns,
        registered_cpu_units=ec2_cluster.registered_cpu_units,
        registered_memory_mib=ec2_cluster.registered_memory_mib,
    )


@dataclass(frozen=True, slots=True)
class _FargateSpec:
    name: str
    cpu_units: int
    memory_mib: int
    tasks: Sequence[float | None]
    cpu_pct: Sequence[float | None]
    memory_pct: Sequence[float | None]
    pattern: Pattern
    desired: int
    tags: dict[str, str] = field(default_factory=dict)


def _seed_fargate(clients: SeedClients, seeder: _Seeder) -> DemoCluster:
    t = seeder.timeline
    arn = seed.create_fargate_cluster(clients.ecs, FARGATE_CLUSTER, container_insights=True)
    network = seed.create_network(clients.ec2)

    def level(name: str, what: str, value: float, noise: float = STEADY_NOISE) -> list[float | None]:
        return seed.steady(t, value, noise, seed=_seed_for(FARGATE_CLUSTER, name, what))

    # The periodic service exists all the time: 0 tasks between runs, not "no service".
    reports_tasks = [
        v or 0.0 for v in seed.counts(seed.periodic(t, REPORTS_TASKS, REPORTS_RUN_MINUTES, every_hour=True, noise=0.0))
    ]
    search_tasks = seed.short(t, seed.counts(seed.steady(t, SEARCH_BETA_TASKS, TASK_NOISE)), SEARCH_BETA_DAYS)
    specs = [
        _FargateSpec(
            "checkout",
            CHECKOUT_CPU_UNITS,
            CHECKOUT_MEMORY_MIB,
            seed.counts(seed.steady(t, CHECKOUT_TASKS, TASK_NOISE)),
            level("checkout", "cpu", CHECKOUT_CPU_PCT),
            level("checkout", "mem", CHECKOUT_MEMORY_PCT, STEADY_NOISE / 2),
            Pattern.STEADY,
            CHECKOUT_TASKS,
            # its image is built for both architectures: Graviton candidates may be recommended, not only listed
            {ARM64_TAG: "ready"},
        ),
        _FargateSpec(
            "frontend",
            FRONTEND_CPU_UNITS,
            FRONTEND_MEMORY_MIB,
            seed.counts(seed.steady(t, FRONTEND_TASKS, TASK_NOISE)),
            level("frontend", "cpu", FRONTEND_CPU_PCT),
            level("frontend", "mem", FRONTEND_MEMORY_PCT, STEADY_NOISE / 2),
            Pattern.STEADY,
            FRONTEND_TASKS,
        ),
        _FargateSpec(
            "admin",
            ADMIN_CPU_UNITS,
            ADMIN_MEMORY_MIB,
            seed.counts(seed.steady(t, ADMIN_TASKS, TASK_NOISE)),
            seed.idle(t, ADMIN_CPU_PCT, seed=_seed_for(FARGATE_CLUSTER, "admin", "cpu")),
            level("admin", "mem", ADMIN_MEMORY_PCT, STEADY_NOISE / 2),
            Pattern.IDLE,
            ADMIN_TASKS,
        ),
        _FargateSpec(
            "reports",
            REPORTS_CPU_UNITS,
            REPORTS_MEMORY_MIB,
            reports_tasks,
            level("reports", "cpu", REPORTS_CPU_PCT),
            level("reports", "mem", REPORTS_MEMORY_PCT, STEADY_NOISE / 2),
            Pattern.PERIODIC,
            _last_count(reports_tasks),
            {INTERRUPTIBLE_TAG: "true"},
        ),
        _FargateSpec(
            "search-beta",
            SEARCH_BETA_CPU_UNITS,
            SEARCH_BETA_MEMORY_MIB,
            search_tasks,
            level("search-beta", "cpu", SEARCH_BETA_CPU_PCT),
            level("search-beta", "mem", SEARCH_BETA_MEMORY_PCT, STEADY_NOISE / 2),
            Pattern.INSUFFICIENT_DATA,
            SEARCH_BETA_TASKS,
        ),
        _FargateSpec(
            "ghost",
            GHOST_CPU_UNITS,
            GHOST_MEMORY_MIB,
            [None] * t.count,
            [None] * t.count,
            [None] * t.count,
            Pattern.INSUFFICIENT_DATA,
            GHOST_DESIRED,
        ),
    ]
    services = []
    for spec in specs:
        td = seed.register_task_definition(
            clients.ecs,
            spec.name,
            cpu_units=spec.cpu_units,
            memory_mib=spec.memory_mib,
            compatibilities=("FARGATE",),
        )
        service_arn = seed.create_service(
            clients.ecs,
            FARGATE_CLUSTER,
            spec.name,
            td,
            desired_count=spec.desired,
            launch_type="FARGATE",
            tags=spec.tags,
            network=network,
        )
        services.append(
            DemoService(
                FARGATE_CLUSTER,
                spec.name,
                service_arn,
                td,
                spec.cpu_units,
                spec.memory_mib,
                spec.desired,
                LaunchMode.FARGATE,
                spec.pattern,
                dict(spec.tags),
            )
        )
        if any(v is not None for v in spec.tasks):
            seeder.service_metrics(
                FARGATE_CLUSTER, spec.name, spec.tasks, spec.cpu_pct, spec.memory_pct, container_insights=True
            )
    return DemoCluster(name=FARGATE_CLUSTER, arn=arn, container_insights=True, services=tuple(services))
