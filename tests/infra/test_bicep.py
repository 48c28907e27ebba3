"""Offline checks of infra/: every file parses, the right resources exist, keys are off, roles are right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.bicep import BicepFile, Expr, Resource, broken_nodes, read

INFRA = Path(__file__).resolve().parents[2] / "infra"
FILES = sorted(INFRA.rglob("*.bicep"))

# Built-in role definition ids (learn.microsoft.com, "Azure built-in roles").
ROLE_IDS = {
    "storageBlobDataOwner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "storageQueueDataContributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "storageTableDataContributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "durableTaskDataContributor": "0ad04412-c4d5-4796-b79c-f76d14c8d402",
    "cognitiveServicesOpenAIUser": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "monitoringMetricsPublisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "acrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "acrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
}
# Which resource each role must be granted on.
ROLE_SCOPES = {
    "storageBlobDataOwner": "Microsoft.Storage/storageAccounts",
    "storageQueueDataContributor": "Microsoft.Storage/storageAccounts",
    "storageTableDataContributor": "Microsoft.Storage/storageAccounts",
    "durableTaskDataContributor": "Microsoft.DurableTask/schedulers",
    "cognitiveServicesOpenAIUser": "Microsoft.CognitiveServices/accounts",
    "monitoringMetricsPublisher": "Microsoft.Insights/components",
    "acrPull": "Microsoft.ContainerRegistry/registries",
    "acrPush": "Microsoft.ContainerRegistry/registries",
}


@pytest.fixture(scope="module")
def parsed() -> list[BicepFile]:
    return [read(path) for path in FILES]


@pytest.fixture(scope="module")
def resources(parsed: list[BicepFile]) -> list[Resource]:
    return [resource for file in parsed for resource in file.resources]


def one(resources: list[Resource], type_name: str) -> Resource:
    found = [r for r in resources if r.type == type_name]
    assert len(found) == 1, f"expected one {type_name}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(INFRA)) for p in FILES])
def test_every_bicep_file_parses(path: Path) -> None:
    assert broken_nodes(path.read_bytes()) == []


def test_the_parse_check_reports_where_a_file_is_broken() -> None:
    broken = b"param name string\nresource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: name\n"
    assert broken_nodes(broken) == ["3:13 MISSING }"]
    assert broken_nodes(b"var x = [\n  1\n  2 +\n]\n") != []
    assert broken_nodes(b"var x = {\n  a: 1\n}\n") == []


def test_the_files_azd_needs_exist() -> None:
    assert FILES and (INFRA / "main.bicep") in FILES and (INFRA / "main.parameters.json").exists()
    azure_yaml = (INFRA.parent / "azure.yaml").read_text()
    assert re.search(r"host:\s*function", azure_yaml) and re.search(r"language:\s*python", azure_yaml)
    assert "targetScope = 'subscription'" in (INFRA / "main.bicep").read_text()


def test_the_deployment_package_holds_the_app_and_nothing_for_development() -> None:
    ignored = {line.strip().rstrip("/") for line in (INFRA.parent / ".funcignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {"devhost", "tests", "bench", ".venv", "local.settings.json", "test-artifacts", ".devhost", "Dockerfile",
            "deploy"} <= ignored
    assert not ignored & {"function_app.py", "host.json", "requirements.txt", "agent_app", "durable_agents"}


def test_every_resource_the_app_needs_is_declared(resources: list[Resource]) -> None:
    types = {r.type for r in resources}
    assert types >= {
        "Microsoft.Resources/resourceGroups",
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "Microsoft.Web/serverfarms",
        "Microsoft.Web/sites",
        "Microsoft.DurableTask/schedulers",
        "Microsoft.DurableTask/schedulers/taskHubs",
        "Microsoft.CognitiveServices/accounts",
        "Microsoft.CognitiveServices/accounts/deployments",
        "Microsoft.Cache/redisEnterprise",
        "Microsoft.Cache/redisEnterprise/databases",
        "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.Insights/components",
        "Microsoft.Authorization/roleAssignments",
    }


def test_no_keys_anywhere(resources: list[Resource]) -> None:
    assert one(resources, "Microsoft.Storage/storageAccounts").body["properties"]["allowSharedKeyAccess"] is False
    openai = one(resources, "Microsoft.CognitiveServices/accounts")
    assert openai.body["kind"] == "AIServices" and openai.body["properties"]["disableLocalAuth"] is True
    assert one(resources, "Microsoft.Insights/components").body["properties"]["DisableLocalAuth"] is True
    database = one(resources, "Microsoft.Cache/redisEnterprise/databases").body["properties"]
    assert database["accessKeysAuthentication"] == "Disabled" and database["clientProtocol"] == "Encrypted"
    workspace = one(resources, "Microsoft.OperationalInsights/workspaces").body["properties"]
    assert workspace["features"]["disableLocalAuth"] is True
    assert one(resources, "Microsoft.ContainerRegistry/registries").body["properties"]["adminUserEnabled"] is False


def test_properties_the_api_versions_require_are_set(resources: list[Resource]) -> None:
    cluster = one(resources, "Microsoft.Cache/redisEnterprise")
    # Required from Microsoft.Cache 2025-07-01 on (Azure/bicep-types-az, redisenterprise types).
    assert cluster.api_version >= "2025-07-01" and cluster.body["properties"]["publicNetworkAccess"] == "Enabled"


def test_each_role_assignment_grants_the_right_role_on_the_right_resource(
    parsed: list[BicepFile], resources: list[Resource]
) -> None:
    roles_file = next(f for f in parsed if f.path.name == "roles.bicep")
    assert roles_file.variables["roleIds"] == ROLE_IDS
    assignments = [r for r in resources if r.type == "Microsoft.Authorization/roleAssignments"]
    granted = set()
    for assignment in assignments:
        definition = assignment.body["properties"]["roleDefinitionId"]
        role = re.fullmatch(r"subscriptionResourceId\('Microsoft\.Authorization/roleDefinitions', roleIds\.(\w+)\)",
                            definition.text)
        assert role, f"{assignment.file}:{assignment.symbol} names its role other than through roleIds"
        name = role.group(1)
        # The assignment's name is derived from the same role, so two roles never collide on one name.
        assert f"roleIds.{name}" in assignment.body["name"].text
        scope = assignment.body["scope"].text
        scope_type = next(r.type for r in resources if r.file == assignment.file and r.symbol == scope)
        assert scope_type == ROLE_SCOPES[name], f"{name} is granted on {scope_type}"
        # Every role goes to each of a list of principals: the app's identity and the deploying user (principals),
        # or the deploying user alone (pushPrincipals: only azd pushes images).
        assert assignment.loop in ("principals", "pushPrincipals"), f"{name} is granted to {assignment.loop}"
        assert assignment.body["properties"]["principalId"] == Expr("p.id")
        granted.add(name)
    assert granted == set(ROLE_IDS)
    redis_access = one(resources, "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments")
    assert redis_access.looped and redis_access.body["properties"]["user"] == {"objectId": Expr("p.id")}


def test_the_deploying_user_is_among_the_principals(parsed: list[BicepFile]) -> None:
    main = next(f for f in parsed if f.path.name == "main.bicep")
    principals = main.variables["principals"]
    assert principals.name == "concat" and principals.args[1] == Expr("deployer")
    assert "identity.outputs.principalId" in principals.args[0][0]["id"].text
    assert "id: principalId, type: principalType" in main.variables["deployer"].text
    for module in main.modules.values():
        if "principals" in module["params"]:
            assert module["params"]["principals"] == Expr("principals")
        if "pushPrincipals" in module["params"]:
            assert module["params"]["pushPrincipals"] == Expr("deployer")


def test_the_function_app_is_python_on_flex_consumption_with_identity_based_storage(
    parsed: list[BicepFile], resources: list[Resource]
) -> None:
    plan = one(resources, "Microsoft.Web/serverfarms").body
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"} and plan["properties"]["reserved"] is True
    site = one(resources, "Microsoft.Web/sites").body
    assert site["kind"] == "functionapp,linux" and site["identity"]["type"] == "UserAssigned"
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    host_settings = next(f for f in parsed if f.path.name == "function-app.bicep").variables["hostSettings"]
    assert host_settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert {"AzureWebJobsStorage__accountName", "AzureWebJobsStorage__clientId"} <= set(host_settings)
    assert "AzureWebJobsStorage" not in host_settings
