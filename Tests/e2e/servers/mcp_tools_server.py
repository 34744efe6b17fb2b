"""A downstream MCP server for the mcp executor's end-to-end tests, written with the official Python SDK
(PyPI `mcp`), run over stdio by `conductor agent`, or on its own over streamable HTTP (`--http PORT`). What it saw is written as JSON lines to $EVENTS_FILE, so that
a test can check what reached it (a cancellation, a start after a crash)."""
import asyncio
import json
import os
import time

import anyio
from pydantic import BaseModel

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("conductor-test-tools")


def record(event: str, **fields) -> None:
    with open(os.environ["EVENTS_FILE"], "a") as f:
        f.write(json.dumps({"event": event, "pid": os.getpid(), "time": time.time(), **fields}) + "\n")


class Sum(BaseModel):
    total: int
    count: int


@server.tool(description="Add the numbers up, one step per number, reporting progress at each.")
async def add(numbers: list[int], ctx: Context, delay_seconds: float = 0.2) -> Sum:
    for index, _ in enumerate(numbers):
        await asyncio.sleep(delay_seconds)
        await ctx.report_progress(index + 1, len(numbers), f"added {index + 1} of {len(numbers)}")
    return Sum(total=sum(numbers), count=len(numbers))


@server.tool(description="Fail with a message.")
def refuse(reason: str) -> str:
    raise ToolError(f"refused: {reason}")


@server.tool(description="Wait until cancelled.")
async def wait_forever(label: str) -> str:
    record("waiting", label=label)
    try:
        await asyncio.sleep(3600)
    except (asyncio.CancelledError, anyio.get_cancelled_exc_class()):
        record("cancelled", label=label)
        raise
    return "never"


@server.tool(description="Exit the server's process at once, as a crash.")
def crash() -> str:
    record("crashing")
    os._exit(3)


@server.tool(description="Offer one more tool, and tell the client that the tool list changed.")
async def grow(name: str, ctx: Context) -> str:
    def added(text: str) -> str:
        return f"{name}: {text}"
    server.add_tool(added, name=name, description=f"A tool added at run time: {name}")
    # notifications/tools/list_changed on the connection (ctx.notify_tools_changed publishes to
    # subscriptions/listen subscribers of the 2026 revision only).
    await ctx.session.send_tool_list_changed()
    return f"added {name}"


if __name__ == "__main__":
    import sys
    record("started")
    if len(sys.argv) == 3 and sys.argv[1] == "--http":  # streamable HTTP on 127.0.0.1:<port>/mcp
        server.run("streamable-http", port=int(sys.argv[2]))
    else:
        server.run("stdio")
