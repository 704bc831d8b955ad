# shellcheck shell=bash
#
# A real Redis Cluster on loopback for the tests and `REDIS_MODE=cluster
# scripts/dev up`: three primaries and three replicas (ports 7001-7006),
# made with `redis-cli --cluster create`. Sourced by scripts/dev after
# services.sh; idempotent like the other ensure_* helpers.
#
# Like the single Redis it keeps nothing on disk: a cluster that lost a
# node's data heals the way production does (replica promotion, then
# coupon-service rebuilding events from PostgreSQL).

REDIS_CLUSTER_HOST=127.0.0.1
REDIS_CLUSTER_PORTS=(7001 7002 7003 7004 7005 7006)
REDIS_CLUSTER_DIR=${REDIS_CLUSTER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/coupon-platform/redis-cluster}
# A primary that stops answering for this long is failed over to its
# replica: short, so the failover test finishes quickly.
REDIS_CLUSTER_NODE_TIMEOUT_MS=${REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}

# The seed nodes as the services take them (REDIS_NODES / APP_REDIS__NODES).
redis_cluster_nodes() {
  local port nodes=()
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    nodes+=("redis://${REDIS_CLUSTER_HOST}:${port}")
  done
  local IFS=,
  printf '%s' "${nodes[*]}"
}

redis_cluster_node_up() {
  redis-cli -h "$REDIS_CLUSTER_HOST" -p "$1" ping 2>/dev/null | grep -q PONG
}

redis_cluster_ok() {
  local port
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    redis_cluster_node_up "$port" || return 1
    redis-cli -h "$REDIS_CLUSTER_HOST" -p "$port" cluster info 2>/dev/null |
      grep -q '^cluster_state:ok' || return 1
  done
}

start_redis_cluster_node() {
  local port=$1 dir="$REDIS_CLUSTER_DIR/$1"
  mkdir -p "$dir"
  redis-server --port "$port" --bind "$REDIS_CLUSTER_HOST" \
    --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
    --cluster-node-timeout "$REDIS_CLUSTER_NODE_TIMEOUT_MS" \
    --save '' --appendonly no --daemonize yes \
    --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
}

# ensure_redis_cluster: the six nodes run and form one healthy cluster.
ensure_redis_cluster() {
  ensure_tool redis-server redis-server
  if redis_cluster_ok; then
    log "redis cluster: up ($(redis_cluster_nodes))"
    return 0
  fi
  local port fresh=0
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    if ! redis_cluster_node_up "$port"; then
      # A node that restarts without its data must not rejoin with a stale
      # view of the slots: start it empty.
      rm -f "$REDIS_CLUSTER_DIR/$port/nodes.conf"
      start_redis_cluster_node "$port"
      fresh=1
    fi
  done
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    wait_until "redis cluster node :$port" "$SERVICE_WAIT_SECS" redis_cluster_node_up "$port"
  done
  if ! redis_cluster_ok; then
    if ((fresh == 0)) && redis-cli -h "$REDIS_CLUSTER_HOST" -p "${REDIS_CLUSTER_PORTS[0]}" cluster info |
      grep -q '^cluster_known_nodes:6'; then
      # Formed already, still converging (e.g. right after a failover).
      wait_until "redis cluster state ok" "$SERVICE_WAIT_SECS" redis_cluster_ok
    else
      # Form it anew: every node empty and unaware of the others.
      for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        redis-cli -h "$REDIS_CLUSTER_HOST" -p "$port" flushall >/dev/null 2>&1 || true
        redis-cli -h "$REDIS_CLUSTER_HOST" -p "$port" cluster reset hard >/dev/null
      done
      local addrs=()
      for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        addrs+=("$REDIS_CLUSTER_HOST:$port")
      done
      redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
      wait_until "redis cluster state ok" "$SERVICE_WAIT_SECS" redis_cluster_ok
    fi
  fi
  log "redis cluster: up ($(redis_cluster_nodes))"
}

# stop_redis_cluster: shuts every node down (its data goes with it).
stop_redis_cluster() {
  local port
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    redis-cli -h "$REDIS_CLUSTER_HOST" -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
}
