"""Schemathesis hooks for `scripts/dev fuzz`: the hostile client's rules.

Loaded by schemathesis (SCHEMATHESIS_HOOKS). On import it signs in the demo
user and the demo admin and prepares a live event and one coupon, so that
generated requests reach the handlers with valid tokens and, some of the
time, with ids and codes that exist (random ids alone would only ever meet
404).

Checks, on every response:
- `not_a_server_error` (built in): no 5xx;
- `error_envelope` (here): every 4xx/5xx body is
  {"error": {"code": "<snake_case>", "message": "<text>"}}.

Environment: FUZZ_BASE_URL (the gateway), FUZZ_CA_CERT (its certificate),
FUZZ_USER_EMAIL / FUZZ_USER_PASSWORD, FUZZ_ADMIN_EMAIL / FUZZ_ADMIN_PASSWORD.
"""

import atexit
import collections
import datetime
import ipaddress
import os
import re
import time

import requests
import schemathesis
from hypothesis import strategies as st

BASE_URL = os.environ["FUZZ_BASE_URL"].rstrip("/")
CA_CERT = os.environ["FUZZ_CA_CERT"]
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

# The local gateway's peer is loopback, which the service trusts as a proxy,
# so it keys its per-address limits on the nearest X-Forwarded-For hop. Each
# request gets an address of its own from TEST-NET-2 / TEST-NET-3: the crowd
# a real gateway would see, instead of one address that the sign-in limit
# (a few per minute) turns into 429 after the first cases.
_CROWD = [ipaddress.ip_network("198.51.100.0/24"), ipaddress.ip_network("203.0.113.0/24")]
_next_address = 0


