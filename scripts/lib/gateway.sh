# shellcheck shell=bash
#
# The local nginx gateway: renders nginx/*.template into a prefix directory,
# makes a self-signed certificate, checks the result with `nginx -t`, starts
# and stops nginx.  Sourced by scripts/dev after scripts/lib/services.sh (it
# uses log/warn/die/apt_install/ensure_tool from there); expects the caller to
# run with `set -euo pipefail` from the repository root.
#
# The templates use ${GATEWAY_*} placeholders only, rendered with envsubst
# restricted to those names, exactly like the official nginx image does in
# docker-compose.yml (NGINX_ENVSUBST_FILTER=^GATEWAY_).  A placeholder
# without a value is an error here, never an empty string.

if [[ -n "${_GATEWAY_SH_LOADED:-}" ]]; then
  return 0
fi
_GATEWAY_SH_LOADED=1

GATEWAY_TEMPLATE_DIR=nginx

# nginx_bin: prints the nginx executable (Debian installs it in /usr/sbin,
# which is not on an ordinary user's PATH).
nginx_bin() {
  local candidate
  if candidate=$(command -v nginx 2>/dev/null); then
    printf '%s' "$candidate"
    return 0
  fi
  for candidate in /usr/sbin/nginx /usr/local/sbin/nginx /usr/local/nginx/sbin/nginx; do
    if [[ -x "$candidate" ]]; then
      printf '%s' "$candidate"
      return 0
    fi
  done
  return 1
}

# ensure_nginx: installs nginx with apt when missing (root), else says how.
# Debian's package may also start the system nginx on port 80; ours is a
# separate process with its own prefix and never touches that one.
ensure_nginx() {
  if ! nginx_bin >/dev/null; then
    apt_install nginx
  fi
  nginx_bin >/dev/null || die "nginx still not found after installing it"
}

# ensure_gateway_tools: everything rendering and running the gateway needs.
ensure_gateway_tools() {
  ensure_nginx
  ensure_tool envsubst gettext-base
  ensure_tool openssl openssl
}

# ensure_tls_cert CERT KEY: a self-signed certificate for localhost,
# 127.0.0.1 and ::1, made when missing or about to expire.  It is a leaf
# (CA:FALSE, serverAuth), so clients can trust exactly this certificate:
#   curl --cacert CERT https://localhost:8443/...
ensure_tls_cert() {
  local cert=$1 key=$2
  if [[ -f "$cert" && -f "$key" ]] &&
    openssl x509 -checkend 86400 -noout -in "$cert" >/dev/null 2>&1; then
    return 0
  fi
  mkdir -p "$(dirname -- "$cert")" "$(dirname -- "$key")"
  log "generating a self-signed TLS certificate: $cert"
  local config
  config=$(mktemp)
  cat >"$config" <<'EOF'
[req]
distinguished_name = dn
x509_extensions = leaf
prompt = no
[dn]
CN = localhost
O = coupon platform (local)
[leaf]
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
EOF
  # umask: the private key is never briefly world-readable.
  if ! (umask 077 && openssl req -x509 -config "$config" -newkey ec \
    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -keyout "$key" -out "$cert" >/dev/null 2>&1); then
    rm -f "$config"
    die "openssl could not create $cert"
  fi
  rm -f "$config"
  chmod 644 "$cert"
}

