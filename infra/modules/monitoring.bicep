// Logs and traces, with Entra authentication only: telemetry is sent with the managed identity, not a key.
import { roleIds, principal } from 'roles.bicep'

param logAnalyticsName string
param appInsightsName string
param location string
param tags object
param principals principal[]

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
    features: { disableLocalAuth: true }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for p in principals: {
  name: guid(appInsights.id, p.id, roleIds.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: p.id
    principalType: p.type
  }
}]

output connectionString string = appInsights.properties.ConnectionString
// The worker's Container Apps environment sends its logs here through a diagnostic setting.
output workspaceId string = workspace.id
