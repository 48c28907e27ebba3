"""Offline checks of the self-hosted worker option: HOSTING=worker deploys the agents as a Durable Task worker on Azure
Container Apps instead of the Function App, keyless, from the Dockerfile at the root and the azd project in
deploy/worker."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import json
import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.bicep import BicepFile, Call, Expr, Resource, parser, read, resolve

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
WORKER_PROJECT = REPO / "deploy" / "worker"

# What only one hosting deploys; everything else (identity, scheduler, model, Redis, monitoring) both deploy.
ONLY_FUNCTIONS = {"Microsoft.Web/sites", "Microsoft.Web/serverfarms", "Microsoft.Storage/storageAccounts"}
ONLY_WORKER = {"Microsoft.App/containerApps", "Microsoft.App/managedEnvironments",
               "Microsoft.ContainerRegistry/registries"}
SHARED = {"Microsoft.ManagedIdentity/userAssignedIdentities", "Microsoft.DurableTask/schedulers",
          "Microsoft.DurableTask/schedulers/taskHubs", "Microsoft.CognitiveServices/accounts",
          "Microsoft.Cache/redisEnterprise", "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments",
          "Microsoft.Insights/components", "Microsoft.OperationalInsights/workspaces"}

# The keys azd's azure.yaml schema allows (schemas/v1.0/azure.yaml.json in Azure/azure-dev): `docker` admits no
# others, and these are the service and hook keys this project may use.
DOCKER_KEYS = {"path", "context", "platform", "registry", "image", "tag", "buildArgs", "network", "remoteBuild"}
SERVICE_KEYS = {"apiVersion", "resourceGroup", "resourceName", "project", "image", "host", "language", "module",
                "dist", "docker", "config", "uses", "env", "hooks"}
HOOK_KEYS = {"shell", "run", "continueOnError", "interactive", "windows", "posix", "secrets"}


@pytest.fixture(scope="module")
def main() -> BicepFile:
    return read(INFRA / "main.bicep")


@pytest.fixture(scope="module")
def modules() -> dict[str, BicepFile]:
    """Each module file by its path as main.bicep names it."""
    return {path: read(INFRA / path) for path in {m["path"] for m in read(INFRA / "main.bicep").modules.values()}}


@pytest.fixture(scope="module")
def app() -> Resource:
    return only(read(INFRA / "modules" / "container-app.bicep").resources, "Microsoft.App/containerApps")


def only(resources: list[Resource], type_name: str) -> Resource:
    found = [r for r in resources if r.type == type_name]
    assert len(found) == 1, f"expected one {type_name}, found {len(found)}"
    return found[0]


def condition_holds(main: BicepFile, condition: str | None, hosting: str) -> bool:
    """Whether a module's ``if (...)`` holds for a hosting; only ``hosting == '...'`` (or a variable holding it)."""
    if condition is None:
        return True
    text = main.variables[condition].text if condition in main.variables else condition
    match = re.fullmatch(r"hosting == '(\w+)'", text)
    assert match, f"a condition these checks cannot evaluate: {condition}"
    return match.group(1) == hosting


def deployed(main: BicepFile, modules: dict[str, BicepFile], hosting: str) -> tuple[set[str], set[str]]:
    """The symbols of the modules one hosting deploys, and the resource types they declare (main's own too)."""
    symbols = {s for s, m in main.modules.items() if condition_holds(main, m.get("condition"), hosting)}
    types = {r.type for r in main.resources} | {
        r.type for s in symbols for r in modules[main.modules[s]["path"]].resources}
    return symbols, types


def worker_settings(main: BicepFile) -> dict[str, Any]:
    return resolve(main, main.modules["worker"]["params"]["settings"])


def test_hosting_is_a_parameter_off_by_default(main: BicepFile) -> None:
    hosting = main.params["hosting"]
    assert hosting.default == "functions" and hosting.decorators["allowed"] == (["functions", "worker"],)
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    # The azd environment picks it (`azd env set HOSTING worker`); unset, it is the Function App.
    assert parameters["hosting"] == {"value": "${HOSTING=functions}"}


@pytest.mark.parametrize(("hosting", "present", "absent"), [
    ("functions", ONLY_FUNCTIONS | SHARED, ONLY_WORKER), ("worker", ONLY_WORKER | SHARED, ONLY_FUNCTIONS)])
