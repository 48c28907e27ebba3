"""The bench-peers workloads (``workloads.py``: chain, fan-out, sequential no-ops, the Sleeper entity) on devhost."""

import azure.durable_functions as df
import azure.functions as func
from workloads import bp  # devhost puts the app's folder on sys.path, as the Python worker does

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)
