"""Runs steps of 2025-11-25 Tasks against an MCP server with the official Python SDK 1.x (`mcp==1.30.0`, its
`ClientSession.experimental` task calls), in one session, and prints what each step got as JSON.

Run by the interpreter of Tests/e2e/.venv-mcp1 (mcp 1.x cannot live beside the 2.x the other tests use):
    python mcp1_tasks.py '{"url": ..., "token": null, "steps": [...]}'
or, over stdio, '{"stdio": {"command": ..., "args": [...]}, "steps": [...]}'.
Each step is an object with "op":
    tools                                  -> the tools' name and execution.taskSupport
    call_as_task  tool, arguments, ttl?, meta?   -> CreateTaskResult
    call          tool, arguments, meta?   -> CallToolResult (no task)
    get / result / cancel  task            -> GetTaskResult / CallToolResult / CancelTaskResult
    poll          task                     -> every GetTaskResult until a terminal status
    list          cursor?                  -> ListTasksResult
    list_all                               -> every page's task ids, following nextCursor
    notified      task, status, timeout?   -> the statuses notifications/tasks/status brought for the task,
                                              once one brought `status` (an error after `timeout` seconds)
`task` is a task id, or {"step": n}: the id the n-th step's CreateTaskResult carries. A step that fails with a
JSON-RPC error gives {"error": {"code", "message"}}. The output also has "initialize": the server's
capabilities as the SDK parsed them.
"""
import asyncio
import time
import json
import sys
import warnings

# The SDK marks its task API experimental with warnings; they are expected here.
warnings.simplefilter("ignore")

import anyio  # noqa: E402
import httpx  # noqa: E402
from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared.exceptions import McpError  # noqa: E402
from mcp.types import CallToolResult  # noqa: E402


def dump(model) -> dict:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def run(spec: dict) -> dict:
    headers = {"Authorization": f"Bearer {spec['token']}"} if spec.get("token") else {}
    out: dict = {"steps": []}
    notified: list[dict] = []

    async def on_message(message):
        root = getattr(message, "root", None)
        if getattr(root, "method", None) == "notifications/tasks/status":
            notified.append(dump(root.params))

    async def run_steps(read, write):
        async with ClientSession(read, write, message_handler=on_message) as session:
            init = await session.initialize()
            out["initialize"] = {"protocolVersion": init.protocolVersion, "capabilities": dump(init.capabilities)}
            for step in spec["steps"]:
                try:
                    out["steps"].append(await run_step(session, step, out["steps"], notified))
                except McpError as error:
                    out["steps"].append({"error": {"code": error.error.code, "message": error.error.message}})

    if "stdio" in spec:
        try:
            async with stdio_client(StdioServerParameters(**spec["stdio"])) as (read, write):
                await run_steps(read, write)
        except* anyio.BrokenResourceError:
            # The SDK's stdio_client races its own shutdown: a message the server writes as the client leaves (a
            # task's status notification) meets the stream it is closing (python-sdk#1960). Forgiven only once
            # every step has its answer.
            if len(out["steps"]) != len(spec["steps"]):
                raise
        return out
    async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=300)) as http:
        async with streamable_http_client(spec["url"], http_client=http) as (read, write, _):
            await run_steps(read, write)
    return out


def task_id(ref, done: list) -> str:
    if isinstance(ref, dict):
        return done[ref["step"]]["task"]["taskId"]
    return ref


async def run_step(session: ClientSession, step: dict, done: list, notified: list[dict]):
    tasks = session.experimental
    op = step["op"]
    if op == "tools":
        listed = await session.list_tools()
        return {tool.name: (tool.execution.taskSupport if tool.execution else None) for tool in listed.tools}
    if op == "call_as_task":
        return dump(await tasks.call_tool_as_task(step["tool"], step.get("arguments", {}), ttl=step.get("ttl", 60000),
                                                  meta=step.get("meta")))
    if op == "call":
        return dump(await session.call_tool(step["tool"], step.get("arguments", {}), meta=step.get("meta")))
    if op == "get":
        return dump(await tasks.get_task(task_id(step["task"], done)))
    if op == "result":
        return dump(await tasks.get_task_result(task_id(step["task"], done), CallToolResult))
    if op == "cancel":
        return dump(await tasks.cancel_task(task_id(step["task"], done)))
    if op == "poll":
        return [dump(status) async for status in tasks.poll_task(task_id(step["task"], done))]
    if op == "list":
        return dump(await tasks.list_tasks(step.get("cursor")))
    if op == "list_all":
        ids, cursor, pages = [], None, 0
        while True:
            page = await tasks.list_tasks(cursor)
            pages += 1
            ids += [task.taskId for task in page.tasks]
            cursor = page.nextCursor
            if not cursor:
                return {"ids": ids, "pages": pages}
    if op == "notified":
        wanted, deadline = task_id(step["task"], done), time.monotonic() + step.get("timeout", 20)
        while True:
            statuses = [status["status"] for status in notified if status["taskId"] == wanted]
            if step["status"] in statuses:
                return statuses
            if time.monotonic() > deadline:
                return {"error": {"code": 0, "message": f"no {step['status']} notification within the timeout: {notified}"}}
            await asyncio.sleep(0.05)
    raise ValueError(f"unknown op {op}")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))
