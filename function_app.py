"""The Functions app: builds the DFApp and registers the blueprints; nothing else."""

import azure.durable_functions as df
import azure.functions as func

from orchestrations.greeting import bp as greeting

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(greeting)
