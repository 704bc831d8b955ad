#!/bin/bash
#
# One-shot set-up of the secrets docker-compose.yml needs, each made only if
# missing (so restarts keep them):
#   /keys/access-ed25519.pem, .pub.pem  Ed25519 pair: coupon-service signs access
#                                       tokens, both services verify them
#   /tls/gateway.crt, gateway.key       self-signed certificate for nginx
#                                       (SAN: localhost, 127.0.0.1, $TLS_HOSTNAME)
# Replace /tls with a real certificate for anything but local use.
set -euo pipefail

KEYS=${KEYS_DIR:-/keys}
TLS=${TLS_DIR:-/tls}
APP_UID=${APP_UID:-10001}
HOSTNAME_SAN=${TLS_HOSTNAME:-localhost}

mkdir -p "$KEYS" "$TLS"

if [[ ! -s "$KEYS/access-ed25519.pem" ]]; then
  echo "keygen: new token signing key $KEYS/access-ed25519.pem"
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$KEYS/access-ed25519.pem")
  rm -f "$KEYS/access-ed25519.pub.pem"
fi
if [[ ! -s "$KEYS/access-ed25519.pub.pem" ]]; then
  openssl pkey -in "$KEYS/access-ed25519.pem" -pubout -out "$KEYS/access-ed25519.pub.pem"
fi
# The services run as APP_UID; only they read the private key.
chown "$APP_UID:$APP_UID" "$KEYS/access-ed25519.pem" "$KEYS/access-ed25519.pub.pem"
chmod 600 "$KEYS/access-ed25519.pem"
chmod 644 "$KEYS/access-ed25519.pub.pem"

if [[ ! -s "$TLS/gateway.crt" || ! -s "$TLS/gateway.key" ]] ||
  ! openssl x509 -checkend 86400 -noout -in "$TLS/gateway.crt" >/dev/null; then
  echo "keygen: new self-signed certificate $TLS/gateway.crt for $HOSTNAME_SAN"
  config=$(mktemp)
  cat >"$config" <<CONF
[req]
distinguished_name = dn
x509_extensions = leaf
prompt = no
[dn]
CN = ${HOSTNAME_SAN}
O = coupon platform (self-signed)
[leaf]
subjectAltName = DNS:${HOSTNAME_SAN}, DNS:localhost, IP:127.0.0.1, IP:::1
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
CONF
  (umask 077 && openssl req -x509 -config "$config" -newkey ec \
    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -keyout "$TLS/gateway.key" -out "$TLS/gateway.crt")
  rm -f "$config"
  chmod 644 "$TLS/gateway.crt"
fi
echo "keygen: done"
