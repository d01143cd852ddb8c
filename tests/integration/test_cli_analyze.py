"""`modeshift analyze` and `modeshift demo` end to end: CLI → service → boto3 → a loopback moto server.

A small fleet with one workload per pattern of the decision table is seeded once (4 days of 5-minute
metrics, written through the real ECS, EC2 and CloudWatch APIs) and every test drives
`modeshift.cli.main` against it, reading only what the CLI prints and its exit code.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from modeshift.aws import AwsClients
from modeshift.cli import main
from modeshift.demo import fleet as demo_fleet
from modeshift.demo import local_aws, seed
from modeshift.demo.fleet import SeedClients
from modeshift.demo.local_aws import LocalAws
from modeshift.domain.models import TaskSize
from modeshift.domain.packing import tasks_per_instance
from modeshift.domain.pricing import fargate_size, load_embedded_catalog

pytestmark = pytest.mark.integration

REGION = "us-east-1"
LOOKBACK_DAYS = 4  # ≥ the classifier's 72 h minimum span, and small: every datapoint crosses HTTP
LOOKBACK_ARGS = ("--lookback-days", str(LOOKBACK_DAYS))
INTERRUPTIBLE_TAG = "modeshift:interruptible"

# shop-ec2: EC2 with low reservation, hosting one bursty service
SHOP = "shop-ec2"
SHOP_INSTANCE_TYPE, SHOP_INSTANCES = "m5.large", 4
WEB_CPU_UNITS, WEB_MEMORY_MIB = 512, 1024
WEB_BASE_TASKS, WEB_PEAK_TASKS, WEB_BURSTS_PER_DAY, WEB_BURST_MINUTES = 2, 10, 3, 45

# core-ec2: over-provisioned EC2 hosting one steady service that packs well (Container Insights off)
CORE = "core-ec2"
CORE_INSTANCE_TYPE, CORE_INSTANCES = "c5.xlarge", 6
ORDERS_CPU_UNITS, ORDERS_MEMORY_MIB, ORDERS_TASKS = 1024, 1536, 3

# batch-ec2: EC2 running one hourly standalone task family, visible only through Container Insights
BATCH = "batch-ec2"
BATCH_INSTANCE_TYPE, BATCH_INSTANCES = "m5.large", 2
ETL_FAMILY = "hourly-etl"
ETL_CPU_UNITS, ETL_MEMORY_MIB, ETL_RUN_MINUTES = 2048, 4096, 20

# fargate-prod: Fargate only
FARGATE = "fargate-prod"
CHECKOUT_CPU_UNITS, CHECKOUT_MEMORY_MIB, CHECKOUT_TASKS = 2048, 3072, 40
REPORTS_CPU_UNITS, REPORTS_MEMORY_MIB, REPORTS_TASKS, REPORTS_RUN_MINUTES = 1024, 2048, 4, 15
GHOST_CPU_UNITS, GHOST_MEMORY_MIB, GHOST_DESIRED = 256, 512, 1

ALL_CLUSTERS = {SHOP, CORE, BATCH, FARGATE}
MOVES = {"move_to_fargate", "move_to_fargate_spot", "move_to_ec2"}
WORKLOAD_FIELDS = {
    "cluster",
    "workload",
    "service",
    "task_family",
    "verdict",
    "current_mode",
    "recommended_mode",
    "pattern",
    "current_monthly_cost_usd",
    "recommended_monthly_cost_usd",
    "monthly_savings_usd",
    "confidence",
    "reasons",
    "arithmetic",
    "evidence",
}
CLUSTER_FIELDS = {
    "cluster",
    "verdict",
    "instance_count",
    "instance_types",
    "idle_instance_count",
    "monthly_cost_usd",
    "wasted_monthly_cost_usd",
    "cpu_reservation_pct",
    "memory_reservation_pct",
    "binding_resource",
    "recommended_instance_count",
    "monthly_savings_usd",
    "confidence",
    "reasons",
    "arithmetic",
    "evidence",
}
TOTALS_FIELDS = {
    "current_monthly_cost_usd",
    "recommended_monthly_cost_usd",
    "monthly_savings_usd",
    "workload_savings_usd",
    "cluster_tuning_savings_usd",
    "wasted_monthly_cost_usd",
    "verdict_counts",
    "cluster_verdict_counts",
    "failed_cluster_count",
    "unconfirmed_monthly_savings_usd",
    "confidence_floor",
}
FAKE_SECRET_ACCESS_KEY = "FAKE-SECRET-wJalrXUtnFEMI-K7MDENG-never-logged"
FAKE_SESSION_TOKEN = "FAKE-SESSION-TOKEN-IQoJb3JpZ2luX2Vj-never-logged"


# --------------------------------------------------------------------------- running the CLI


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str

    @property
    def document(self) -> dict[str, Any]:
        """The whole of stdout parsed as one JSON document (fails if anything else was printed)."""
        return json.loads(self.stdout)

    def workload(self, cluster: str, workload: str) -> dict[str, Any]:
        matches = [w for w in self.document["workloads"] if w["cluster"] == cluster and w["workload"] == workload]
        assert len(matches) == 1, f"expected one {cluster}/{workload}, got {len(matches)}: {self.stderr}"
        return matches[0]

    def cluster(self, name: str) -> dict[str, Any]:
        matches = [c for c in self.document["clusters"] if c["cluster"] == name]
        assert len(matches) == 1, f"expected one cluster {name}, got {len(matches)}"
        return matches[0]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliRun:
    capsys.readouterr()  # drop anything an earlier step printed
    code = main(list(argv))
    out, err = capsys.readouterr()
    return CliRun(code, out, err)


def analyze_json(capsys: pytest.CaptureFixture[str], *extra: str) -> CliRun:
    return run_cli(capsys, "analyze", "--output", "json", *LOOKBACK_ARGS, *extra)


def _isolate_sdk_environment(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No profile, no MODESHIFT_* setting, no credential source but what the test sets; no IMDS probe."""
    for name in list(os.environ):
        if name.startswith(("MODESHIFT_", "AWS_")):
            monkeypatch.delenv(name)
    empty = home / "empty-aws-file"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    # Without this botocore would probe the EC2 instance metadata service for credentials.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _refuses_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) != 0


