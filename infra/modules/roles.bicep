// Built-in role definition ids, in one place so that every assignment and the offline checks agree.
@export()
var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402'
  cognitiveServicesOpenAIUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec'
}

@export()
@description('Who gets a role: the app\'s managed identity, and the deploying user for local runs.')
type principal = {
  id: string
  type: 'ServicePrincipal' | 'User'
}
