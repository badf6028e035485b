# syntax=docker/dockerfile:1
#
# repair-bot in a container: built from this checkout with the locked dependencies, run as an
# unprivileged user; the database, its backups and the lock live on the volume /data.
#
#   docker build -t repair-bot .
#   docker run -d --name repair-bot --env-file .env -v repair-bot-data:/data repair-bot
#   docker exec repair-bot repair-bot health        # what the HEALTHCHECK runs
#   docker run --rm -v repair-bot-data:/data repair-bot migrate status
#
# deploy/compose.yaml does the same with Docker Compose. The stop signal is SIGTERM and the
# bot needs up to about 20 s to stop: give it `docker stop -t 40` (compose: stop_grace_period).

ARG RUST_VERSION=1.95
# The build and the runtime use the same Debian release: the binary links its glibc.
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
# Extra cargo features, space-separated. The build leaves out the default `sandbox` feature
# (the fake Telegram and `repair-bot sandbox`, which only a checkout needs).
ARG CARGO_FEATURES=""
WORKDIR /src
# Only what the build reads (see .dockerignore); the benches are declared in Cargo.toml.
COPY Cargo.toml Cargo.lock build.rs ./
COPY migrations migrations
COPY benches benches
COPY src src
# The caches keep downloaded crates and compiled dependencies between builds of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --no-default-features ${CARGO_FEATURES:+--features "$CARGO_FEATURES"} \
    && cp target/release/repair-bot /usr/local/bin/repair-bot \
    && strip /usr/local/bin/repair-bot

FROM debian:${DEBIAN_RELEASE}-slim
# Tools BACKUP_COPY_COMMAND needs, e.g. "rsync openssh-client" or "rclone" (empty: none;
# `sh` and `cp` are always there). The Telegram client carries its own CA roots.
ARG RUNTIME_PACKAGES=""
# hadolint ignore=DL3008,SC2086
RUN if [ -n "$RUNTIME_PACKAGES" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends $RUNTIME_PACKAGES \
        && rm -rf /var/lib/apt/lists/*; \
    fi
RUN groupadd --system --gid 10001 repair-bot \
    && useradd --system --uid 10001 --gid repair-bot --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin repair-bot \
    && mkdir /data \
    && chown repair-bot:repair-bot /data
COPY --from=build /usr/local/bin/repair-bot /usr/local/bin/repair-bot

# By number: Kubernetes' runAsNonRoot and the host's view of the files see the same user.
USER 10001:10001
# The bot reads .env from its working folder too: a /data/.env works as well as --env-file.
WORKDIR /data
ENV DATABASE_URL=/data/bot_database.db \
    BACKUP_DIR=/data/backup \
    RUST_LOG=info
# A named volume starts with this folder's owner (uid 10001); a host folder mounted here must
# belong to that uid: `chown -R 10001:10001 FOLDER`.
VOLUME ["/data"]

# Read-only checks: database migrated, getUpdates recent, outbox backlog, backup age and its
# off-machine copy (see README, "Health and metrics"). The start period covers the first
# start of an upgrade (backup and migrations) and the first getUpdates.
HEALTHCHECK --interval=60s --timeout=20s --start-period=180s --retries=3 \
    CMD ["repair-bot", "health"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["repair-bot"]
