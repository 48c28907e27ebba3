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

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var deploymentContainerName = 'app-package-${take(token, 7)}'
var chatDeploymentName = 'chat'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  name: 'identity'
  params: { name: 'id-${token}', location: location, tags: tags }
}

var principals = concat(
  [ { id: identity.outputs.principalId, type: 'ServicePrincipal' } ],
  empty(principalId) ? [] : [ { id: principalId, type: principalType } ]
)

module storage 'modules/storage.bicep' = {
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

module functionApp 'modules/function-app.bicep' = {
  scope: rg
  name: 'function-app'
  params: {
    name: 'func-${token}'
    planName: 'plan-${token}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}${deploymentContainerName}'
    // Exactly the settings the code reads in Azure (agents/settings.py, where "azure" or "both"), plus the
    // Application Insights ones the Functions host reads. tests/infra checks both directions.
    appSettings: {
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
  }
}

// azd writes these into the environment (.azure/<env>/.env); `azd env get-values` shows them.
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_OPENAI_ENDPOINT string = openai.outputs.endpoint
output AZURE_OPENAI_CHAT_DEPLOYMENT_NAME string = openai.outputs.chatDeploymentName
output REDIS_HOST string = redis.outputs.hostName
output REDIS_PORT int = redis.outputs.port
output TASKHUB_NAME string = durableTask.outputs.taskHubName
output DURABLE_TASK_SCHEDULER_ENDPOINT string = durableTask.outputs.endpoint
output DURABLE_TASK_SCHEDULER_DASHBOARD_URL string = durableTask.outputs.dashboardUrl