def test_each_hosting_deploys_its_own_host_and_the_shared_services(
    main: BicepFile, modules: dict[str, BicepFile], hosting: str, present: set[str], absent: set[str]
) -> None:
    _, types = deployed(main, modules, hosting)
    assert present <= types, f"{hosting} lacks {sorted(present - types)}"
    assert not types & absent, f"{hosting} also deploys {sorted(types & absent)}"


def test_the_condition_check_refuses_what_it_cannot_read(main: BicepFile) -> None:
    assert condition_holds(main, "hostsWorker", "worker") and not condition_holds(main, "hostsWorker", "functions")
    assert condition_holds(main, "hosting == 'functions'", "functions")
    with pytest.raises(AssertionError, match="cannot evaluate"):
        condition_holds(main, "hosting != 'functions'", "worker")


def test_a_worker_deployment_never_shares_names_with_a_functions_one(main: BicepFile) -> None:
    # Same environment name, other hosting: another resource group and other names, never one task hub for two hosts.
    token = main.variables["token"]
    assert isinstance(token, Call) and token.name == "toLower"
    functions_seed, worker_seed = re.fullmatch(r"hostsFunctions \? (.+) : (.+)", token.args[0].text).groups()
    assert worker_seed == functions_seed.replace("location)", "location, hosting)")
    rg_name = only(main.resources, "Microsoft.Resources/resourceGroups").body["name"].text
    assert rg_name == "hostsFunctions ? 'rg-${environmentName}' : 'rg-${environmentName}-${hosting}'"


