"""A crowd of signed-in buyers for the multi-host run (scripts/multihost).

Each user keeps a WebSocket open through the gateway and presses "issue"
every few hundred milliseconds for the run's length. When its socket is
closed (its notify-service host was cut off) it reconnects, through the
gateway, to a live host and sends `resume` with the last `seq` it saw.
At the end every coupon a user won (a 201) must have reached the user over
the socket, live or replayed: no push lost across the cut.

Prints one JSON summary; exits 1 when a won coupon was never pushed.
"""

import argparse
import asyncio
import collections
import json
import sys
import time

import httpx
import websockets


class User:
    def __init__(self, token):
        self.token = token
        self.won = set()
        self.won_at = []
        self.won_order = []
        self.resume_retries = 0
        self.pushed = set()
        self.last_seq = None
        self.reconnects = 0
        self.resumes = []


async def socket_loop(user, ws_url, stop):
    """Holds the user's socket until `stop`, reconnecting and resuming."""
    headers = {"Authorization": f"Bearer {user.token}"}
    first = True
    while not stop.is_set():
        try:
            async with websockets.connect(
                ws_url, additional_headers=headers, open_timeout=5, ping_interval=None
            ) as ws:
                welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert welcome["type"] == "welcome", welcome
                # As the web page does (web/src/lib/push.ts): resume from
                # the last seq, and ask again from the same point while the
                # history is unavailable (a Redis failover under way).
                pending = None
                if not first:
                    user.reconnects += 1
                    if user.last_seq is not None:
                        pending = user.last_seq
                        await ws.send(json.dumps({"type": "resume", "since": pending}))
                first = False
                while True:
                    frame = json.loads(await ws.recv())
                    kind = frame.get("type")
                    if kind == "coupon.issued":
                        user.pushed.add(frame["data"]["couponId"])
                        user.last_seq = frame["seq"]
                    elif kind == "resumed":
                        pending = None
                        user.resumes.append(frame.get("recovered"))
                    elif kind == "error" and frame.get("code") == "unavailable" and pending:
                        user.resume_retries += 1
                        await asyncio.sleep(1)
                        await ws.send(json.dumps({"type": "resume", "since": pending}))
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException):
            if stop.is_set():
                return
            await asyncio.sleep(0.5)


async def press_loop(user, http, api, event_id, until, outcomes):
    while time.monotonic() < until:
        try:
            r = await http.post(
                f"{api}/api/coupons/issue",
                json={"event_id": event_id},
                headers={"Authorization": f"Bearer {user.token}"},
            )
            try:
                body = r.json()
            except ValueError:
                body = {}  # the gateway's own page (502/504 while a host is gone)
            code = body.get("error", {}).get("code", "") if r.status_code != 201 else ""
            outcomes[f"{r.status_code} {code}".strip()] += 1
            if r.status_code == 201:
                user.won.add(body["coupon"]["id"])
                user.won_order.append(body["coupon"]["id"])
                user.won_at.append(time.monotonic())
        except httpx.HTTPError as e:
            outcomes[f"error {type(e).__name__}"] += 1
        await asyncio.sleep(0.3)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--ws", required=True)
    p.add_argument("--tokens", required=True, help="one access token per line")
    p.add_argument("--event", type=int, required=True)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--settle", type=float, default=20, help="wait for late pushes")
    args = p.parse_args()

    users = [User(t.strip()) for t in open(args.tokens) if t.strip()]
    stop = asyncio.Event()
    sockets = [asyncio.create_task(socket_loop(u, args.ws, stop)) for u in users]
    await asyncio.sleep(2)  # every socket open before the first press
    outcomes = collections.Counter()
    limits = httpx.Limits(max_connections=len(users), max_keepalive_connections=len(users))
    async with httpx.AsyncClient(timeout=20, limits=limits) as http:
        until = time.monotonic() + args.seconds
        last_stretch = until - 5
        await asyncio.gather(
            *(press_loop(u, http, args.api, args.event, until, outcomes) for u in users)
        )
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline and any(u.won - u.pushed for u in users):
        await asyncio.sleep(0.5)
    stop.set()
    for task in sockets:
        task.cancel()
    await asyncio.gather(*sockets, return_exceptions=True)

    missing = sum(len(u.won - u.pushed) for u in users)
    started = until - args.seconds
    # Which wins never arrived, and when they were won (s into the sale):
    # whether they cluster around the cut tells what lost them.
    missing_wins = [
        {"user": i, "coupon": c, "won_at_s": round(t - started, 2)}
        for i, u in enumerate(users)
        for c, t in zip(u.won_order, u.won_at)
        if c not in u.pushed
    ]
    summary = {
        "users": len(users),
        "outcomes": dict(outcomes),
        "won": sum(len(u.won) for u in users),
        "won_in_last_5s": sum(t >= last_stretch for u in users for t in u.won_at),
        "pushed_of_won": sum(len(u.won & u.pushed) for u in users),
        "missing_pushes": missing,
        "reconnects": sum(u.reconnects for u in users),
        "resumes_recovered": sum(r is True for u in users for r in u.resumes),
        "resumes_lost_history": sum(r is False for u in users for r in u.resumes),
        "resumes_retried": sum(u.resume_retries for u in users),
        "missing_wins": missing_wins,
    }
    print(json.dumps(summary))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
