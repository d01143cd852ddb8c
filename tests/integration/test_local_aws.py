"""The demo's local AWS: loopback server lifecycle, the fast CloudWatch store and the seeding toolkit."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from botocore.exceptions import ClientError
from moto.cloudwatch.models import CloudWatchBackend

from modeshift.demo import fleet, local_aws, seed
from modeshift.demo.local_aws import LocalAws, fast_get_metric_data

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
REGION = "us-east-1"
T0 = datetime(2026, 11, 2, 0, 0, 0)  # naive UTC, as moto stores it


def _refuses(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _moto_original():
    original = CloudWatchBackend.get_metric_data
    assert original is not fast_get_metric_data, "fast store left installed by an earlier test"
    return original


# --------------------------------------------------------------------------- lifecycle


def test_local_aws_serves_on_loopback_and_refuses_connections_after_exit():
    with LocalAws() as aws:
        port = aws.port
        assert aws.endpoint_url == f"http://127.0.0.1:{port}"
        assert aws._server.get_host_and_port()[0] == "127.0.0.1"
        assert CloudWatchBackend.get_metric_data is fast_get_metric_data
        assert aws.client("ecs").list_clusters()["clusterArns"] == []
    assert _refuses(port)
    assert CloudWatchBackend.get_metric_data is not fast_get_metric_data


def test_local_aws_stops_and_restores_moto_when_the_block_raises():
    with pytest.raises(RuntimeError, match="seeding failed"), LocalAws() as aws:
        port = aws.port
        raise RuntimeError("seeding failed")
    assert _refuses(port)
    assert CloudWatchBackend.get_metric_data is not fast_get_metric_data


# --------------------------------------------------------------------------- fast store vs moto


def _random_backend(rng: np.random.Generator) -> CloudWatchBackend:
    backend = CloudWatchBackend(REGION, ACCOUNT)
    span = 6 * 3600
    metrics = [
        ("CPUUtilization", [{"Name": "ClusterName", "Value": "a"}, {"Name": "ServiceName", "Value": "web"}]),
        (
            "MemoryUtilization",
            [{"Name": "ClusterName", "Value": "a"}, {"Name": "ServiceName", "Value": "web"}],
        ),
        ("CPUReservation", [{"Name": "ClusterName", "Value": "a"}]),
        ("Lonely", []),
    ]
    for name, dims in metrics:
        data = []
        for _ in range(400):
            when = T0 + timedelta(seconds=float(rng.uniform(0, span)))
            item = {"MetricName": name, "Dimensions": dims, "Timestamp": when}
            if rng.random() < 0.5:
                item["Value"] = float(rng.uniform(0, 100))
            else:
                low, high = sorted(rng.uniform(0, 100, 2).tolist())
                samples = float(rng.integers(1, 10))
                item["StatisticValues"] = {
                    "Sum": float(rng.uniform(low, high)) * samples,
                    "Minimum": low,
                    "Maximum": high,
                    "SampleCount": samples,
                }
            item["Unit"] = "Percent" if rng.random() < 0.8 else "Count"
            data.append(item)
        backend.put_metric_data("ECS/Test", data)
    return backend


def _query(qid: str, name: str, dims: list[dict], period: int, stat: str, **extra) -> dict:
    metric = {"Namespace": "ECS/Test", "MetricName": name}
    if dims:
        metric["Dimensions"] = dims
    return {"Id": qid, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat, **extra}}


@pytest.mark.parametrize("period", [60, 300, 3600])
@pytest.mark.parametrize("scan_by", ["TimestampAscending", "TimestampDescending"])
def test_fast_store_equals_moto_original_when_data_is_random(period: int, scan_by: str):
    backend = _random_backend(np.random.default_rng(period))
    original = _moto_original()
    dims_web = [{"Name": "ClusterName", "Value": "a"}, {"Name": "ServiceName", "Value": "web"}]
    queries = []
    for stat in local_aws.SUPPORTED_STATS:
        queries.append(_query(f"cpu{stat}", "CPUUtilization", dims_web, period, stat))
        queries.append(_query(f"mem{stat}", "MemoryUtilization", dims_web, period, stat, Unit="Percent"))
        queries.append(_query(f"res{stat}", "CPUReservation", [{"Name": "ClusterName", "Value": "a"}], period, stat))
        queries.append(_query(f"lonely{stat}", "Lonely", [], period, stat))
    queries.append({**_query("hidden", "CPUUtilization", dims_web, period, "Sum"), "ReturnData": False})
    start = T0 + timedelta(seconds=90)  # off the period grid on purpose
    end = T0 + timedelta(hours=5, seconds=17)

    expected = original(backend, queries, start, end, scan_by)
    actual = fast_get_metric_data(backend, queries, start, end, scan_by)

    assert [r["id"] for r in actual] == [r["id"] for r in expected]
    assert "hidden" not in {r["id"] for r in actual}
    for got, want in zip(actual, expected, strict=True):
        assert got["label"] == want["label"]
        assert got["status_code"] == want["status_code"]
        assert got["timestamps"] == want["timestamps"], got["id"]
        assert got["values"] == pytest.approx(want["values"], rel=1e-9), got["id"]
        assert got["values"], f"{got['id']} should hold data"


def test_fast_store_sees_datapoints_put_after_it_indexed():
    backend = CloudWatchBackend(REGION, ACCOUNT)
    put = {"MetricName": "M", "Dimensions": [{"Name": "A", "Value": "1"}], "Value": 1.0, "Timestamp": T0}
    backend.put_metric_data("N", [put])
    query = [_query("q", "M", put["Dimensions"], 60, "SampleCount")]
    query[0]["MetricStat"]["Metric"]["Namespace"] = "N"
    first = fast_get_metric_data(backend, query, T0, T0 + timedelta(minutes=1))
    backend.put_metric_data("N", [{**put, "Value": 3.0}])
    second = fast_get_metric_data(backend, query, T0, T0 + timedelta(minutes=1))
    assert first[0]["values"] == [1.0]
    assert second[0]["values"] == [2.0]


def test_fast_store_honours_namespace_when_moto_ignores_it():
    backend = CloudWatchBackend(REGION, ACCOUNT)
    dims = [{"Name": "ClusterName", "Value": "a"}]
    backend.put_metric_data("AWS/ECS", [{"MetricName": "M", "Dimensions": dims, "Value": 10.0, "Timestamp": T0}])
    backend.put_metric_data("Other", [{"MetricName": "M", "Dimensions": dims, "Value": 90.0, "Timestamp": T0}])
    query = [
        {
            "Id": "q",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/ECS", "MetricName": "M", "Dimensions": dims},
                "Period": 60,
                "Stat": "Average",
            },
        }
    ]
    end = T0 + timedelta(minutes=1)
    assert _moto_original()(backend, query, T0, end)[0]["values"] == [50.0]  # moto mixes namespaces
    assert fast_get_metric_data(backend, query, T0, end)[0]["values"] == [10.0]


def test_fast_store_answers_percentiles_with_validation_error_over_http():
    with LocalAws() as aws:
        cloudwatch = aws.client("cloudwatch")
        query = _query("q", "M", [{"Name": "A", "Value": "1"}], 300, "p95")
        with pytest.raises(ClientError) as raised:
            cloudwatch.get_metric_data(MetricDataQueries=[query], StartTime=T0, EndTime=T0 + timedelta(hours=1))
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert "p95" in raised.value.response["Error"]["Message"]


# --------------------------------------------------------------------------- seeding


class _CountingCloudWatch:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def put_metric_data(self, Namespace: str, MetricData: list) -> None:
        self.calls.append(len(MetricData))


def test_put_series_splits_into_calls_of_at_most_1000_and_skips_none():
    cloudwatch = _CountingCloudWatch()
    values = [1.0 if i % 10 else None for i in range(2600)]
    written = seed.put_series(cloudwatch, "N", "M", [], T0, 300, values)
    assert written == 2340
    assert cloudwatch.calls == [1000, 1000, 340]


class _RecordingCloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def put_metric_data(self, **kwargs: object) -> None:
        self.calls.append(kwargs)


def test_demo_seeding_counts_series_and_datapoints_done_of_total_when_it_writes_the_metrics():
    deferred = fleet._DeferredCloudWatch()
    cpu = [1.0] * 1500
    dims = [{"Name": "ClusterName", "Value": "a"}]
    seed.put_series(deferred, "AWS/ECS", "CPUReservation", dims, T0, 300, cpu)
    seed.put_series(deferred, "AWS/ECS", "MemoryReservation", dims, T0, 300, cpu[:200])
    target, heard = _RecordingCloudWatch(), []

    deferred.replay(target, heard.append)

    # the very calls put_series made, in order; one line per series, the totals known from the first
    assert [(c["Namespace"], len(c["MetricData"])) for c in target.calls] == [
        ("AWS/ECS", 1000),
        ("AWS/ECS", 500),
        ("AWS/ECS", 200),
    ]
    assert heard == [
        "seeding metrics: series 1/2 (1,500/1,700 datapoints)",
        "seeding metrics: series 2/2 (1,700/1,700 datapoints)",
    ]


def test_periodic_shape_has_no_value_outside_its_run_window():
    timeline = seed.Timeline.ending(datetime(2026, 11, 2, 12, 3, tzinfo=UTC), days=2)
    values = seed.periodic(timeline, 4.0, 15, every_hour=True, noise=0.0)
    running = [v is not None for v in values]
    assert sum(running) == 2 * 24 * 3  # 15 minutes of each hour at 300 s
    assert all(timeline.at(i).minute < 15 for i, on in enumerate(running) if on)


def test_seeded_small_fleet_reads_back_through_boto3():
    now = datetime(2026, 11, 2, 12, 3, tzinfo=UTC)
    timeline = seed.Timeline.ending(now, days=1)
    with LocalAws() as aws:
        ecs, ec2, cloudwatch = aws.client("ecs"), aws.client("ec2"), aws.client("cloudwatch")
        cluster = seed.create_ec2_cluster(
            ecs,
            ec2,
            "small-ec2",
            instance_type="c5.large",
            instance_count=2,
            container_insights=True,
            spot=True,
        )
        td = seed.register_task_definition(ecs, "svc", cpu_units=512, memory_mib=1024, sized_at="containers")
        seed.create_service(ecs, "small-ec2", "svc", td, desired_count=2, launch_type="EC2", tags={"team": "a"})
        seed.create_fargate_cluster(ecs, "small-fargate", container_insights=False)
        network = seed.create_network(ec2)
        ftd = seed.register_task_definition(
            ecs, "job", cpu_units=1024, memory_mib=2048, architecture="arm64", compatibilities=("FARGATE",)
        )
        seed.create_service(ecs, "small-fargate", "job", ftd, desired_count=4, launch_type="FARGATE", network=network)
        # 0 tasks between runs (the service exists), so RunningTaskCount reports 0 then
        tasks = [v or 0.0 for v in seed.counts(seed.periodic(timeline, 4, 15, every_hour=True, noise=0.0))]
        cpu = seed.steady(timeline, 50.0, 0.1)
        written = seed.put_service_metrics(
            cloudwatch, timeline, "small-fargate", "job", tasks, cpu, cpu, container_insights=True
        )

        services = ecs.describe_services(cluster="small-fargate", services=["job"])["services"]
        instances = ecs.describe_container_instances(
            cluster="small-ec2", containerInstances=list(cluster.container_instance_arns)
        )["containerInstances"]
        job_dims = seed.dimensions(ClusterName="small-fargate", ServiceName="job")
        result = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "samples",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/ECS",
                            "MetricName": "CPUUtilization",
                            "Dimensions": job_dims,
                        },
                        "Period": 300,
                        "Stat": "SampleCount",
                    },
                },
                {
                    "Id": "avg",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/ECS",
                            "MetricName": "CPUUtilization",
                            "Dimensions": job_dims,
                        },
                        "Period": 3600,
                        "Stat": "Average",
                    },
                },
            ],
            StartTime=timeline.start,
            EndTime=timeline.end,
            ScanBy="TimestampAscending",
        )["MetricDataResults"]
        ec2_lifecycles = {
            i.get("InstanceLifecycle")
            for r in ec2.describe_instances(InstanceIds=list(cluster.instance_ids))["Reservations"]
            for i in r["Instances"]
        }

    assert services[0]["launchType"] == "FARGATE"
    assert services[0]["desiredCount"] == 4
    assert {a["name"]: a.get("value") for a in instances[0]["attributes"]}["ecs.instance-type"] == "c5.large"
    assert ec2_lifecycles == {"spot"}
    assert len(cluster.container_instance_arns) == 2
    samples, avg = result
    assert samples["Values"] == [20.0] * 72  # 4 tasks × 5 one-minute samples, 3 periods an hour
    assert all(ts.minute < 15 for ts in samples["Timestamps"])
    assert len(avg["Values"]) == 24
    assert written == 72 * 2 + timeline.count  # CPU + memory while running; task count all day


def test_gpu_task_definition_reads_back_with_its_resource_requirements_when_seeded_for_ec2():
    with LocalAws() as aws:
        ecs = aws.client("ecs")
        arn = seed.register_task_definition(
            ecs, "inference", cpu_units=1024, memory_mib=2048, network_mode="bridge", gpus=1
        )
        described = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        with pytest.raises(ValueError, match="GPU"):
            seed.register_task_definition(
                ecs, "inference-fargate", cpu_units=1024, memory_mib=2048, compatibilities=("FARGATE",), gpus=1
            )
    assert described["networkMode"] == "bridge"
    assert described["containerDefinitions"][0]["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