def test_the_worker_runs_as_the_user_assigned_identity_and_pulls_with_it(main: BicepFile, app: Resource) -> None:
    params = main.modules["worker"]["params"]
    assert params["identityId"] == Expr("identity.outputs.id")
    assert app.body["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {"'${identityId}'": {}}}
    configuration = app.body["properties"]["configuration"]
    assert configuration["registries"] == [{"server": Expr("registryServer"), "identity": Expr("identityId")}]
    assert params["registryServer"] == Expr("registry!.outputs.loginServer")
    # azd deploys the `worker` service to the resource with this tag, and to no other.
    tags = app.body["tags"]
    assert isinstance(tags, Call) and tags.name == "union" and tags.args[1] == {"azd-service-name": "worker"}


def test_the_registry_is_keyless_and_the_identity_pulls_from_it(main: BicepFile) -> None:
    registry_file = read(INFRA / "modules" / "registry.bicep")
    registry = only(registry_file.resources, "Microsoft.ContainerRegistry/registries")
    assert registry.body["properties"]["adminUserEnabled"] is False
    grants = {r.body["properties"]["roleDefinitionId"].text.split("roleIds.")[1].rstrip(")"): r
              for r in registry_file.resources if r.type == "Microsoft.Authorization/roleAssignments"}
    assert set(grants) == {"acrPull", "acrPush"}
    assert all(g.body["scope"] == Expr("registry") for g in grants.values())
    # AcrPull to every principal, the app's identity first; AcrPush to the deploying user only.
    assert grants["acrPull"].loop == "principals" and grants["acrPush"].loop == "pushPrincipals"
    params = main.modules["registry"]["params"]
    assert params["principals"] == Expr("principals") and params["pushPrincipals"] == Expr("deployer")
    assert "identity.outputs.principalId" in main.variables["principals"].text
    # azd pushes the image to the registry this output names.
    assert main.outputs["AZURE_CONTAINER_REGISTRY_ENDPOINT"] == Expr(
        "hostsWorker ? registry!.outputs.loginServer : ''")


def test_the_worker_gets_every_data_role_it_needs(main: BicepFile, modules: dict[str, BicepFile]) -> None:
    symbols, _ = deployed(main, modules, "worker")
    granted = {}
    for symbol in symbols:
        module = modules[main.modules[symbol]["path"]]
        if main.modules[symbol]["params"].get("principals") != Expr("principals"):
            continue
        for r in module.resources:
            if r.type == "Microsoft.Authorization/roleAssignments" and r.loop == "principals":
                granted[r.body["properties"]["roleDefinitionId"].text.split("roleIds.")[1].rstrip(")")] = r
            if r.type == "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments":
                granted["redisAccessPolicy"] = r
    assert set(granted) == {"durableTaskDataContributor", "cognitiveServicesOpenAIUser", "monitoringMetricsPublisher",
                            "acrPull", "redisAccessPolicy"}
    assert granted["redisAccessPolicy"].body["properties"]["accessPolicyName"] == "default"


def test_the_connection_string_authenticates_with_the_identity(main: BicepFile) -> None:
    settings = worker_settings(main)
    assert settings["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"] == Expr(
        "'Endpoint=${durableTask.outputs.endpoint};Authentication=ManagedIdentity;"
        "ClientID=${identity.outputs.clientId};TaskHub=${durableTask.outputs.taskHubName}'")
    assert settings["TASKHUB_NAME"] == Expr("durableTask.outputs.taskHubName")
    assert settings["AZURE_CLIENT_ID"] == Expr("identity.outputs.clientId")
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == Expr(
        "'ClientId=${identity.outputs.clientId};Authorization=AAD'")
    assert settings["REDIS_USE_ENTRA_ID"] == "true"
    # Every other setting means what it means for the Function App: the same value.
    functions = resolve(main, main.modules["functionApp"]["params"]["appSettings"])
    differing = {k for k in settings if settings[k] != functions[k]}
    assert differing == {"DURABLE_TASK_SCHEDULER_CONNECTION_STRING"}


def secrets_in(source: bytes, body: Any = None) -> list[str]:
    """Calls that read keys (listKeys(), x.listCredentials(), ...) in a Bicep file, and secret-carrying properties."""
    found = []
    stack = [parser().parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "call_expression":
            callee = node.named_children[0].text.decode()
            if re.search(r"(^|\.)list\w*$", callee):
                found.append(callee)
        stack.extend(node.children)
    walk = [body]
    while walk:
        item = walk.pop()
        if isinstance(item, dict):
            found += [k for k in item if k in {"secrets", "secretRef", "passwordSecretRef", "sharedKey", "password"}]
            walk += item.values()
        elif isinstance(item, list):
            walk += item
    return found


def test_no_secret_reaches_the_worker() -> None:
    for path in sorted(INFRA.rglob("*.bicep")):
        bodies = [r.body for r in read(path).resources]
        assert secrets_in(path.read_bytes(), bodies) == [], path.name
    # The check sees what it looks for.
    leaky = b"var k = registry.listCredentials().passwords[0].value\nvar s = listKeys(account.id, '2023-01-01')\n"
    assert sorted(secrets_in(leaky)) == ["listKeys", "registry.listCredentials"]
    assert secrets_in(b"", [{"configuration": {"secrets": [{"name": "k"}]}}]) == ["secrets"]


def test_the_container_environment_is_the_settings_and_nothing_secret(app: Resource) -> None:
    container = only_container(app)
    assert container["env"] == Expr("[for setting in items(settings): { name: setting.key, value: setting.value }]")
    assert "secrets" not in app.body["properties"]["configuration"]


def only_container(app: Resource) -> dict[str, Any]:
    containers = app.body["properties"]["template"]["containers"]
    assert len(containers) == 1, "the worker is one container"
    return containers[0]


def test_a_worker_is_always_running_and_serves_the_api_on_its_port(app: Resource) -> None:
    template = app.body["properties"]["template"]
    assert isinstance(template["scale"]["minReplicas"], int) and template["scale"]["minReplicas"] >= 1
    ingress = app.body["properties"]["configuration"]["ingress"]
    assert ingress["targetPort"] == Expr("port") and ingress["allowInsecure"] is False
    port = read(INFRA / "modules" / "container-app.bicep").params["port"].default
    assert port == 8000 and flag(dockerfile_cmd(), "--http-port") == str(port)
    # The ingress reaches the container from outside it: the API must not listen on loopback only.
    assert flag(dockerfile_cmd(), "--http-host") == "0.0.0.0"


def test_the_keyless_api_is_off_the_internet_unless_addresses_are_given(main: BicepFile, app: Resource) -> None:
    # The worker's HTTP API enforces no keys: internal ingress by default, and with an address range only that range.
    ingress = app.body["properties"]["configuration"]["ingress"]
    assert ingress["external"] == Expr("!empty(allowedIpRange)")
    assert ingress["ipSecurityRestrictions"] == Expr(
        "empty(allowedIpRange) ? [] : [ { name: 'allowed', action: 'Allow', ipAddressRange: allowedIpRange } ]")
    assert read(INFRA / "modules" / "container-app.bicep").params["allowedIpRange"].default == ""
    assert main.modules["worker"]["params"]["allowedIpRange"] == Expr("workerAllowedIpRange")
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["workerAllowedIpRange"] == {"value": "${WORKER_ALLOWED_IP_RANGE=}"}


def test_the_image_azd_deployed_survives_provisioning_again(main: BicepFile, app: Resource) -> None:
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    # azd writes SERVICE_<SERVICE>_IMAGE_NAME after each deploy; without it a provision would go back to the
    # placeholder image.
    assert parameters["workerImageName"] == {"value": "${SERVICE_WORKER_IMAGE_NAME=}"}
    assert main.modules["worker"]["params"]["image"] == Expr("workerImageName")
    assert only_container(app)["image"] == Expr("empty(image) ? placeholderImage : image")


def test_logs_reach_the_workspace_without_its_key(modules: dict[str, BicepFile], main: BicepFile) -> None:
    file = modules["modules/container-app.bicep"]
    environment = only(file.resources, "Microsoft.App/managedEnvironments").body["properties"]
    assert environment["appLogsConfiguration"] == {"destination": "azure-monitor"}
    diagnostics = only(file.resources, "Microsoft.Insights/diagnosticSettings").body
    assert diagnostics["scope"] == Expr("environment")
    assert diagnostics["properties"]["workspaceId"] == Expr("logAnalyticsWorkspaceId")
    assert {log["category"] for log in diagnostics["properties"]["logs"]} == {
        "ContainerAppConsoleLogs", "ContainerAppSystemLogs"}
    assert main.modules["worker"]["params"]["logAnalyticsWorkspaceId"] == Expr("monitoring.outputs.workspaceId")


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each instruction of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines
            if line and not line.startswith("#")]


def dockerfile_cmd() -> list[str]:
    cmds = [args for instruction, args in dockerfile() if instruction == "CMD"]
    assert len(cmds) == 1
    return json.loads(cmds[0])  # the exec form: no shell between the container and the worker's signals


def flag(command: list[str], name: str) -> str:
    assert command.count(name) == 1, f"{name} is not given once in {command}"
    return command[command.index(name) + 1]


def test_the_image_runs_the_worker_module() -> None:
    command = dockerfile_cmd()
    assert command[:3] == ["python", "-m", "durable_agents.worker"]
    assert flag(command, "--app") == "agent_app.worker:worker"
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " && ".join(args for instruction, args in instructions if instruction == "RUN")
    assert "pip install -r requirements.txt" in runs
    assert "./durable_agents" in (REPO / "requirements.txt").read_text().splitlines()
    # The --app module's package is in the image, and the process does not run as root.
    copied = [shlex.split(args)[0].rstrip("/") for instruction, args in instructions if instruction == "COPY"]
    assert {"requirements.txt", "durable_agents", "agent_app"} <= set(copied)
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_the_command_is_one_the_worker_accepts() -> None:
    # Every flag of the image's command is one the worker's command line has (it prints them all for --help).
    command = dockerfile_cmd()
    usage = subprocess.run([sys.executable, *command[1:3], "--help"], cwd=REPO, capture_output=True, text=True,
                           timeout=120, check=True).stdout
    flags = [word for word in command[3:] if word.startswith("--")]
    assert flags and all(re.search(rf"(^|\s){re.escape(f)}(\s|$)", usage) for f in flags), (flags, usage)


def test_the_app_the_image_runs_is_an_agent_worker() -> None:
    # What `--app MODULE:NAME` names, imported as the worker imports it from /app (here, the repository root).
    from durable_agents import AgentWorker

    module_name, _, name = flag(dockerfile_cmd(), "--app").partition(":")
    assert (REPO / Path(*module_name.split("."))).with_suffix(".py").exists()
    assert isinstance(getattr(importlib.import_module(module_name), name), AgentWorker)


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def top_level_owners() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


@cache
def files_of(distribution: str) -> frozenset[str]:
    return frozenset(f.as_posix() for f in importlib.metadata.distribution(distribution).files or [])


def owners_of(module: str) -> set[str]:
    """The distributions that install ``module`` (normalised names); for a namespace package several share the top
    name (durabletask, durabletask.azuremanaged), so the longest path that one of them installs decides."""
    candidates = top_level_owners().get(module.split(".")[0])
    if not candidates:
        return {normalised(module.split(".")[0])}
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        prefix = "/".join(parts[:depth])
        hits = {d for d in candidates
                if any(f in (f"{prefix}.py", f"{prefix}/__init__.py") or (depth > 1 and f.startswith(f"{prefix}/"))
                       for f in files_of(d))}
        if hits:
            return {normalised(d) for d in hits}
    return {normalised(d) for d in candidates}


def imported_distributions(paths: list[Path]) -> set[str]:
    """The distributions that the absolute, third-party imports of some files come from."""
    modules = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from package import name`: name may be a module of its own (durabletask.task).
                modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    third_party = {m for m in modules if m.split(".")[0] not in sys.stdlib_module_names | {"durable_agents"}}
    return {d for m in third_party for d in owners_of(m)}


def installed_by_requirements() -> set[str]:
    """What `pip install -r requirements.txt` brings: the library's declared dependencies (its pyproject.toml, and
    the extras requirements.txt names) and everything those depend on, as this environment has them installed."""
    from packaging.requirements import Requirement

    line = next(ln.strip() for ln in (REPO / "requirements.txt").read_text().splitlines()
                if ln.strip().startswith("./durable_agents"))
    extras = set(re.findall(r"\w[\w-]*", line.partition("[")[2]))
    project = tomllib.loads((REPO / "durable_agents" / "pyproject.toml").read_text())["project"]
    pending = [Requirement(r) for r in project["dependencies"]]
    pending += [Requirement(r) for e in extras for r in project.get("optional-dependencies", {}).get(e, [])]
    found: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = normalised(requirement.name)
        if name in found:
            continue
        found.add(name)
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requires:
            nested = Requirement(text)
            wanted = requirement.extras or {""}
            if nested.marker is None or any(nested.marker.evaluate({"extra": e}) for e in wanted):
                pending.append(nested)
    return found


def test_the_image_installs_everything_the_worker_imports() -> None:
    # The image installs requirements.txt and nothing else: a package the worker imports that the library does not
    # declare is an ImportError at the container's start.
    library = REPO / "durable_agents" / "src" / "durable_agents"
    needed = imported_distributions([library / "worker.py", *sorted((library / "_worker").rglob("*.py"))])
    missing = needed - installed_by_requirements()
    assert not missing, f"the worker imports {sorted(missing)}, which durable_agents/pyproject.toml does not declare"


def test_the_dependency_check_sees_an_undeclared_import(tmp_path: Path) -> None:
    (tmp_path / "uses.py").write_text("import json\nfrom durabletask import task\nfrom . import sibling\n")
    assert imported_distributions([tmp_path / "uses.py"]) == {"durabletask"}
    (tmp_path / "scheduler.py").write_text("from durabletask.azuremanaged.client import DurableTaskSchedulerClient\n")
    assert imported_distributions([tmp_path / "scheduler.py"]) == {"durabletask-azuremanaged"}
    assert "openai" in installed_by_requirements() and "pip" not in installed_by_requirements()


def test_the_build_context_is_the_library_and_the_app_only() -> None:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    # Everything is left out first, then exactly what the Dockerfile copies is let back in.
    assert patterns[0] == "*"
    assert {p.rstrip("/") for p in patterns if p.startswith("!")} == {"!requirements.txt", "!durable_agents",
                                                                       "!agent_app"}


def test_the_worker_project_lists_the_worker_service() -> None:
    project = yaml.safe_load((WORKER_PROJECT / "azure.yaml").read_text())
    assert set(project["services"]) == {"worker"}
    service = project["services"]["worker"]
    assert set(service) <= SERVICE_KEYS and set(service["docker"]) <= DOCKER_KEYS
    assert service["host"] == "containerapp" and service["language"] == "docker"
    # The service is rooted below its azure.yaml; the Dockerfile and the build context are the repository's.
    project_dir = (WORKER_PROJECT / service["project"]).resolve()
    assert project_dir == WORKER_PROJECT
    assert (project_dir / service["docker"]["path"]).resolve() == REPO / "Dockerfile"
    assert (project_dir / service["docker"]["context"]).resolve() == REPO
    assert (WORKER_PROJECT / project["infra"]["path"]).resolve() == INFRA and project["infra"]["provider"] == "bicep"
    # The project provisions with HOSTING=worker on every platform, without the user having to set it.
    hook = project["hooks"]["preprovision"]
    assert set(hook) == {"posix", "windows"}
    for platform in hook.values():
        assert set(platform) <= HOOK_KEYS and platform["run"] == "azd env set HOSTING worker"
    assert {hook["posix"]["shell"], hook["windows"]["shell"]} == {"sh", "pwsh"}


def test_the_functions_project_lists_the_function_app_only() -> None:
    project = yaml.safe_load((REPO / "azure.yaml").read_text())
    assert {name: service["host"] for name, service in project["services"].items()} == {"api": "function"}
    assert project["infra"] == {"provider": "bicep", "path": "infra"}