# --------------------------------------------------------------------------- the pattern fleet


def _reservation_pct(tasks: Sequence[float | None], units_per_task: int, registered: int) -> list[float | None]:
    """Percent of the cluster's registered CPU/memory the running tasks reserve; 0 while none runs."""
    return [100.0 * (n or 0.0) * units_per_task / registered for n in tasks]


def _put_cluster_reservation(
    cloudwatch: Any,
    t: seed.Timeline,
    cluster: seed.Ec2ClusterSeed,
    tasks: Sequence[float | None],
    cpu_units: int,
    memory_mib: int,
    *,
    container_insights: bool,
) -> None:
    dims = seed.dimensions(ClusterName=cluster.name)
    series = {
        "CPUReservation": _reservation_pct(tasks, cpu_units, cluster.registered_cpu_units),
        "MemoryReservation": _reservation_pct(tasks, memory_mib, cluster.registered_memory_mib),
    }
    for metric, values in series.items():
        seed.put_series(cloudwatch, seed.AWS_ECS, metric, dims, t.start, t.period_seconds, values, unit="Percent")
    if container_insights:
        instances = [float(len(cluster.container_instance_arns))] * t.count
        seed.put_series(
            cloudwatch,
            seed.CONTAINER_INSIGHTS,
            "ContainerInstanceCount",
            dims,
            t.start,
            t.period_seconds,
            instances,
            unit="Count",
        )


@dataclass(frozen=True)
class PatternFleet:
    local: LocalAws
    core: seed.Ec2ClusterSeed

    @property
    def core_registered_memory_per_instance_mib(self) -> int:
        return self.core.registered_memory_mib // len(self.core.container_instance_arns)


def _seed_shop(c: SeedClients, t: seed.Timeline) -> None:
    cluster = seed.create_ec2_cluster(
        c.ecs, c.ec2, SHOP, instance_type=SHOP_INSTANCE_TYPE, instance_count=SHOP_INSTANCES, container_insights=True
    )
    tasks = seed.counts(
        seed.bursty(t, WEB_BASE_TASKS, WEB_PEAK_TASKS, WEB_BURSTS_PER_DAY, WEB_BURST_MINUTES, noise=0.0, seed=11)
    )
    td = seed.register_task_definition(c.ecs, "web", cpu_units=WEB_CPU_UNITS, memory_mib=WEB_MEMORY_MIB)
    seed.create_service(c.ecs, SHOP, "web", td, desired_count=int(tasks[-1] or 0), launch_type="EC2")
    seed.put_service_metrics(
        c.cloudwatch,
        t,
        SHOP,
        "web",
        tasks,
        seed.steady(t, 35.0, 0.16, seed=12),
        seed.steady(t, 45.0, 0.04, seed=13),
        container_insights=True,
    )
    _put_cluster_reservation(c.cloudwatch, t, cluster, tasks, WEB_CPU_UNITS, WEB_MEMORY_MIB, container_insights=True)


def _seed_core(c: SeedClients, t: seed.Timeline) -> seed.Ec2ClusterSeed:
    cluster = seed.create_ec2_cluster(
        c.ecs, c.ec2, CORE, instance_type=CORE_INSTANCE_TYPE, instance_count=CORE_INSTANCES, container_insights=False
    )
    tasks = seed.counts(seed.steady(t, ORDERS_TASKS, 0.0))
    td = seed.register_task_definition(c.ecs, "orders", cpu_units=ORDERS_CPU_UNITS, memory_mib=ORDERS_MEMORY_MIB)
    seed.create_service(c.ecs, CORE, "orders", td, desired_count=ORDERS_TASKS, launch_type="EC2")
    seed.put_service_metrics(
        c.cloudwatch,
        t,
        CORE,
        "orders",
        tasks,
        seed.steady(t, 22.0, 0.08, seed=21),
        seed.steady(t, 40.0, 0.04, seed=22),
        container_insights=False,
    )
    _put_cluster_reservation(
        c.cloudwatch, t, cluster, tasks, ORDERS_CPU_UNITS, ORDERS_MEMORY_MIB, container_insights=False
    )
    return cluster


def _seed_batch(c: SeedClients, t: seed.Timeline) -> None:
    """A standalone family no service uses: only Container Insights' TaskDefinitionFamily metrics see it."""
    cluster = seed.create_ec2_cluster(
        c.ecs, c.ec2, BATCH, instance_type=BATCH_INSTANCE_TYPE, instance_count=BATCH_INSTANCES, container_insights=True
    )
    seed.register_task_definition(c.ecs, ETL_FAMILY, cpu_units=ETL_CPU_UNITS, memory_mib=ETL_MEMORY_MIB)
    running = seed.periodic(t, 1.0, ETL_RUN_MINUTES, every_hour=True, noise=0.0)
    dims = seed.dimensions(ClusterName=BATCH, TaskDefinitionFamily=ETL_FAMILY)
    family_series = {
        "CpuReserved": ([None if r is None else r * ETL_CPU_UNITS for r in running], "None"),
        "CpuUtilized": (seed.periodic(t, 0.7 * ETL_CPU_UNITS, ETL_RUN_MINUTES, every_hour=True, seed=31), "None"),
        "MemoryReserved": ([None if r is None else r * ETL_MEMORY_MIB for r in running], "Megabytes"),
        "MemoryUtilized": (
            seed.periodic(t, 0.6 * ETL_MEMORY_MIB, ETL_RUN_MINUTES, every_hour=True, seed=32),
            "Megabytes",
        ),
    }
    for metric, (values, unit) in family_series.items():
        seed.put_series(
            c.cloudwatch, seed.CONTAINER_INSIGHTS, metric, dims, t.start, t.period_seconds, values, unit=unit
        )
    _put_cluster_reservation(c.cloudwatch, t, cluster, running, ETL_CPU_UNITS, ETL_MEMORY_MIB, container_insights=True)


