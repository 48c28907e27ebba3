// The worker's image registry. No admin user and no tokens: the app's identity pulls with AcrPull, the deploying user
// (whose azd builds and pushes the image) gets AcrPush.
import { roleIds, principal } from 'roles.bicep'

param name string
param location string
param tags object
@description('Pull the worker\'s image: the app\'s identity (the Container App pulls with it), and the deploying user.')
param principals principal[]
@description('Push the worker\'s image: the deploying user.')
param pushPrincipals principal[]

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  // Basic runs ACR Tasks, which azd's remote build (docker.remoteBuild) uses, so no local Docker is needed.
  sku: { name: 'Basic' }
  properties: {
    adminUserEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for p in principals: {
  name: guid(registry.id, p.id, roleIds.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.acrPull)
    principalId: p.id
    principalType: p.type
  }
}]

resource push 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for p in pushPrincipals: {
  name: guid(registry.id, p.id, roleIds.acrPush)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.acrPush)
    principalId: p.id
    principalType: p.type
  }
}]

output name string = registry.name
output loginServer string = registry.properties.loginServer
