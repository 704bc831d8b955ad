# shellcheck shell=bash
#
# The hostile-client suite: property-based fuzzing of the public API from its
# own OpenAPI document (schemathesis) against the running stack, through the
# gateway. Sourced by scripts/dev after services.sh.
#
# Why through nginx and not one instance: a hostile client meets the gateway
# first (its own 413/429/503 answers must be in the API's envelope too), and
# requests spread over both instances. nginx's per-address limit on the issue
# endpoint would turn most issue cases into 429: scripts/fuzz/schemathesis.toml
# paces that operation (and redeem, limited per user) under the limits instead.

if [[ -n "${_FUZZ_API_SH_LOADED:-}" ]]; then
  return 0
fi
_FUZZ_API_SH_LOADED=1

FUZZ_DIR=scripts/fuzz
# Outside the work tree, like the deploy schema tools: a fresh clone on the
# same machine reuses it.
FUZZ_VENV=${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/coupon-platform/api-fuzz}
FUZZ_REPORT_DIR=${FUZZ_REPORT_DIR:-.run/fuzz}
# Fixed, so CI generates the same cases on every run (a failure reproduces);
# FUZZ_SEED=<n> explores elsewhere.
FUZZ_SEED=${FUZZ_SEED:-20261206}
# Cases per operation in the fuzzing phase (the coverage phase adds its
# boundary and negative cases on top).
FUZZ_MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-60}

# ensure_fuzz_tools: schemathesis and its dependencies, pinned, in a venv
# (reinstalled when scripts/fuzz/requirements.txt changes).
ensure_fuzz_tools() {
  local stamp="$FUZZ_VENV/.requirements" wanted
  wanted=$(sha256sum "$FUZZ_DIR/requirements.txt" | cut -d' ' -f1)
  if [[ -x "$FUZZ_VENV/bin/schemathesis" && "$(cat "$stamp" 2>/dev/null)" == "$wanted" ]]; then
    return 0
  fi
  local python
  python=$(command -v python3 2>/dev/null) || die "python3 (3.10 or later) is needed for the API fuzzing"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    die "schemathesis needs Python 3.10 or later ($python is $("$python" --version 2>&1))"
  log "installing schemathesis into $FUZZ_VENV ($FUZZ_DIR/requirements.txt)"
  rm -rf -- "$FUZZ_VENV"
  mkdir -p "$(dirname -- "$FUZZ_VENV")"
  if ! "$python" -m venv "$FUZZ_VENV" >/dev/null 2>&1; then
    is_root && apt_install python3-venv >/dev/null
    /usr/bin/python3 -m venv "$FUZZ_VENV" || die "cannot create a Python virtualenv at $FUZZ_VENV"
  fi
  "$FUZZ_VENV/bin/pip" install -q --disable-pip-version-check -r "$FUZZ_DIR/requirements.txt" ||
    die "pip could not install $FUZZ_DIR/requirements.txt"
  printf '%s' "$wanted" >"$stamp"
}

# run_api_fuzz BASE_URL CA_CERT: fuzzes every operation of BASE_URL's
# /api/openapi.json; non-zero on any 5xx, bad error envelope or other check
# failure. The demo accounts of `coupon-service seed-demo` sign in (override
# with DEMO_USER_EMAIL / DEMO_USER_PASSWORD / DEMO_ADMIN_EMAIL / DEMO_ADMIN_PASSWORD).
run_api_fuzz() {
  local base_url=$1 ca_cert=$2
  ensure_fuzz_tools
  mkdir -p "$FUZZ_REPORT_DIR"
  local started=$SECONDS status=0
  FUZZ_BASE_URL=$base_url \
    FUZZ_CA_CERT=$ca_cert \
    FUZZ_USER_EMAIL=${DEMO_USER_EMAIL:-demo.user@example.com} \
    FUZZ_USER_PASSWORD=${DEMO_USER_PASSWORD:-demo-user-password} \
    FUZZ_ADMIN_EMAIL=${DEMO_ADMIN_EMAIL:-demo.admin@example.com} \
    FUZZ_ADMIN_PASSWORD=${DEMO_ADMIN_PASSWORD:-demo-admin-password} \
    SCHEMATHESIS_HOOKS="$FUZZ_DIR/hooks.py" \
    "$FUZZ_VENV/bin/schemathesis" --no-color --config-file "$FUZZ_DIR/schemathesis.toml" \
    run "$base_url/api/openapi.json" \
    --tls-verify "$ca_cert" \
    --seed "$FUZZ_SEED" \
    --max-examples "$FUZZ_MAX_EXAMPLES" \
    --report junit,ndjson --report-dir "$FUZZ_REPORT_DIR" ||
    status=$?
  log "API fuzzing took $((SECONDS - started)) s (seed $FUZZ_SEED; reports in $FUZZ_REPORT_DIR/)"
  return "$status"
}