def _seed_fargate(c: SeedClients, t: seed.Timeline) -> None:
    seed.create_fargate_cluster(c.ecs, FARGATE, container_insights=True)
    network = seed.create_network(c.ec2)
    checkout_tasks = seed.counts(seed.steady(t, CHECKOUT_TASKS, 0.0))
    # The periodic service exists all the time: 0 tasks between its runs, not "no service".
    reports_tasks = [
        v or 0.0 for v in seed.counts(seed.periodic(t, REPORTS_TASKS, REPORTS_RUN_MINUTES, every_hour=True, noise=0.0))
    ]
    services: list[tuple[str, int, int, int, dict[str, str], Any]] = [
        ("checkout", CHECKOUT_CPU_UNITS, CHECKOUT_MEMORY_MIB, CHECKOUT_TASKS, {}, checkout_tasks),
        (
            "reports",
            REPORTS_CPU_UNITS,
            REPORTS_MEMORY_MIB,
            int(reports_tasks[-1] or 0),
            {INTERRUPTIBLE_TAG: "true"},
            reports_tasks,
        ),
        ("ghost", GHOST_CPU_UNITS, GHOST_MEMORY_MIB, GHOST_DESIRED, {}, None),
    ]
    for index, (name, cpu, memory, desired, tags, tasks) in enumerate(services):
        td = seed.register_task_definition(c.ecs, name, cpu_units=cpu, memory_mib=memory, compatibilities=("FARGATE",))
        seed.create_service(
            c.ecs, FARGATE, name, td, desired_count=desired, launch_type="FARGATE", tags=tags, network=network
        )
        if tasks is None:
            continue  # ghost: a service CloudWatch has never heard of
        seed.put_service_metrics(
            c.cloudwatch,
            t,
            FARGATE,
            name,
            tasks,
            seed.steady(t, 55.0, 0.08, seed=40 + index),
            seed.steady(t, 60.0, 0.04, seed=50 + index),
            container_insights=True,
        )


@pytest.fixture(scope="class")
def pattern_fleet() -> Iterator[PatternFleet]:
    """The seeded local AWS, for one test class: moto's state is process-wide and the demo test
    starts (and resets) its own local AWS, so this server must be gone before that test runs."""
    with LocalAws(REGION) as local:
        clients = SeedClients.from_session(local.session(), REGION, endpoint_url=local.endpoint_url)
        timeline = seed.Timeline.ending(datetime.now(UTC), days=LOOKBACK_DAYS)
        _seed_shop(clients, timeline)
        core = _seed_core(clients, timeline)
        _seed_batch(clients, timeline)
        _seed_fargate(clients, timeline)
        yield PatternFleet(local=local, core=core)


