"""Orchestrator functions and their HTTP starters, one module per pattern."""
