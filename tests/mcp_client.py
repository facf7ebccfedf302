"""`meshtap mcp --demo` driven by the official MCP Python SDK (PyPI `mcp`) as its stdio client.

initialize, list the tools, call list_requests with a filter, route_stats, get_request (detail
and explain), a diff with progress notifications, a resource and a prompt; a bad argument gets
an error and the server answers the next call. A second session taps the demo's `troubled`
namespace, where tap_health must say why each pod of deploy/tap-disabled shows nothing. Every wait is bounded; the script exits non-zero
on the first thing that is not as it must be.

Usage: python3 tests/mcp_client.py target/debug/meshtap
"""

import sys

import anyio
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client

EXPECTED_TOOLS = {
    "list_requests", "get_request", "route_stats", "identities", "map", "trace", "diff", "tap_health",
}
# Each call gets this long; the whole run is bounded by the caller's `timeout` too.
CALL_SECONDS = 30
# The demo needs a moment to produce traffic: at most this many tries, a second apart.
WAIT_TRIES = 20


def check(condition, what):
    if not condition:
        raise SystemExit(f"mcp_client: FAILED: {what}")
    print(f"mcp_client: ok: {what.splitlines()[0][:120]}")


async def call(session, name, arguments=None, **kw):
    with anyio.fail_after(CALL_SECONDS):
        return await session.call_tool(name, arguments or {}, **kw)