@pytest.fixture
def fleet_env(pattern_fleet: PatternFleet, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> PatternFleet:
    _isolate_sdk_environment(monkeypatch, tmp_path)
    for name, value in pattern_fleet.local.environ().items():
        monkeypatch.setenv(name, value)
    return pattern_fleet


@pytest.fixture(scope="class")
def default_run(pattern_fleet: PatternFleet, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """One default `analyze --output json` shared by the read-only assertions (capsys is per test)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate_sdk_environment(monkeypatch, tmp_path_factory.mktemp("sdk"))
        for name, value in pattern_fleet.local.environ().items():
            monkeypatch.setenv(name, value)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["analyze", "--output", "json", *LOOKBACK_ARGS])
    run = CliRun(code, out.getvalue(), err.getvalue())
    assert run.code == 0, run.stderr
    return run


class TestPatternFleet:
    """Every test here reads the same seeded account (class-scoped: see `pattern_fleet`)."""

    # ----------------------------------------------------------------- one verdict per pattern

    def test_bursty_ec2_service_moves_to_fargate_when_its_cluster_reservation_is_low(self, default_run: CliRun):
        web = default_run.workload(SHOP, "service:web")
        assert web["pattern"] == "bursty"
        assert web["verdict"] == "move_to_fargate"
        assert (web["current_mode"], web["recommended_mode"]) == ("EC2", "FARGATE")
        assert web["monthly_savings_usd"] > 0
        shop = default_run.cluster(SHOP)
        assert shop["verdict"] == "move_workloads_to_fargate"
        assert shop["cpu_reservation_pct"] < 60 and shop["memory_reservation_pct"] < 60
        assert "service:web" in " ".join(shop["reasons"])

    def test_steady_ec2_service_is_kept_and_cluster_tuned_when_tasks_pack_well_on_overprovisioned_hosts(
        self, default_run: CliRun, pattern_fleet: PatternFleet
    ):
        # The premise, from the catalog and what moto registered: one c5.xlarge holds every orders task,
        # so six hosts are far more than the load needs, and Fargate (1536 MiB → 2 GiB) is no cheaper.
        shape = load_embedded_catalog().instance_shape(CORE_INSTANCE_TYPE)
        assert shape is not None
        per_host = tasks_per_instance(
            TaskSize(cpu_units=ORDERS_CPU_UNITS, memory_mib=ORDERS_MEMORY_MIB),
            shape.cpu_units,
            pattern_fleet.core_registered_memory_per_instance_mib,
            0.0,
        )
        assert per_host >= ORDERS_TASKS
        assert fargate_size(ORDERS_CPU_UNITS, ORDERS_MEMORY_MIB).memory_mib > ORDERS_MEMORY_MIB

        orders = default_run.workload(CORE, "service:orders")
        assert orders["pattern"] == "steady"
        assert orders["verdict"] == "keep"
        assert (orders["current_mode"], orders["recommended_mode"]) == ("EC2", "EC2")
        packing = orders["evidence"]["costs_by_mode"]["ec2_packing"]
        assert packing["instance_type"] == CORE_INSTANCE_TYPE
        assert packing["tasks_per_instance"] == per_host
        assert packing["registered_memory_mib"] == pattern_fleet.core_registered_memory_per_instance_mib

        core = default_run.cluster(CORE)
        assert core["verdict"] == "tune_capacity"
        assert core["instance_count"] == CORE_INSTANCES
        assert 1 <= core["recommended_instance_count"] < CORE_INSTANCES
        assert core["monthly_savings_usd"] > 0

    def test_large_steady_fargate_service_moves_to_ec2_when_its_memory_rounds_up_on_fargate(self, default_run: CliRun):
        assert fargate_size(CHECKOUT_CPU_UNITS, CHECKOUT_MEMORY_MIB).memory_mib > CHECKOUT_MEMORY_MIB
        checkout = default_run.workload(FARGATE, "service:checkout")
        assert checkout["pattern"] == "steady"
        assert checkout["verdict"] == "move_to_ec2"
        assert (checkout["current_mode"], checkout["recommended_mode"]) == ("FARGATE", "EC2")
        assert checkout["evidence"]["avg_reserved_vcpu"] >= 8
        assert checkout["monthly_savings_usd"] >= max(10.0, 0.1 * checkout["current_monthly_cost_usd"])

    def test_periodic_fargate_service_moves_to_fargate_spot_when_tagged_interruptible(self, default_run: CliRun):
        reports = default_run.workload(FARGATE, "service:reports")
        assert reports["pattern"] == "periodic"
        assert reports["verdict"] == "move_to_fargate_spot"
        assert (reports["current_mode"], reports["recommended_mode"]) == ("FARGATE", "FARGATE_SPOT")
        assert reports["evidence"]["interruption_tolerant"] is True
        assert INTERRUPTIBLE_TAG in " ".join(reports["reasons"])

    def test_fargate_service_verdict_is_insufficient_data_when_it_has_no_datapoints(self, default_run: CliRun):
        ghost = default_run.workload(FARGATE, "service:ghost")
        assert ghost["pattern"] == "insufficient_data"
        assert ghost["verdict"] == "insufficient_data"
        assert ghost["current_mode"] == ghost["recommended_mode"] == "FARGATE"
        assert ghost["monthly_savings_usd"] == 0

    def test_fargate_only_cluster_verdict_is_no_ec2_capacity_when_it_has_no_container_instances(
        self, default_run: CliRun
    ):
        fargate = default_run.cluster(FARGATE)
        assert fargate["verdict"] == "no_ec2_capacity"
        assert fargate["instance_count"] == 0
        assert fargate["cpu_reservation_pct"] is None and fargate["memory_reservation_pct"] is None

    def test_standalone_family_moves_to_fargate_spot_when_seen_only_through_container_insights(
        self, default_run: CliRun
    ):
        etl = default_run.workload(BATCH, f"family:{ETL_FAMILY}")
        assert etl["service"] is None
        assert etl["task_family"] == ETL_FAMILY
        assert etl["pattern"] == "periodic"
        assert etl["verdict"] == "move_to_fargate_spot"
        assert (etl["current_mode"], etl["recommended_mode"]) == ("EC2", "FARGATE_SPOT")
        assert etl["evidence"]["task_count_source"] == "container_insights_memory_reserved"
        assert "assumed interruption tolerant" in " ".join(etl["reasons"])
        assert default_run.cluster(BATCH)["verdict"] == "move_workloads_to_fargate"

    def test_every_seeded_workload_and_cluster_is_reported_once_when_no_cluster_is_named(self, default_run: CliRun):
        doc = default_run.document
        assert sorted((w["cluster"], w["workload"]) for w in doc["workloads"]) == sorted(
            [
                (SHOP, "service:web"),
                (CORE, "service:orders"),
                (BATCH, f"family:{ETL_FAMILY}"),
                (FARGATE, "service:checkout"),
                (FARGATE, "service:reports"),
                (FARGATE, "service:ghost"),
            ]
        )
        assert sorted(c["cluster"] for c in doc["clusters"]) == sorted(ALL_CLUSTERS)
        assert doc["errors"] == []

    # ----------------------------------------------------------------- the JSON contract

    def test_json_output_is_one_document_with_the_contract_fields_when_output_is_json(self, default_run: CliRun):
        doc = default_run.document  # json.loads of the whole of stdout
        assert doc["schema_version"] == "2.1"
        generated_at = datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00"))
        assert generated_at.utcoffset() is not None and generated_at.utcoffset().total_seconds() == 0
        assert doc["region"] == REGION
        assert doc["lookback_days"] == LOOKBACK_DAYS
        assert doc["goal"] == "balanced"
        assert doc["pricing"]["source"] == "embedded"
        datetime.strptime(doc["pricing"]["as_of"], "%Y-%m-%d")
        assert not TOTALS_FIELDS - set(doc["totals"])
        assert isinstance(doc["errors"], list)
        for workload in doc["workloads"]:
            assert not WORKLOAD_FIELDS - set(workload), workload["workload"]
            assert 0 <= workload["confidence"] <= 1
            assert workload["reasons"] and workload["arithmetic"]
            assert "task_count_source" in workload["evidence"]
            assert "cost_known" in workload["evidence"]
        for cluster in doc["clusters"]:
            assert not CLUSTER_FIELDS - set(cluster), cluster["cluster"]

    def test_workload_savings_equal_current_minus_recommended_when_verdicts_are_costed(self, default_run: CliRun):
        for w in default_run.document["workloads"]:
            expected = round(w["current_monthly_cost_usd"] - w["recommended_monthly_cost_usd"], 2)
            assert w["monthly_savings_usd"] == pytest.approx(expected, abs=0.005), w["workload"]

    def test_recommended_mode_equals_current_mode_when_verdict_is_keep_or_insufficient_data(self, default_run: CliRun):
        workloads = default_run.document["workloads"]
        assert {w["verdict"] for w in workloads} >= {"keep", "insufficient_data"}
        for w in workloads:
            if w["verdict"] in ("keep", "insufficient_data"):
                assert w["recommended_mode"] == w["current_mode"], w["workload"]
            else:
                assert w["recommended_mode"] != w["current_mode"], w["workload"]

    def test_every_move_carries_its_arithmetic_when_a_workload_should_move(self, default_run: CliRun):
        moves = [w for w in default_run.document["workloads"] if w["verdict"] in MOVES]
        assert moves
        for w in moves:
            text = "\n".join(w["arithmetic"])
            assert "now:" in text and "recommended:" in text and "savings:" in text, w["workload"]
            assert f"{w['monthly_savings_usd']:,.2f}" in text, w["workload"]

    def test_totals_add_up_when_workloads_move_and_clusters_are_tuned(self, default_run: CliRun):
        doc = default_run.document
        totals = doc["totals"]
        moved = sum(w["monthly_savings_usd"] for w in doc["workloads"] if w["verdict"] in MOVES)
        tuned = sum(c["monthly_savings_usd"] for c in doc["clusters"] if c["verdict"] == "tune_capacity")
        assert totals["workload_savings_usd"] == pytest.approx(moved, abs=0.01)
        assert totals["cluster_tuning_savings_usd"] == pytest.approx(tuned, abs=0.01)
        assert totals["monthly_savings_usd"] == pytest.approx(moved + tuned, abs=0.01)
        assert totals["current_monthly_cost_usd"] == pytest.approx(
            sum(w["current_monthly_cost_usd"] for w in doc["workloads"]), abs=0.01
        )
        counts: dict[str, int] = {}
        for w in doc["workloads"]:
            counts[w["verdict"]] = counts.get(w["verdict"], 0) + 1
        assert totals["verdict_counts"] == counts
        assert totals["failed_cluster_count"] == len(doc["errors"]) == 0

    def test_progress_goes_to_stderr_only_when_output_is_json(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--cluster", FARGATE)
        assert run.code == 0, run.stderr
        assert run.document["clusters"]  # stdout is nothing but the document
        assert "reading cluster" in run.stderr
        assert "reading cluster" not in run.stdout

    def test_stderr_is_empty_when_quiet_is_given(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--cluster", FARGATE, "--quiet")
        assert run.code == 0
        assert run.stderr == ""
        assert run.document["clusters"]

    # ----------------------------------------------------------------- flags change the answer

    def test_goal_overhead_moves_large_steady_fargate_service_to_managed_instances_not_self_managed_ec2(
        self, fleet_env: PatternFleet, capsys
    ):
        run = analyze_json(capsys, "--cluster", FARGATE, "--goal", "overhead")
        assert run.code == 0, run.stderr
        assert run.document["goal"] == "overhead"
        checkout = run.workload(FARGATE, "service:checkout")
        # AWS runs the hosts: the overhead-conscious answer for large steady load, when it costs less than Fargate
        assert checkout["verdict"] == "move_to_managed_instances"
        assert checkout["recommended_mode"] == "MANAGED_INSTANCES"
        assert any("goal=overhead" in reason for reason in checkout["reasons"])
        x86_ec2 = [a for a in checkout["alternatives"] if a["mode"] == "EC2" and a["architecture"] == "X86_64"]
        assert all("overhead" in a["why_not"] or "more than" in a["why_not"] for a in x86_ec2)

    def test_fargate_discount_turns_move_to_ec2_into_keep_when_it_is_60_pct(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--cluster", FARGATE, "--fargate-discount-pct", "60")
        assert run.code == 0, run.stderr
        checkout = run.workload(FARGATE, "service:checkout")
        assert checkout["verdict"] == "keep"
        assert checkout["recommended_mode"] == "FARGATE"

    def test_min_savings_usd_makes_every_verdict_keep_when_threshold_exceeds_any_saving(
        self, fleet_env: PatternFleet, capsys
    ):
        run = analyze_json(capsys, "--min-savings-usd", "100000")
        assert run.code == 0, run.stderr
        workloads = run.document["workloads"]
        assert len(workloads) == 6
        assert {w["verdict"] for w in workloads} <= {"keep", "insufficient_data"}
        assert run.document["totals"]["workload_savings_usd"] == 0

    def test_cluster_flag_restricts_output_to_that_cluster_when_one_is_named(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--cluster", CORE)
        assert run.code == 0, run.stderr
        doc = run.document
        assert [c["cluster"] for c in doc["clusters"]] == [CORE]
        assert [w["workload"] for w in doc["workloads"]] == ["service:orders"]
        assert {w["cluster"] for w in doc["workloads"]} == {CORE}

    # ----------------------------------------------------------------- errors and exit codes

    def test_analyze_exits_2_when_region_is_unknown(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--region", "mars-east-1")
        assert run.code == 2
        assert run.stdout == ""
        assert "mars-east-1" in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "Traceback" not in run.stderr

    def test_analyze_exits_2_when_a_flag_is_unknown(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--no-such-flag")
        assert run.code == 2
        assert run.stdout == ""
        assert "--no-such-flag" in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "Traceback" not in run.stderr

    def test_analyze_exits_2_when_goal_is_not_a_choice(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--goal", "cheapest")
        assert run.code == 2
        assert run.stdout == ""
        assert "--goal" in run.stderr and "cheapest" in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "Traceback" not in run.stderr

    def test_analyze_exits_3_and_names_the_cluster_on_stderr_when_only_a_missing_cluster_is_asked(
        self, fleet_env: PatternFleet, capsys
    ):
        run = analyze_json(capsys, "--cluster", "does-not-exist")
        assert run.code == 3
        doc = run.document
        assert doc["clusters"] == [] and doc["workloads"] == []
        assert [e["cluster"] for e in doc["errors"]] == ["does-not-exist"]
        assert doc["totals"]["failed_cluster_count"] == 1
        assert "modeshift: cluster does-not-exist not analysed: cluster 'does-not-exist' does not exist" in run.stderr

    def test_analyze_exits_3_and_analyses_the_real_cluster_when_a_missing_one_is_asked_beside_it(
        self, fleet_env: PatternFleet, capsys
    ):
        run = analyze_json(capsys, "--cluster", "does-not-exist", "--cluster", CORE, "--quiet")
        assert run.code == 3, run.stderr
        doc = run.document
        assert [c["cluster"] for c in doc["clusters"]] == [CORE]
        assert run.workload(CORE, "service:orders")["verdict"] == "keep"
        assert [e["cluster"] for e in doc["errors"]] == ["does-not-exist"]
        # even under --quiet, and whatever the output format, the problem is on stderr, not only in the document
        assert run.stderr.strip().splitlines() == [
            "modeshift: cluster does-not-exist not analysed: cluster 'does-not-exist' does not exist in this "
            "account and region"
        ]

    def test_table_names_a_missing_cluster_on_stderr_when_output_is_a_table(self, fleet_env: PatternFleet, capsys):
        run = run_cli(capsys, "analyze", *LOOKBACK_ARGS, "--cluster", "does-not-exist", "--cluster", CORE, "--quiet")
        assert run.code == 3
        assert "does-not-exist" in run.stderr
        assert "core-ec2" in run.stdout

    def test_analyze_reports_missing_permission_and_analyses_other_clusters_when_describe_services_is_denied(
        self, fleet_env: PatternFleet, capsys, monkeypatch: pytest.MonkeyPatch
    ):
        denied: list[str] = []
        monkeypatch.setattr(AwsClients, "_client", _client_denying_describe_services(CORE, denied))
        run = analyze_json(capsys)
        assert denied, "the AccessDenied hook never fired: the seam moved"
        assert run.code == 0, run.stderr
        doc = run.document
        assert [(e["cluster"], e["missing_permission"]) for e in doc["errors"]] == [(CORE, "ecs:DescribeServices")]
        assert sorted(c["cluster"] for c in doc["clusters"]) == sorted(ALL_CLUSTERS - {CORE})
        assert CORE not in {w["cluster"] for w in doc["workloads"]}
        assert run.workload(FARGATE, "service:checkout")["verdict"] == "move_to_ec2"
        assert run.workload(SHOP, "service:web")["verdict"] == "move_to_fargate"
        assert doc["totals"]["failed_cluster_count"] == 1

    # ----------------------------------------------------------------- output formats

    def test_csv_output_has_one_row_per_workload_under_the_json_field_names_when_output_is_csv(
        self, fleet_env: PatternFleet, capsys, default_run: CliRun
    ):
        run = run_cli(capsys, "analyze", "--output", "csv", *LOOKBACK_ARGS, "--quiet", "--cluster", FARGATE)
        assert run.code == 0, run.stderr
        rows = list(csv.DictReader(io.StringIO(run.stdout)))
        contract = set(default_run.workload(FARGATE, "service:checkout"))
        assert {name.split(".")[0] for name in rows[0]} <= contract
        # another run a moment later: the same workloads, whatever a sliding metrics window changed in figures
        expected = {(w["cluster"], w["workload"]) for w in default_run.document["workloads"] if w["cluster"] == FARGATE}
        assert {(r["cluster"], r["workload"]) for r in rows} == expected
        for row in rows:
            current, recommended = float(row["current_monthly_cost_usd"]), float(row["recommended_monthly_cost_usd"])
            assert float(row["monthly_savings_usd"]) == pytest.approx(current - recommended, abs=0.011)
            assert json.loads(row["reasons"])
        checkout = next(r for r in rows if r["workload"] == "service:checkout")
        assert checkout["verdict"] == "move_to_ec2"
        assert int(checkout["recommended_task_size.cpu_units"]) > 0

    def test_markdown_output_is_workload_cluster_and_totals_tables_when_output_is_markdown(
        self, fleet_env: PatternFleet, capsys
    ):
        run = run_cli(capsys, "analyze", "--output", "markdown", *LOOKBACK_ARGS, "--quiet", "--cluster", FARGATE)
        assert run.code == 0, run.stderr
        lines = run.stdout.splitlines()
        assert {"#### Workloads", "#### Clusters", "#### Totals"} <= set(lines)
        assert any(line.startswith("| fargate-prod | service:checkout | steady |") for line in lines)
        assert any(line.startswith("| fargate-prod | no_ec2_capacity |") for line in lines)

    def test_table_fits_100_columns_and_wide_prints_whole_lines_when_the_terminal_is_100_columns(
        self, fleet_env: PatternFleet, capsys, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setenv("COLUMNS", "100")
        narrow = run_cli(capsys, "analyze", *LOOKBACK_ARGS, "--quiet", "--cluster", FARGATE)
        wide = run_cli(capsys, "analyze", *LOOKBACK_ARGS, "--quiet", "--cluster", FARGATE, "--wide")
        assert narrow.code == wide.code == 0
        assert max(len(line) for line in narrow.stdout.splitlines()) <= 100
        assert max(len(line) for line in wide.stdout.splitlines()) > 100
        assert "Why" in narrow.stdout and "service:checkout" in narrow.stdout

    def test_table_says_what_an_insufficient_data_workload_lacks_when_it_has_no_metrics(
        self, fleet_env: PatternFleet, capsys
    ):
        run = run_cli(capsys, "analyze", *LOOKBACK_ARGS, "--quiet", "--cluster", FARGATE)
        assert run.code == 0, run.stderr
        lines = run.stdout.splitlines()
        notes = lines[lines.index("Not enough data yet") + 1 :]
        assert notes[0].startswith(f"- {FARGATE}/service:ghost: no metrics in the last {LOOKBACK_DAYS} days")

    # ----------------------------------------------------------------- filters

    def test_service_globs_show_only_matching_services_and_families_and_recompute_totals_when_given(
        self, fleet_env: PatternFleet, capsys
    ):
        run = analyze_json(capsys, "--service", "check*", "--service", "hourly-*")
        assert run.code == 0, run.stderr
        doc = run.document
        assert sorted(w["workload"] for w in doc["workloads"]) == ["family:hourly-etl", "service:checkout"]
        assert sorted(c["cluster"] for c in doc["clusters"]) == sorted([FARGATE, BATCH])
        totals = doc["totals"]
        assert totals["workload_count"] == 2 and totals["cluster_count"] == 2
        assert totals["current_monthly_cost_usd"] == pytest.approx(
            sum(w["current_monthly_cost_usd"] for w in doc["workloads"]), abs=0.01
        )

    def test_tag_filter_shows_only_the_services_carrying_the_tag_when_given(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--tag", f"{INTERRUPTIBLE_TAG}=true")
        assert run.code == 0, run.stderr
        assert [(w["cluster"], w["workload"]) for w in run.document["workloads"]] == [(FARGATE, "service:reports")]
        assert [c["cluster"] for c in run.document["clusters"]] == [FARGATE]

    def test_min_confidence_hides_workload_and_cluster_verdicts_below_it_when_given(
        self, fleet_env: PatternFleet, capsys
    ):
        run = analyze_json(capsys, "--min-confidence", "0.5", "--cluster", FARGATE)
        assert run.code == 0, run.stderr
        doc = run.document
        assert all(v["confidence"] >= 0.5 for v in [*doc["workloads"], *doc["clusters"]])
        assert "service:ghost" not in {w["workload"] for w in doc["workloads"]}  # confidence 0.1
        assert "service:checkout" in {w["workload"] for w in doc["workloads"]}
        assert doc["totals"]["workload_count"] == len(doc["workloads"])

    def test_confidence_floor_sums_every_saving_below_it_apart_when_set_to_1(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--confidence-floor", "1")
        assert run.code == 0, run.stderr
        doc = run.document
        totals = doc["totals"]
        actions = [w for w in doc["workloads"] if w["verdict"] in MOVES | {"rightsize", "scale_in"}]
        actions += [c for c in doc["clusters"] if c["verdict"] == "tune_capacity"]
        below = sum(a["monthly_savings_usd"] for a in actions if a["confidence"] < 1)
        assert below > 0
        assert totals["confidence_floor"] == 1
        assert totals["unconfirmed_monthly_savings_usd"] == pytest.approx(below, abs=0.01)
        assert totals["monthly_savings_usd"] == pytest.approx(
            sum(a["monthly_savings_usd"] for a in actions if a["confidence"] >= 1), abs=0.01
        )

    def test_default_run_holds_savings_under_confidence_one_half_apart_when_no_floor_is_given(
        self, default_run: CliRun
    ):
        assert default_run.document["totals"]["confidence_floor"] == 0.5

    # ----------------------------------------------------------------- --profile and --debug

    def test_profile_supplies_the_credentials_when_the_environment_has_none(
        self, fleet_env: PatternFleet, capsys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ):
        credentials = tmp_path / "credentials"
        credentials.write_text(
            "[modeshift-test]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"
        )
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        assert analyze_json(capsys, "--cluster", FARGATE, "--quiet").code == 2  # no credentials without it

        run = analyze_json(capsys, "--cluster", FARGATE, "--quiet", "--profile", "modeshift-test")

        assert run.code == 0, run.stderr
        assert [c["cluster"] for c in run.document["clusters"]] == [FARGATE]

    def test_profile_exits_2_with_one_line_naming_it_when_it_does_not_exist(self, fleet_env: PatternFleet, capsys):
        run = analyze_json(capsys, "--profile", "no-such-profile")
        assert run.code == 2
        assert run.stdout == ""
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "'no-such-profile'" in lines[0], run.stderr

    def test_debug_logs_sdk_requests_to_stderr_without_any_credential_when_given(
        self, fleet_env: PatternFleet, capsys, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
        monkeypatch.setenv("AWS_SESSION_TOKEN", FAKE_SESSION_TOKEN)

        run = analyze_json(capsys, "--cluster", FARGATE, "--debug", "--tag", "team=*")

        assert run.code == 0, run.stderr[-2000:]
        assert run.document["region"] == REGION  # stdout is still nothing but the document
        assert "OperationModel(name=DescribeServices)" in run.stderr
        assert "x-amz-security-token:<redacted>" in run.stderr
        assert FAKE_SESSION_TOKEN not in run.stderr
        assert FAKE_SECRET_ACCESS_KEY not in run.stderr
        assert "Response body: (not logged" in run.stderr


def _client_denying_describe_services(cluster: str, denied: list[str]) -> Callable[..., Any]:
    """A replacement for AwsClients._client whose ECS client answers DescribeServices for `cluster`
    with AccessDeniedException, the way AWS does when the caller lacks ecs:DescribeServices there."""
    original = AwsClients._client

    def deny(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        body = params.get("body") or b"{}"
        if json.loads(body).get("cluster") != cluster:
            return None
        denied.append(cluster)
        message = f"User is not authorized to perform: ecs:DescribeServices on cluster {cluster}"
        parsed = {
            "Error": {"Code": "AccessDeniedException", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return AWSResponse(params.get("url", ""), 400, {}, None), parsed

    def client(self: AwsClients, service: str, region: str) -> Any:
        made = original(self, service, region)
        if service == "ecs":
            made.meta.events.register("before-call.ecs.DescribeServices", deny, unique_id="test-deny-describe-services")
        return made

    return client


# --------------------------------------------------------------------------- no account at all


def test_analyze_exits_2_with_one_stderr_line_when_no_credentials_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
):
    _isolate_sdk_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    run = run_cli(capsys, "analyze", "--output", "json", *LOOKBACK_ARGS)
    assert run.code == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "credentials" in lines[0].lower()
    assert "Traceback" not in run.stderr


def test_demo_shows_every_verdict_kind_and_stops_its_server_when_run_with_json_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
):
    _isolate_sdk_environment(monkeypatch, tmp_path)
    ports: list[int] = []

    class RecordingLocalAws(LocalAws):
        def start(self) -> None:
            super().start()
            ports.append(self.port)

    monkeypatch.setattr(local_aws, "LocalAws", RecordingLocalAws)
    run = run_cli(capsys, "demo", "--output", "json", "--report-dir", str(tmp_path / "weekly"))
    assert run.code == 0, run.stderr
    doc = run.document
    _assert_demo_page_measures_its_move_to_fargate(tmp_path / "weekly")
    assert {w["verdict"] for w in doc["workloads"]} >= {
        "keep",
        "move_to_fargate",
        "move_to_fargate_spot",
        "move_to_ec2",
        "insufficient_data",
    }
    assert {c["verdict"] for c in doc["clusters"]} >= {"tune_capacity", "move_workloads_to_fargate", "no_ec2_capacity"}
    for w in doc["workloads"]:
        if w["verdict"] in MOVES:
            text = "\n".join(w["arithmetic"])
            assert "now:" in text and "recommended:" in text and "savings:" in text, w["workload"]
            assert w["evidence"]["costs_by_mode"], w["workload"]
    _assert_demo_keeps_gpu_workload_on_ec2_although_fargate_costs_less(doc)
    assert len(ports) == 1, "the demo should start exactly one local AWS"
    assert _refuses_connections(ports[0])


def _assert_demo_page_measures_its_move_to_fargate(report_dir: Path) -> None:
    """The demo's one change (catalog, EC2 → Fargate halfway) is on the weekly page, promised against realised."""
    weekly = json.loads((report_dir / "modeshift-report.json").read_text())
    (change,) = weekly["changes"]
    assert (change["cluster"], change["workload"]) == (demo_fleet.LEGACY_CLUSTER, f"service:{demo_fleet.CATALOG}")
    assert (change["from_mode"], change["to_mode"], change["source"]) == ("EC2", "FARGATE", "cloudtrail")
    assert change["promised_monthly_savings_usd"] > 0 and change["realised_monthly_savings_usd"] > 0
    # the advice reshaped it too; the operator moved it as it was, so it realised less than promised
    assert change["realised_monthly_savings_usd"] < change["promised_monthly_savings_usd"]
    assert 0 < weekly["track_record"]["ratio"] < 1
    assert "Changes and what they saved" in (report_dir / "modeshift-report.html").read_text()


def _assert_demo_keeps_gpu_workload_on_ec2_although_fargate_costs_less(doc: dict[str, Any]) -> None:
    """Feasibility before price: the demo's GPU service is bursty and cheaper on Fargate, yet stays on EC2."""
    cluster, workload = demo_fleet.CORE_CLUSTER, f"service:{demo_fleet.INFERENCE}"
    (gpu,) = [w for w in doc["workloads"] if (w["cluster"], w["workload"]) == (cluster, workload)]
    assert (gpu["verdict"], gpu["current_mode"], gpu["recommended_mode"]) == ("keep", "EC2", "EC2")
    assert gpu["pattern"] == "bursty"
    assert gpu["reasons"][0].startswith("Fargate is ruled out: "), gpu["reasons"]
    assert "GPU" in gpu["reasons"][0]
    feasibility = gpu["evidence"]["feasibility"]
    assert feasibility["FARGATE"]["ok"] is False
    assert feasibility["FARGATE"]["blockers"] == feasibility["FARGATE_SPOT"]["blockers"] == ["gpu"]
    # ECS Managed Instances offer GPU instance types: open, but never priced on a type without a GPU
    assert feasibility["MANAGED_INSTANCES"]["ok"] is True
    assert all(a["mode"] != "MANAGED_INSTANCES" for a in gpu["alternatives"])
    costs = gpu["evidence"]["costs_by_mode"]
    assert costs["fargate"]["monthly_cost_usd"] < costs["ec2_current_share"]["monthly_cost_usd"] / 2
