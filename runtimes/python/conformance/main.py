"""The conformance function for the Python bridge (docs/runtime-protocol.md, section 9).

It answers by request path so that `skiff runtime test` can drive every protocol case:

    skiff runtime test --function runtimes/python/conformance --handler main.py \\
        -- /usr/bin/python3 -u runtimes/python/bridge.py
"""

import asyncio
import json
import os
import re

import skiff


async def handle(request, ctx):
    path = request.path

    if path == "/echo":
        headers = {"x-method": request.method}
        content_type = request.headers.get("content-type")
        if content_type is not None:
            headers["content-type"] = content_type
        return skiff.Response(request.body, status=200, headers=headers)

    status = re.fullmatch(r"/status/(\d{3})", path)
    if status:
        code = status.group(1)
        return skiff.Response(f"status {code}", status=int(code), headers={"x-status": code})

    if path == "/error":
        raise RuntimeError("conformance-error")

    if path == "/crash":
        os._exit(7)

    sleep = re.fullmatch(r"/sleep/(\d+)", path)
    if sleep:
        await asyncio.sleep(int(sleep.group(1)) / 1000)
        return skiff.Response("slept", status=200, headers={"content-type": "text/plain; charset=utf-8"})

    if path == "/log":
        print("conformance-log")
        return skiff.Response("logged", status=200, headers={"content-type": "text/plain; charset=utf-8"})

    if path == "/env":
        body = json.dumps({"fn": ctx.function_name, "version": ctx.version, "id": ctx.invocation_id})
        return skiff.Response(body, status=200, headers={"content-type": "application/json"})

    if path == "/trace":
        body = json.dumps({"traceId": ctx.trace_id, "traceparent": ctx.traceparent, "tracestate": ctx.tracestate})
        return skiff.Response(body, status=200, headers={"content-type": "application/json"})

    if path == "/call":
        try:
            res = await ctx.call("conformance-callee", request.body, path="/callee")
        except skiff.CallError as err:
            return "failed " + err.code
        return "%d %s %s" % (res.status, res.headers.get("x-callee"), res.text())

    if path == "/cast":
        try:
            return "cast %s" % (await ctx.cast("conformance-callee", request.body, delay_ms=250),)
        except skiff.CallError as err:
            return "failed " + err.code

    if path == "/state":
        version = await ctx.state.set("conformance", {"n": 1}, if_version=0)
        got = await ctx.state.get("conformance")
        try:
            await ctx.state.set("conformance", {"n": got.value["n"] + 1}, if_version=got.version)
            return "no conflict"
        except skiff.StateError as err:
            return "%d %s@%d %s" % (version, json.dumps(got.value, separators=(",", ":")), got.version, err.code)

    return skiff.Response(f"no conformance behaviour for {path}", status=404)
