# shellcheck shell=bash
#
# Static checks of the deployment files (docker-compose.yml, Dockerfile,
# deploy/): there is no Docker engine or Kubernetes cluster in CI, so these
# are what keeps them true.  Sourced by scripts/dev after services.sh.

if [[ -n "${_DEPLOY_SH_LOADED:-}" ]]; then
  return 0
fi
_DEPLOY_SH_LOADED=1

# Set by ensure_python_yaml: a python3 that can `import yaml`.
PYTHON_YAML=""

python_has_yaml() {
  "$1" -c 'import yaml' >/dev/null 2>&1
}

# ensure_python_yaml: finds (or installs) a Python 3 with PyYAML.  The first
# python3 on PATH may be a pyenv/venv one without it; Debian's
# /usr/bin/python3 gets it from the python3-yaml package.
ensure_python_yaml() {
  local candidate
  for candidate in "$(command -v python3 2>/dev/null || true)" /usr/bin/python3; do
    if [[ -n "$candidate" && -x "$candidate" ]] && python_has_yaml "$candidate"; then
      PYTHON_YAML=$candidate
      return 0
    fi
  done
  if is_root && command -v apt-get >/dev/null 2>&1; then
    apt_install python3 python3-yaml
    if python_has_yaml /usr/bin/python3; then
      PYTHON_YAML=/usr/bin/python3
      return 0
    fi
  fi
  candidate=$(command -v python3 2>/dev/null || true)
  if [[ -n "$candidate" ]] && "$candidate" -m pip install --user -q pyyaml >/dev/null 2>&1 &&
    python_has_yaml "$candidate"; then
    PYTHON_YAML=$candidate
    return 0
  fi
  die "PyYAML is missing: install python3-yaml (apt) or pyyaml (pip)"
}

# Schema validators from PyPI, pinned, in a cached virtualenv (outside the
# work tree, so a fresh clone on the same machine reuses it):
#   check-jsonschema   docker-compose.yml against the Compose Specification
#   kubernetes-validate deploy/k8s against the Kubernetes API schemas (strict:
#                      unknown fields are errors)
SCHEMA_TOOLS=("check-jsonschema==0.39.0" "kubernetes-validate==1.37.0")
SCHEMA_VENV=${SCHEMA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/coupon-platform/deploy-schemas}
# The Kubernetes version the manifests must be valid for.
K8S_VERSION=1.31

# ensure_schema_tools: true when the validators are usable (installing them
# on first use); false, with a warning, when PyPI cannot be reached.
ensure_schema_tools() {
  local stamp="$SCHEMA_VENV/.installed" wanted="${SCHEMA_TOOLS[*]}"
  if [[ -x "$SCHEMA_VENV/bin/check-jsonschema" && -x "$SCHEMA_VENV/bin/kubernetes-validate" &&
    "$(cat "$stamp" 2>/dev/null)" == "$wanted" ]]; then
    return 0
  fi
  log "installing schema validators into $SCHEMA_VENV (${SCHEMA_TOOLS[*]})"
  rm -rf -- "$SCHEMA_VENV"
  mkdir -p "$(dirname -- "$SCHEMA_VENV")"
  if ! "$PYTHON_YAML" -m venv "$SCHEMA_VENV" >/dev/null 2>&1 &&
    ! { is_root && apt_install python3-venv >/dev/null && /usr/bin/python3 -m venv "$SCHEMA_VENV"; }; then
    warn "cannot create a Python virtualenv; skipping the schema validation"
    return 1
  fi
  if ! "$SCHEMA_VENV/bin/pip" install -q --disable-pip-version-check "${SCHEMA_TOOLS[@]}" >/dev/null 2>&1; then
    warn "pip could not install ${SCHEMA_TOOLS[*]}; skipping the schema validation"
    rm -rf -- "$SCHEMA_VENV"
    return 1
  fi
  printf '%s' "$wanted" >"$stamp"
}

# check_deploy_schemas: docker-compose.yml against the Compose Specification,
# every Kubernetes manifest against the API schemas of K8S_VERSION.
check_deploy_schemas() {
  ensure_schema_tools || return 0
  "$SCHEMA_VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml >/dev/null ||
    die "docker-compose.yml does not follow the Compose Specification (see above)"
  log "docker-compose.yml: valid (Compose Specification)"
  local manifests=()
  local resource
  while IFS= read -r resource; do
    manifests+=("deploy/k8s/$resource")
  done < <("$PYTHON_YAML" -c 'import sys, yaml; print("\n".join(yaml.safe_load(open(sys.argv[1]))["resources"]))' deploy/k8s/kustomization.yaml)
  manifests+=(deploy/k8s/secrets.example.yaml)
  "$SCHEMA_VENV/bin/kubernetes-validate" -k "$K8S_VERSION" --strict --quiet "${manifests[@]}" ||
    die "deploy/k8s does not validate against the Kubernetes $K8S_VERSION schemas (see above)"
  log "deploy/k8s: ${#manifests[@]} files valid (Kubernetes $K8S_VERSION, strict)"
}

# check_deploy_files: the compose/Dockerfile/k8s cross-check, its self-test
# (each of a set of deliberate breaks must be caught), the schema
# validation, and `kubectl kustomize` when kubectl is installed.
check_deploy_files() {
  ensure_python_yaml
  "$PYTHON_YAML" scripts/lib/check_deploy.py --self-test >/dev/null ||
    "$PYTHON_YAML" scripts/lib/check_deploy.py --self-test ||
    die "the deploy check's self-test failed"
  "$PYTHON_YAML" scripts/lib/check_deploy.py || die "docker-compose.yml / Dockerfile / deploy/ disagree (see above)"
  check_deploy_schemas
  # The scripts that start, check and build all of this.
  ensure_tool shellcheck shellcheck
  shellcheck -x scripts/dev scripts/bench scripts/multihost/run scripts/lib/*.sh deploy/docker/*.sh ||
    die "shellcheck found problems in the scripts (see above)"
  log "shellcheck scripts/dev scripts/bench scripts/multihost scripts/lib deploy/docker: ok"
  if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize deploy/k8s >/dev/null || die "kubectl kustomize deploy/k8s failed"
    log "kubectl kustomize deploy/k8s: ok"
  fi
}
