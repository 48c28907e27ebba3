# The self-hosted worker's image: the agents and workflows of agent_app on the durable-agents library, run as a Durable
# Task worker that also serves the HTTP API on port 8000. azd builds it for the `worker` service of
# deploy/worker/azure.yaml; .dockerignore keeps everything but the library and the app out of the build context.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The library first, in a layer of its own: it changes less often than the app, so an app change rebuilds only the
# last layers. It is built outside /app so that no source folder named durable_agents sits beside the app at run time.
COPY requirements.txt /tmp/build/
COPY durable_agents/ /tmp/build/durable_agents/
RUN cd /tmp/build && pip install -r requirements.txt && rm -rf /tmp/build

WORKDIR /app
COPY agent_app/ ./agent_app/

# Not root at run time: the app writes only to /tmp (OUTBOX_DIR).
RUN useradd --system --uid 10001 --no-create-home worker
USER 10001

# The HTTP API listens on every interface: the Container Apps ingress reaches the container from outside it (the
# worker's own default is 127.0.0.1).
EXPOSE 8000
CMD ["python", "-m", "durable_agents.worker", "--app", "agent_app.worker:worker", "--http-host", "0.0.0.0", "--http-port", "8000"]
