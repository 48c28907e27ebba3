"""devhost: run a v2-model Python Azure Functions app, Durable Functions included, on one machine.

No Core Tools, .NET, Azurite or Docker: HTTP and timer triggers, orchestrations, activities and
entities run in this process on an embedded SQLite engine. Start it with ``python -m devhost``.
"""
