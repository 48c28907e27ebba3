"""The example app: its agents, their tools and four workflows, written against durable_agents' public API."""
