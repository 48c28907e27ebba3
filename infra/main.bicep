// Everything the app needs in Azure, keyless end to end: `azd up` deploys this, then the code.
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('azd environment name; names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Region for every resource (it must offer Flex Consumption, the Durable Task Scheduler, Azure Managed Redis and the chat model).')
param location string

@description('Object id of the deploying user: gets every data role too, so local runs against these resources work with az login. Empty: none.')
param principalId string = ''

@allowed([ 'User', 'ServicePrincipal' ])
param principalType string = 'User'

param chatModelName string = 'gpt-4o-mini'
param chatModelVersion string = '2024-07-18'
@description('Thousands of tokens per minute for the chat deployment.')
param chatDeploymentCapacity int = 30

@description('Azure Managed Redis SKU; Balanced_B0 is the smallest.')
param redisSkuName string = 'Balanced_B0'

@allowed([ 'Consumption', 'Dedicated' ])
param durableTaskSchedulerSku string = 'Consumption'

param taskHubName string = 'agents'

@allowed([ 'functions', 'worker' ])
@description('Where the agents run: a Function App on Flex Consumption (functions, the default), or the self-hosted Durable Task worker on Azure Container Apps (worker, deployed with the azd project in deploy/worker, which sets HOSTING=worker).')
param hosting string = 'functions'

@description('The worker\'s image once azd has deployed it (azd keeps it in SERVICE_WORKER_IMAGE_NAME), so that provisioning again keeps it; empty before the first deploy.')
param workerImageName string = ''

@description('Addresses (CIDR, e.g. your own /32) that may call the worker\'s HTTP API from the internet; empty: it is reachable only inside its Container Apps environment. The worker\'s API checks no keys.')
param workerAllowedIpRange string = ''

var hostsFunctions = hosting == 'functions'
var hostsWorker = hosting == 'worker'
var tags = { 'azd-env-name': environmentName }
// A worker deployment gets names (and a resource group) of its own, even under the name of an existing Functions
// environment: two hosts on one task hub would be handed each other's work items.
var token = toLower(hostsFunctions ? uniqueString(subscription().id, environmentName, location) : uniqueString(subscription().id, environmentName, location, hosting))
var deploymentContainerName = 'app-package-${take(token, 7)}'
var chatDeploymentName = 'chat'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: hostsFunctions ? 'rg-${environmentName}' : 'rg-${environmentName}-${hosting}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  name: 'identity'
  params: { name: 'id-${token}', location: location, tags: tags }
}

// The deploying user (or pipeline), when there is one.
var deployer = empty(principalId) ? [] : [ { id: principalId, type: principalType } ]
var principals = concat([ { id: identity.outputs.principalId, type: 'ServicePrincipal' } ], deployer)

// The Functions host's own storage: only the Function App needs it.
module storage 'modules/storage.bicep' = if (hostsFunctions) {
  scope: rg
  name: 'storage'
  params: {
    name: 'st${token}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    principals: principals
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${token}'
    appInsightsName: 'appi-${token}'
    location: location
    tags: tags
    principals: principals
  }
}

module durableTask 'modules/durable-task.bicep' = {
  scope: rg
  name: 'durable-task'
  params: {
    name: 'dts-${token}'
    taskHubName: taskHubName
    location: location
    tags: tags
    skuName: durableTaskSchedulerSku
    principals: principals
  }
}

module openai 'modules/openai.bicep' = {
  scope: rg
  name: 'openai'
  params: {
    name: 'oai-${token}'
    location: location
    tags: tags
    chatModelName: chatModelName
    chatModelVersion: chatModelVersion
    chatDeploymentName: chatDeploymentName
    chatDeploymentCapacity: chatDeploymentCapacity
    principals: principals
  }
}

module redis 'modules/redis.bicep' = {
  scope: rg
  name: 'redis'
  params: {
    name: 'redis-${token}'
    location: location
    tags: tags
    skuName: redisSkuName
    principals: principals
  }
}

