# syntax=docker/dockerfile:1
#
# Images of the platform, one target each, built from this one file so the
# compiled dependencies are shared:
#   docker build --target coupon-service -t coupon-platform/coupon-service .
#   docker build --target notify-service -t coupon-platform/notify-service .
#   docker build --target keygen         -t coupon-platform/keygen .
# docker-compose.yml builds all three. The runtime images are Debian slim
# with the binary, CA certificates and a curl-free health probe; they run as
# an unprivileged user (uid 10001).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# --- build -------------------------------------------------------------------

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
RUN cargo install cargo-chef --locked --version ^0.1
WORKDIR /app

# The recipe: every manifest and Cargo.lock, no sources. It changes only when
# dependencies change, so the layer below stays cached across code edits.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
# Dependencies only (the cached layer).
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
# SQL migrations are embedded at compile time (sqlx::migrate!); no database
# is needed to build. Debug line tables are dropped from the shipped binaries.
RUN cargo build --release --locked --bin coupon-service --bin notify-service \
    && strip --strip-debug target/release/coupon-service target/release/notify-service

# --- runtime -----------------------------------------------------------------

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY deploy/docker/healthcheck.sh /usr/local/bin/healthcheck
WORKDIR /app
# Listen on every interface of the container; JSON logs on stderr.
ENV APP_APPLICATION__HOST=0.0.0.0 \
    APP_LOG__FORMAT=json
USER 10001:10001

FROM runtime AS coupon-service
COPY --from=builder /app/target/release/coupon-service /usr/local/bin/coupon-service
ENV APP_APPLICATION__PORT=8081
EXPOSE 8081
# Ready = PostgreSQL and Redis (the issuance script) usable.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["healthcheck", "/readyz"]
ENTRYPOINT ["coupon-service"]
CMD ["serve"]

FROM runtime AS notify-service
COPY --from=builder /app/target/release/notify-service /usr/local/bin/notify-service
ENV APP_APPLICATION__PORT=8082
EXPOSE 8082
# Ready = Redis answers, the fan-out subscription and the consumer run.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["healthcheck", "/readyz"]
# SIGTERM starts its ordered shutdown (stop consuming, close sockets with 1001).
STOPSIGNAL SIGTERM
ENTRYPOINT ["notify-service"]

# One-shot: the token signing key pair and the gateway's self-signed
# certificate, into volumes, made once (docker-compose.yml).
FROM debian:${DEBIAN_RELEASE}-slim AS keygen
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssl \
    && rm -rf /var/lib/apt/lists/*
COPY deploy/docker/keygen.sh /usr/local/bin/keygen
ENTRYPOINT ["keygen"]
