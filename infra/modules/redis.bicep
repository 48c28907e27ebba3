// Azure Managed Redis for run streams; access keys are disabled, the identity gets a data access policy.
import { principal } from 'roles.bicep'

param name string
param location string
param tags object
param skuName string
param principals principal[]

resource cluster 'Microsoft.Cache/redisEnterprise@2025-07-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: skuName }
  properties: {
    minimumTlsVersion: '1.2'
    // Required from this API version on; the app reaches Redis over TLS with Entra ID, not through a VNet.
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = {
  parent: cluster
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    clusteringPolicy: 'EnterpriseCluster'
    evictionPolicy: 'VolatileLRU'
    accessKeysAuthentication: 'Disabled'
  }
}

// Assignment names must be alphanumeric; 'default' is the data access policy Azure Managed Redis offers. One at a
// time: the database takes one assignment change at a time.
@batchSize(1)
resource access 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-07-01' = [for p in principals: {
  parent: database
  name: 'access${uniqueString(p.id)}'
  properties: {
    accessPolicyName: 'default'
    user: { objectId: p.id }
  }
}]

output hostName string = cluster.properties.hostName
output port int = database.properties.port