def crowd_address() -> str:
    global _next_address
    _next_address += 1
    net = _CROWD[_next_address % 2]
    return str(net[1 + (_next_address // 2) % 254])


def _call(method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    """One setup request; waits out a 429 (the sign-in limit) a few times."""
    headers = {"X-Forwarded-For": crowd_address()}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for _ in range(10):
        response = requests.request(
            method, BASE_URL + path, headers=headers, verify=CA_CERT, timeout=10, **kwargs
        )
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After", "2")))
    return response


def _expect(response: requests.Response, status: int, what: str) -> dict:
    if response.status_code != status:
        raise SystemExit(
            f"fuzz setup: {what} answered {response.status_code}, expected {status}: {response.text[:300]}"
        )
    return response.json()


def _login(email_var: str, password_var: str) -> str:
    body = {"email": os.environ[email_var], "password": os.environ[password_var]}
    pair = _expect(_call("POST", "/api/auth/login", json=body), 200, f"login as {body['email']}")
    return pair["access_token"]


def _setup() -> dict:
    user = _login("FUZZ_USER_EMAIL", "FUZZ_USER_PASSWORD")
    admin = _login("FUZZ_ADMIN_EMAIL", "FUZZ_ADMIN_PASSWORD")
    now = datetime.datetime.now(datetime.timezone.utc)
    event = _expect(
        _call(
            "POST",
            "/api/admin/events",
            admin,
            json={
                "title": "Fuzzing target",
                "description": "Created by scripts/dev fuzz; ends within the hour.",
                "total_count": 100_000,
                "max_per_user": 1_000,
                "start_time": (now - datetime.timedelta(minutes=1)).isoformat(),
                "end_time": (now + datetime.timedelta(hours=1)).isoformat(),
                "discount_type": "percentage",
                "discount_value": 10,
                "min_purchase_amount": 0,
                "valid_days": 1,
                "code_prefix": "FUZZ",
            },
        ),
        201,
        "creating the fuzzing event",
    )
    issued = _expect(
        _call("POST", "/api/coupons/issue", user, json={"event_id": event["id"]}),
        201,
        "issuing a coupon of the fuzzing event",
    )
    return {
        "user": user,
        "admin": admin,
        "event_id": event["id"],
        "code": issued["coupon"]["code"],
    }


FIXTURE = _setup()


def _operation(case_or_context):
    return case_or_context.operation


def _secured(operation) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("security"))


@schemathesis.auth(refresh_interval=None, retry_on=[])
class Tokens:
    """The admin token on /api/admin, the user's token everywhere else; only
    on operations the document says need one."""

    def get(self, case, ctx):
        if ctx.operation.path.startswith("/api/admin"):
            return FIXTURE["admin"]
        return FIXTURE["user"]

    def set(self, case, data, ctx):
        if _secured(ctx.operation):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


_extreme_turn = 0


def _integer_query_params(operation) -> list:
    def is_integer(schema) -> bool:
        # OpenAPI 3.1 writes an optional integer as ["integer", "null"].
        kind = schema.get("type")
        return kind == "integer" or (isinstance(kind, list) and "integer" in kind)

    return [
        p["name"]
        for p in operation.definition.raw.get("parameters", [])
        if p.get("in") == "query" and is_integer(p.get("schema", {}))
    ]


@schemathesis.hook
def before_call(context, case, kwargs):
    global _extreme_turn
    case.headers = {**(case.headers or {}), "X-Forwarded-For": crowd_address()}
    # Every third request with integer query parameters sets one of them to
    # an extreme, in turn (generation alone rarely reaches them).
    names = _integer_query_params(case.operation)
    if names:
        _extreme_turn += 1
        if _extreme_turn % 3 == 0:
            i = _extreme_turn // 3
            name = names[i % len(names)]
            extreme = _EXTREMES[(i // len(names)) % len(_EXTREMES)]
            case.query = {**(case.query or {}), name: extreme}


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, the id or code of something that exists."""
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    known = dict(path_parameters)
    if "id" in known:
        known["id"] = FIXTURE["event_id"]
    if "code" in known:
        known["code"] = FIXTURE["code"]
    return st.sampled_from([path_parameters, known])


# The numbers a hostile client tries first: the ends of the integer types the
# service parses into, and the sums and products that overflow near them.
_EXTREMES = [0, -1, 2**31 - 1, 2**31, 2**53, 2**63 - 1, -(2**63)]


@schemathesis.hook
def flatmap_body(context, body):
    """Issue requests: half the time for the live fuzzing event."""
    if context.operation.path != "/api/coupons/issue" or not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body, {**body, "event_id": FIXTURE["event_id"]}])


# Requests sent per operation and status: printed when the run ends.
_SENT = collections.defaultdict(collections.Counter)


@schemathesis.hook
def after_call(context, case, response):
    _SENT[(case.operation.method.upper(), case.operation.path)][response.status_code] += 1


@atexit.register
def _print_counts():
    if not _SENT:
        return
    print("\nRequests per operation (status: count):")
    for (method, path), statuses in sorted(_SENT.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        detail = "  ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        print(f"  {method:<6} {path:<36} {sum(statuses.values()):>5}   {detail}")
    total = sum(sum(c.values()) for c in _SENT.values())
    errors = sum(n for c in _SENT.values() for s, n in c.items() if s >= 500)
    print(f"  {len(_SENT)} operations, {total} requests, {errors} answered 5xx")


@schemathesis.check
def error_envelope(ctx, response, case):
    """Every error answers in the API's envelope, whoever produced it."""
    if response.status_code < 400:
        return None
    where = f"{response.status_code} body"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{where} is not JSON: {response.text[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise AssertionError(f"{where} has no \"error\" object: {body!r:.200}")
    code = error.get("code")
    if not isinstance(code, str) or not SNAKE_CASE.match(code):
        raise AssertionError(f"{where}: error.code is not a snake_case string: {code!r}")
    message = error.get("message")
    if not isinstance(message, str) or not message:
        raise AssertionError(f"{where}: error.message is not a non-empty string: {message!r}")
    return None
