"""MCP both ways: each agent served as an MCP tool (``triggers``), and an MCP server's tools given to an agent
(``servers`` declares one, ``client`` speaks to it, ``run_tools`` gives a run its durable list of them)."""