async def main(binary, capture):
    params = StdioServerParameters(command=binary, args=["mcp", "--demo"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            with anyio.fail_after(CALL_SECONDS):
                init = await session.initialize()
            check(init.server_info.name == "meshtap", f"initialize: {init.server_info}")
            check(init.protocol_version == "2025-11-25", f"protocol {init.protocol_version}")

            with anyio.fail_after(CALL_SECONDS):
                tools = await session.list_tools()
            names = {t.name for t in tools.tools}
            check(EXPECTED_TOOLS <= names, f"tools listed: {sorted(names)}")
            schema = next(t for t in tools.tools if t.name == "list_requests").input_schema
            check("filter" in schema.get("properties", {}), f"list_requests schema {schema}")

            # Bounded wait for the demo mesh to deliver some finished requests.
            listed = None
            for _ in range(WAIT_TRIES):
                result = await call(session, "list_requests", {"filter": "status>=200", "limit": 5})
                check(not result.is_error, "list_requests answers")
                listed = result.structured_content
                if listed["returned"] > 0:
                    break
                await anyio.sleep(1)
            check(listed["returned"] > 0, f"list_requests with a filter returned requests: {listed}")
            check(listed["returned"] <= 5, "the limit bounds the answer")
            check(listed["sampled"]["max_rps"] == 100.0, f"sampling is stated: {listed['sampled']}")
            check("sample" in listed["sampled"]["note"], "the note says it is a sample")
            check(all(r["status"] >= 200 for r in listed["requests"]), "the filter applied")

            errors = await call(session, "list_requests", {"filter": "status>=500", "limit": 3})
            check(
                all(r["status"] >= 500 for r in errors.structured_content["requests"]),
                "a second filter applied",
            )

            stats = await call(session, "route_stats", {"window": "capture", "group_by": "route"})
            rows = stats.structured_content["rows"]
            check(len(rows) > 0 and "p99_ms" in rows[0], f"route_stats rows: {rows[:1]}")
            check("max_rps" in stats.structured_content["sampled"], "route_stats states sampling")

            first = listed["requests"][0]["id"]
            one = (await call(session, "get_request", {"id": first})).structured_content
            check(one["request"]["id"] == first, "get_request returns that request")
            check(len(one["detail"]) > 0 and len(one["explain"]) > 0, "detail tree and explain")
            # front-end calls carts with a bearer token: its value must come back redacted.
            for _ in range(WAIT_TRIES):
                carts = await call(
                    session,
                    "list_requests",
                    {"filter": "src.deploy=front-end dst.deploy=carts", "limit": 1},
                )
                if carts.structured_content["returned"] == 1:
                    break
                await anyio.sleep(1)
            check(carts.structured_content["returned"] == 1, "a request to carts")
            cart_id = carts.structured_content["requests"][0]["id"]
            cart = (await call(session, "get_request", {"id": cart_id})).structured_content
            headers = cart["request"].get("request_headers") or []
            secret = [h for h in headers if h["name"].lower() == "authorization"]
            check(len(secret) == 1, f"the bearer header is there: {headers}")
            check(secret[0].get("value") == "<redacted>", f"and redacted: {secret}")

            # Bad arguments: an error, and the server answers the next call.
            bad = []
            for arguments in ({"id": "not-a-number"}, {"id": 2**62}):
                try:
                    result = await call(session, "get_request", arguments)
                    bad.append(result.is_error)
                except MCPError as err:
                    bad.append(True)
                    print(f"mcp_client: JSON-RPC error as expected: {err}")
            check(all(bad), f"bad get_request arguments are errors: {bad}")
            try:
                result = await call(session, "list_requests", {"filter": "status>>"})
                check(result.is_error, "a bad filter is a tool error")
            except MCPError as err:
                check("filter" in str(err), f"a bad filter is an error naming it: {err}")
            again = await call(session, "identities")
            check(not again.is_error and "edges" in again.structured_content, "served after errors")

            mapped = (await call(session, "map")).structured_content
            check(len(mapped["map"]["edges"]) > 0, "map has edges")

            progress = []

            async def on_progress(value, total, message):
                progress.append((value, total, message))

            diffed = await call(
                session, "diff", {"a": capture, "b": capture}, progress_callback=on_progress
            )
            check(not diffed.is_error, f"diff answers: {diffed.content[:1]}")
            check(diffed.structured_content["edges"] == [], "a capture equals itself")
            check(len(progress) >= 3, f"progress notifications: {progress}")

            with anyio.fail_after(CALL_SECONDS):
                resources = await session.list_resources()
                uris = [str(r.uri) for r in resources.resources]
                check("meshtap://capture" in uris, f"resources: {uris}")
                read_back = await session.read_resource("meshtap://capture")
                check("sampled" in read_back.contents[0].text, "the capture resource")
                prompts = await session.list_prompts()
                check(
                    {"find_errors", "latency_regression"} <= {p.name for p in prompts.prompts},
                    "prompts listed",
                )
                prompt = await session.get_prompt("find_errors", {"namespace": "sock-shop"})
                check("status>=500 ns=sock-shop" in prompt.messages[0].content.text, "a prompt")
    await tap_health(binary)
    await denials(binary)
    print("mcp_client: 3 passed, 0 failed")


async def tap_health(binary):
    """deploy/tap-disabled in the demo's `troubled` namespace: every pod carries
    viz.linkerd.io/disable-tap, so tap_health must give each that verdict, the cause and the fix."""
    args = ["mcp", "--demo", "deploy/tap-disabled", "-n", "troubled"]
    params = StdioServerParameters(command=binary, args=args)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            with anyio.fail_after(CALL_SECONDS):
                await session.initialize()
            health = None
            for _ in range(WAIT_TRIES):
                result = await call(session, "tap_health")
                check(not result.is_error, "tap_health answers")
                health = result.structured_content
                if health["targets"] and health["targets"][0]["pods"]:
                    break
                await anyio.sleep(1)
            targets = health["targets"]
            check(len(targets) == 1 and "tap-disabled" in targets[0]["target"], f"one target: {health}")
            pods = targets[0]["pods"]
            check(len(pods) > 0, f"its pods are listed: {targets[0]}")
            check(all(p["verdict"] == "tap_disabled" for p in pods), f"each pod's verdict: {pods}")
            check(
                all("viz.linkerd.io/disable-tap" in p["cause"] + p["fix"] for p in pods),
                f"the annotation is named: {pods[0]}",
            )
            check(health["needing_attention"] == 1 and targets[0]["needs_attention"], "attention")
            check("max_rps" in health["sampled"], "tap_health states sampling")


# The session reads the proxies' refusal counters every 10 s; a refusal is covered from the
# reading after it. At most this many tries, two seconds apart.
DENIAL_TRIES = 60


async def denials(binary):
    """deploy/orders in sock-shop: some of its calls to payment get a bare 403 (payment's
    AuthorizationPolicy refuses /paymentRefund). get_request's explain on one must say what
    payment's proxy counted: how many, since when, the Server and the route."""
    args = ["mcp", "--demo", "deploy/orders", "-n", "sock-shop"]
    params = StdioServerParameters(command=binary, args=args)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            with anyio.fail_after(CALL_SECONDS):
                await session.initialize()
            said = None
            for _ in range(DENIAL_TRIES):
                result = await call(
                    session, "list_requests", {"filter": "status=403 dst.deploy=payment", "limit": 5}
                )
                check(not result.is_error, "list_requests answers")
                for listed in result.structured_content["requests"]:
                    one = await call(session, "get_request", {"id": listed["id"]})
                    found = [
                        s for s in one.structured_content["explain"]
                        if s["topic"] == "policy" and "payment's proxy refused" in s["text"]
                    ]
                    if found:
                        said = found[0]
                        break
                if said:
                    break
                await anyio.sleep(2)
            check(said is not None, "explain on a bare 403 says what payment's proxy counted")
            text = said["text"]
            check("since meshtap started" in text, f"over the session: {text}")
            check("Server payment-http, HTTPRoute payment-refunds" in text, f"where: {text}")
            check(
                any(c.startswith("client_id=orders.sock-shop.") for c in said["cites"]),
                f"the client's identity cited: {said['cites']}",
            )


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
