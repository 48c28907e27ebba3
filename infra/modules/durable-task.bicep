// The Durable Task Scheduler: the app's orchestrations, activities and entities in Azure.
import { roleIds, principal } from 'roles.bicep'

param name string
param taskHubName string
param location string
param tags object
@allowed([ 'Consumption', 'Dedicated' ])
param skuName string
param principals principal[]

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: [ '0.0.0.0/0' ]
    sku: { name: skuName }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
  properties: {}
}

resource dataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for p in principals: {
  name: guid(scheduler.id, p.id, roleIds.durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.durableTaskDataContributor)
    principalId: p.id
    principalType: p.type
  }
}]

output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
output dashboardUrl string = 'https://dashboard.durabletask.io/?endpoint=${uriComponent(scheduler.properties.endpoint)}&taskhub=${uriComponent(taskHub.name)}'
