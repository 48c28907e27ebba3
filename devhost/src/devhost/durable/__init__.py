"""The embedded Durable Functions engine: SQLite store, episodes, activities, timers, entities."""