// Exactly the settings the code reads in Azure (durable_agents/_settings.py, where "azure" or "both"), plus the
// Application Insights ones the Functions host reads; the worker gets the same. tests/infra checks both directions.
var appSettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  AZURE_CLIENT_ID: identity.outputs.clientId
  AZURE_OPENAI_ENDPOINT: openai.outputs.endpoint
  AZURE_OPENAI_CHAT_DEPLOYMENT_NAME: openai.outputs.chatDeploymentName
  AZURE_OPENAI_API_VERSION: '2024-10-21'
  MODEL_MAX_RETRIES: '4'
  SESSION_TTL_DAYS: '14'
  SESSION_TOKEN_BUDGET: '6000'
  APPROVAL_TIMEOUT_SECONDS: '3600'
  AGENT_MAX_STEPS: '12'
  MCP_TOOL_WAIT_SECONDS: '50'
  REDIS_HOST: redis.outputs.hostName
  REDIS_PORT: string(redis.outputs.port)
  REDIS_USE_ENTRA_ID: 'true'
  STREAM_TTL_MINUTES: '60'
  OUTBOX_DIR: '/tmp/outbox'
  TASKHUB_NAME: durableTask.outputs.taskHubName
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTask.outputs.endpoint};Authentication=ManagedIdentity;ClientID=${identity.outputs.clientId}'
}

module functionApp 'modules/function-app.bicep' = if (hostsFunctions) {
  scope: rg
  name: 'function-app'
  params: {
    name: 'func-${token}'
    planName: 'plan-${token}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage!.outputs.name
    deploymentContainerUrl: '${storage!.outputs.blobEndpoint}${deploymentContainerName}'
    appSettings: appSettings
  }
}

module registry 'modules/registry.bicep' = if (hostsWorker) {
  scope: rg
  name: 'registry'
  params: {
    name: 'cr${token}'
    location: location
    tags: tags
    principals: principals
    pushPrincipals: deployer
  }
}

module worker 'modules/container-app.bicep' = if (hostsWorker) {
  scope: rg
  name: 'worker'
  params: {
    name: 'ca-${token}'
    environmentName: 'cae-${token}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    registryServer: registry!.outputs.loginServer
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    image: workerImageName
    allowedIpRange: workerAllowedIpRange
    // The Durable Task SDK reads the task hub from the connection string, where the Functions host reads host.json.
    settings: union(appSettings, {
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTask.outputs.endpoint};Authentication=ManagedIdentity;ClientID=${identity.outputs.clientId};TaskHub=${durableTask.outputs.taskHubName}'
    })
  }
}

// azd writes these into the environment (.azure/<env>/.env); `azd env get-values` shows them.
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = hostsFunctions ? functionApp!.outputs.name : ''
output AZURE_FUNCTION_APP_URL string = hostsFunctions ? 'https://${functionApp!.outputs.defaultHostName}' : ''
// azd pushes the worker's image to AZURE_CONTAINER_REGISTRY_ENDPOINT.
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = hostsWorker ? registry!.outputs.loginServer : ''
output AZURE_CONTAINER_REGISTRY_NAME string = hostsWorker ? registry!.outputs.name : ''
output AZURE_WORKER_APP_NAME string = hostsWorker ? worker!.outputs.name : ''
output AZURE_WORKER_URL string = hostsWorker ? 'https://${worker!.outputs.fqdn}' : ''
output AZURE_OPENAI_ENDPOINT string = openai.outputs.endpoint
output AZURE_OPENAI_CHAT_DEPLOYMENT_NAME string = openai.outputs.chatDeploymentName
output REDIS_HOST string = redis.outputs.hostName
output REDIS_PORT int = redis.outputs.port
output TASKHUB_NAME string = durableTask.outputs.taskHubName
output DURABLE_TASK_SCHEDULER_ENDPOINT string = durableTask.outputs.endpoint
output DURABLE_TASK_SCHEDULER_DASHBOARD_URL string = durableTask.outputs.dashboardUrl
