#!/bin/bash
# Build Muster's container images from Debian packages and prove deploy/compose.yaml:
# base images bootstrapped with mmdebstrap and imported into podman, the Muster and
# PostgreSQL images built on them (image builds and one-off runs with host networking), the
# stack brought up with podman-compose (runc, explicit ulimits, the project's bridge
# network: Debian's podman-compose 1.0.3 cannot run `network_mode: host` services), both
# health checks run, the bootstrap token used, a user created, the stack restarted with its
# volume (the user is still there), and torn down.
#
#   deploy/container/run.sh [BINARY]      BINARY defaults to target/release/muster
#
# Needs (Debian): apt-get install podman podman-compose runc mmdebstrap uidmap \
#                  golang-github-containernetworking-plugin-dnsname
# Environment: MIRROR (default http://deb.debian.org/debian), REBUILD_BASE=1 to bootstrap
# the base images again, MUSTER_PORT / PGPORT (default 28480 / 55482), KEEP=1 to leave the
# stack running.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/target/release/muster}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
export MUSTER_PORT=${MUSTER_PORT:-28480} PGPORT=${PGPORT:-55482}
PROJECT=muster-check
COMPOSE="podman-compose -p $PROJECT -f $ROOT/deploy/compose.yaml"
WORK=$(mktemp -d)
started=$(date +%s)

# crun refuses this kind of kernel's hybrid cgroups: every podman call, podman-compose's
# included, runs containers with runc.
printf '[engine]\nruntime = "runc"\n' > "$WORK/containers.conf"
export CONTAINERS_CONF="$WORK/containers.conf"

say() { printf '%s [%4ss] %s\n' "==>" "$(( $(date +%s) - started ))" "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
    if [ "${KEEP:-0}" != 1 ]; then
        $COMPOSE down -v >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ -x "$BIN" ] || fail "no binary at $BIN (cargo build --release --locked)"
for port in "$MUSTER_PORT" "$PGPORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        fail "port $port is in use; set MUSTER_PORT / PGPORT"
    fi
done

# 1. Base images from Debian packages (no registry needed).
base() { # NAME PACKAGES
    if [ "${REBUILD_BASE:-0}" != 1 ] && podman image exists "localhost/$1:$SUITE"; then
        say "base image localhost/$1:$SUITE exists (REBUILD_BASE=1 makes it again)"
        return
    fi
    say "mmdebstrap --variant=minbase $SUITE with $2"
    mmdebstrap --quiet --variant=minbase --include="$2" --aptopt='Acquire::Retries "3"' \
        "$SUITE" "$WORK/$1.tar" "$MIRROR"
    podman import --quiet --change 'CMD ["/bin/bash"]' "$WORK/$1.tar" "localhost/$1:$SUITE" >/dev/null
    rm -f "$WORK/$1.tar"
    say "imported localhost/$1:$SUITE"
}
base muster-base ca-certificates,curl,libssl3
base muster-postgres-base postgresql-15

# 2. The images.
mkdir -p "$WORK/ctx"
cp "$BIN" "$WORK/ctx/muster"
cp "$ROOT/deploy/container/Containerfile" "$WORK/ctx/"
podman build --quiet --network host --format docker -t localhost/muster:latest "$WORK/ctx" >/dev/null
say "built localhost/muster:latest ($(podman image inspect --format '{{.Size}}' localhost/muster:latest) bytes)"
podman build --quiet --network host --format docker -t localhost/muster-postgres:15 "$ROOT/deploy/container/postgres" >/dev/null
say "built localhost/muster-postgres:15"
podman run --rm --network host --no-healthcheck --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 localhost/muster:latest --version

# 3. The stack.
export MUSTER_IMAGE=localhost/muster:latest POSTGRES_IMAGE=localhost/muster-postgres:15
export MUSTER_BASE_URL=http://127.0.0.1:$MUSTER_PORT
POSTGRES_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
MUSTER_BOOTSTRAP_TOKEN=mst_$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
export POSTGRES_PASSWORD MUSTER_BOOTSTRAP_TOKEN
$COMPOSE down -v >/dev/null 2>&1 || true
up() {
    # Without systemd, podman cannot schedule health checks (it says so on stderr; the
    # script runs them itself below).
    $COMPOSE up -d >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "podman-compose up"; }
    i=0
    until curl -fsS "http://127.0.0.1:$MUSTER_PORT/readyz" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 120 ]; then
            podman logs "${PROJECT}_muster_1" 2>&1 | tail -20
            fail "muster not ready after 60 s"
        fi
        sleep 0.5
    done
}
up
say "stack up: muster ready on 127.0.0.1:$MUSTER_PORT"
for c in db muster; do
    podman healthcheck run "${PROJECT}_${c}_1" >/dev/null || fail "health check of $c"
    say "health check of $c: healthy"
done
limits=$(podman exec "${PROJECT}_muster_1" bash -c 'echo "nofile $(ulimit -n) nproc $(ulimit -u)"')
say "muster's limits: $limits"
[ "$limits" = "nofile 20000 nproc 4096" ] || fail "ulimits: $limits"

# 4. The bootstrap token from the environment, and a user pushed over SCIM.
whoami=$(curl -fsS -H "Authorization: Bearer $MUSTER_BOOTSTRAP_TOKEN" "http://127.0.0.1:$MUSTER_PORT/admin/v1/whoami")
say "whoami: $whoami"
case $whoami in *'"organization":"default"'*'"credential":"bootstrap"'* | *'"credential":"bootstrap"'*'"organization":"default"'*) ;; *) fail "whoami" ;; esac
podman logs "${PROJECT}_muster_1" 2>&1 | grep -q "$MUSTER_BOOTSTRAP_TOKEN" && fail "the token is in the container's log"
code=$(curl -sS -o "$WORK/user.json" -w '%{http_code}' -X POST "http://127.0.0.1:$MUSTER_PORT/scim/v2/Users" \
    -H "Authorization: Bearer $MUSTER_BOOTSTRAP_TOKEN" -H 'Content-Type: application/scim+json' \
    -d '{"userName":"container-check@example.com","active":true}')
[ "$code" = 201 ] || { cat "$WORK/user.json"; fail "SCIM create answered $code"; }
say "SCIM user created (201)"
say "the CLI in the container: $(podman exec "${PROJECT}_muster_1" muster org list 2>&1 | tr '\n' ' ')"
podman exec "${PROJECT}_muster_1" muster org list 2>&1 | grep -q "$POSTGRES_PASSWORD" && fail "the password was shown"

# 5. Down and up again: the volume keeps the data.
$COMPOSE down >/dev/null 2>&1
say "stack down (volume kept)"
up
found=$(curl -fsS -H "Authorization: Bearer $MUSTER_BOOTSTRAP_TOKEN" \
    "http://127.0.0.1:$MUSTER_PORT/scim/v2/Users?filter=userName%20eq%20%22container-check@example.com%22")
case $found in *'"totalResults":1'*) ;; *) fail "after the restart: $found" ;; esac
say "stack up again: the user is still there"
$COMPOSE down -v >/dev/null 2>&1
left=$(podman volume ls -q | grep -c "^${PROJECT}_" || true)
[ "$left" = 0 ] || fail "volumes left behind: $left"
say "stack and volume removed"
say "OK: images built, stack healthy, bootstrap token works, data survives a restart"
