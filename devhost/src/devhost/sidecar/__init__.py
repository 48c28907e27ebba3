"""The Durable Task sidecar gRPC protocol (``TaskHubSidecarService``) served from devhost's own engine and store.

Durable Task SDK workers and clients (``durabletask``, ``durabletask-azuremanaged``) connect here as they connect
to the Durable Task Scheduler. The engine stays the only writer of the store: episodes, activities and entity
batches of names the Functions app does not have are offered to connected workers as work items (``dispatch``),
their completions come back as the writes an in-process episode would make (``outcome``), and history is kept in
the same Durable Task Framework JSON shape as for the Functions app (``convert`` maps it to protobuf and back).
"""
