#!/bin/bash
#
# Container health probe without curl: GET http://127.0.0.1:$PORT$PATH with
# bash's /dev/tcp; healthy on a 200 status line.
#   healthcheck [PATH]   (default /healthz; port from APP_APPLICATION__PORT)
set -euo pipefail

path=${1:-/healthz}
port=${APP_APPLICATION__PORT:?APP_APPLICATION__PORT is not set}

exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 3 status <&3
exec 3<&-
if [[ "$status" =~ ^HTTP/1\.[01]\ 200 ]]; then
  exit 0
fi
printf 'unhealthy: %s -> %s\n' "$path" "${status%$'\r'}" >&2
exit 1