# render_template SRC DEST NAME=VALUE...: substitutes the ${GATEWAY_*}
# placeholders of SRC with the given values; dies naming any not given.
render_template() {
  local src=$1 dest=$2
  shift 2
  local names name pair missing=() list=""
  # shellcheck disable=SC2016  # literal ${...}: the placeholders themselves
  names=$(grep -o '\${GATEWAY_[A-Z0-9_]*}' "$src" | sort -u | tr -d '${}' || true)
  for name in $names; do
    local found=0
    for pair in "$@"; do
      [[ "${pair%%=*}" == "$name" ]] && found=1
    done
    ((found)) || missing+=("$name")
    list+="\${$name} "
  done
  if ((${#missing[@]})); then
    die "rendering $src: no value for ${missing[*]}"
  fi
  env "$@" envsubst "$list" <"$src" >"$dest"
}

# render_gateway PREFIX NAME=VALUE...: nginx.conf + gateway.conf + mime.types
# in PREFIX, with logs/ and tmp/ beside them.
render_gateway() {
  local prefix=$1
  shift
  mkdir -p "$prefix/logs" "$prefix/tmp"
  render_template "$GATEWAY_TEMPLATE_DIR/nginx.conf.template" "$prefix/nginx.conf" "$@"
  render_template "$GATEWAY_TEMPLATE_DIR/gateway.conf.template" "$prefix/gateway.conf" "$@"
  cp "$GATEWAY_TEMPLATE_DIR/mime.types" "$prefix/mime.types"
}

# nginx_in PREFIX ARGS...: runs nginx on the configuration in PREFIX.
# -e: the error log before the configuration is read (the compiled-in one,
# e.g. /var/log/nginx/error.log, may not be writable).
nginx_in() {
  local prefix=$1
  shift
  local abs
  abs=$(cd -- "$prefix" && pwd -P)
  "$(nginx_bin)" -p "$abs/" -c "$abs/nginx.conf" -e "$abs/logs/error.log" "$@"
}

# gateway_config_test PREFIX: `nginx -t`; prints nginx's verdict.
gateway_config_test() {
  nginx_in "$1" -t -q
}

# check_gateway_config: renders the templates with throwaway values (ports,
# a fresh certificate) into a temporary prefix and runs `nginx -t` on them.
check_gateway_config() {
  local dir status=0
  dir=$(mktemp -d)
  {
    ensure_tls_cert "$dir/tls/gateway.crt" "$dir/tls/gateway.key" >/dev/null &&
      render_gateway "$dir/nginx" \
        GATEWAY_LISTEN=127.0.0.1:18443 GATEWAY_SERVER_NAME=localhost \
        GATEWAY_TLS_CERT="$dir/tls/gateway.crt" GATEWAY_TLS_KEY="$dir/tls/gateway.key" \
        GATEWAY_COUPON_1=127.0.0.1:18081 GATEWAY_COUPON_2=127.0.0.1:18083 \
        GATEWAY_NOTIFY_1=127.0.0.1:18082 GATEWAY_NOTIFY_2=127.0.0.1:18084 \
        GATEWAY_ISSUE_RATE=20r/s GATEWAY_ISSUE_BURST=40 GATEWAY_WS_CONN_PER_IP=100 \
        GATEWAY_EVENTS_RATE=10r/s GATEWAY_EVENTS_BURST=50 \
        GATEWAY_WEB_ROOT="$dir/web" GATEWAY_ACCESS_LOG=logs/access.log \
        GATEWAY_ERROR_LOG=logs/error.log GATEWAY_WORKERS=1 &&
      gateway_config_test "$dir/nginx"
  } || status=$?
  rm -rf -- "$dir"
  ((status == 0)) || die "nginx -t failed on the rendered gateway configuration"
  log "nginx -t: ok ($("$(nginx_bin)" -v 2>&1 | sed 's/.*version: //'))"
}

# gateway_pid PREFIX: the master's pid from its pid file (empty if none).
gateway_pid() {
  local f="$1/logs/nginx.pid"
  if [[ -f "$f" ]]; then
    head -n 1 "$f"
  fi
}

# start_gateway PREFIX: starts nginx (it daemonizes; the master's pid lands in
# PREFIX/logs/nginx.pid).
start_gateway() {
  local prefix=$1 pid i
  gateway_config_test "$prefix" || die "nginx -t failed on $prefix/nginx.conf"
  rm -f "$prefix/logs/nginx.pid"
  # 9>&-: nginx must not inherit (and so hold) the .run lock of scripts/dev.
  nginx_in "$prefix" 9>&- || die "nginx did not start (see $prefix/logs/error.log)"
  for ((i = 0; i < 50; i++)); do
    pid=$(gateway_pid "$prefix")
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  die "nginx wrote no pid file (see $prefix/logs/error.log)"
}
