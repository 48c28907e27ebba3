// The self-hosted worker: one container on Azure Container Apps running the agents' Durable Task worker and their
// HTTP API, as the user-assigned identity, which also pulls the image. Logs go to the Log Analytics workspace.
param name string
param environmentName string
param location string
param tags object
param identityId string
@description('Login server of the registry azd pushes the worker\'s image to.')
param registryServer string
param logAnalyticsWorkspaceId string
@description('The image azd deployed (SERVICE_WORKER_IMAGE_NAME); empty before the first deploy.')
param image string
@description('Environment variables: exactly the settings the code reads in Azure.')
param settings object
@description('The HTTP API\'s port in the container (the worker\'s --http-port).')
param port int = 8000
@description('Addresses (CIDR) that may call the HTTP API from the internet. Empty: none, the API is reachable only from inside the Container Apps environment.')
param allowedIpRange string = ''
@minValue(1)
param maxReplicas int = 3

// Until azd has built and pushed the worker's image, a public placeholder lets the app be created; `azd deploy` then
// sets the real image, and later provisions keep it through the image parameter.
var placeholderImage = 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest'

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    // The workspace refuses its own keys (local auth disabled), so logs reach it through the diagnostic setting
    // below rather than the 'log-analytics' destination, which would write with the workspace's key.
    appLogsConfiguration: { destination: 'azure-monitor' }
    workloadProfiles: [ { name: 'Consumption', workloadProfileType: 'Consumption' } ]
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs'
  scope: environment
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'ContainerAppConsoleLogs', enabled: true }
      { category: 'ContainerAppSystemLogs', enabled: true }
    ]
  }
}

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  // azd finds the app to deploy the `worker` service to by this tag.
  tags: union(tags, { 'azd-service-name': 'worker' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      // The worker's HTTP API checks no keys (auth levels are the Functions host's, and there is none here), so
      // it is not on the internet unless asked for, and then only for the given addresses: with Allow rules, every
      // other address is refused.
      ingress: {
        external: !empty(allowedIpRange)
        targetPort: port
        transport: 'auto'
        allowInsecure: false
        ipSecurityRestrictions: empty(allowedIpRange) ? [] : [ { name: 'allowed', action: 'Allow', ipAddressRange: allowedIpRange } ]
      }
      registries: [ { server: registryServer, identity: identityId } ]
    }
    template: {
      containers: [
        {
          name: 'worker'
          image: empty(image) ? placeholderImage : image
          resources: { cpu: json('1.0'), memory: '2Gi' }
          env: [for setting in items(settings): { name: setting.key, value: setting.value }]
        }
      ]
      // A worker that is not running makes no progress: orchestrations, activities and entities wait for one, so
      // the app never scales to zero.
      scale: {
        minReplicas: 1
        maxReplicas: maxReplicas
      }
    }
  }
}

output name string = app.name
output fqdn string = app.properties.configuration.ingress.fqdn
