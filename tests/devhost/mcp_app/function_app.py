"""A Functions app with MCP tool, resource and prompt triggers, written as the azure-functions docs show them."""

import asyncio
import json
from dataclasses import dataclass

import azure.functions as func
from azure.functions.decorators.mcp import PromptArgument

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

ECHO_PROPERTIES = json.dumps([
    {"propertyName": "text", "propertyType": "string", "description": "What to say back.", "isRequired": True},
    {"propertyName": "times", "propertyType": "integer", "description": "How often."},
    {"propertyName": "mood", "propertyType": "string", "description": "", "enumValues": ["calm", "loud"]},
])


@app.mcp_tool_trigger(arg_name="context", tool_name="echo", description="Say the text back.",
                      tool_properties=ECHO_PROPERTIES)
def echo(context: str) -> str:
    """A sync tool: the trigger argument is the invocation context as JSON text."""
    arguments = json.loads(context)["arguments"]
    return " ".join([arguments["text"]] * int(arguments.get("times") or 1))


@app.function_name("echo_again")
@app.mcp_tool_trigger(arg_name="context", tool_name="ECHO", description="Claims the name echo a second time.")
def echo_again(context: str) -> str:
    return "never listed: the first function to claim a tool name keeps it"


@app.mcp_tool_trigger(arg_name="context", tool_name="whoami", description="The context the function was given.",
                      metadata=json.dumps({"ui": {"hint": "debug"}}))
def whoami(context: str) -> str:
    return context


@app.mcp_tool()
@app.mcp_tool_property(arg_name="count", description="How many to add.", property_type=func.McpPropertyType.INTEGER)
async def add(count: int, step: float, tags: list[str], loud: bool = False, note: str | None = None) -> str:
    """Add up steps, asynchronously."""
    await asyncio.sleep(0.01)
    total = count * step
    text = f"{total} {','.join(tags)}"
    return text.upper() if loud else text


@app.mcp_tool()
def explode(reason: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"exploded: {reason}")


@app.mcp_tool()
async def slow(seconds: float) -> str:
    """A tool that takes its time."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@func.mcp_content
@dataclass
class Forecast:
    city: str
    degrees: int


@app.mcp_tool()
def forecast(city: str) -> Forecast:
    """A tool with a structured result."""
    return Forecast(city=city, degrees=21)


@app.mcp_tool()
def nothing() -> None:
    """A tool that returns None."""


@app.mcp_resource_trigger(arg_name="context", uri="file://readme.txt", resource_name="readme",
                          description="The readme.", mime_type="text/plain")
def readme(context: str) -> str:
    return "Read me first."


@app.mcp_resource_trigger(arg_name="context", uri="file://notes/{name}", resource_name="note",
                          description="A note by name.", mime_type="text/markdown")
def note(context: str) -> str:
    return f"# note {json.loads(context)['uri'].rsplit('/', 1)[-1]}"


@app.mcp_prompt_trigger(arg_name="context", prompt_name="greet", description="A greeting.",
                        prompt_arguments=[PromptArgument("who", "Whom to greet.", True)])
def greet(context: func.PromptInvocationContext) -> str:
    return f"Say hello to {context.arguments['who']}."
