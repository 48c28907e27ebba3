// Azure OpenAI (an AIServices account) with one chat deployment; keys are disabled, callers use Entra tokens.
import { roleIds, principal } from 'roles.bicep'

param name string
param location string
param tags object
param chatModelName string
param chatModelVersion string
param chatDeploymentName string
param chatDeploymentCapacity int
param principals principal[]

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'AIServices'
  sku: { name: 'S0' }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource chat 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: chatDeploymentName
  sku: {
    name: 'GlobalStandard'
    capacity: chatDeploymentCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: chatModelName
      version: chatModelVersion
    }
  }
}

resource openAIUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for p in principals: {
  name: guid(account.id, p.id, roleIds.cognitiveServicesOpenAIUser)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.cognitiveServicesOpenAIUser)
    principalId: p.id
    principalType: p.type
  }
}]

output endpoint string = 'https://${name}.openai.azure.com/'
output chatDeploymentName string = chat.name
