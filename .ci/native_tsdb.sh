#!/usr/bin/env bash
# The native TimescaleDB test tier: build TimescaleDB from the vendored tarball against Debian's
# PostgreSQL 15 into a private install tree (cached per PostgreSQL minor version), start a server
# on loopback as a non-root user, and print the shell line that exports its DSN.
#
#   eval "$(.ci/native_tsdb.sh start $$)"   # CI: the server stops when process $$ exits
#   .ci/native_tsdb.sh build                  # only build; prints the private tree's bin dir
#
# Logs go to stderr; stdout carries only what the caller evaluates or reads. Environment: RLM_TSDB_CACHE
# (where builds are kept), RLM_TSDB_TARBALL (the source), RLM_TSDB_CFLAGS (compiler flags), RLM_TSDB_USER
# (the server's user under root).
set -euo pipefail

TSDB_VERSION=2.28.3
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# The vendored source sits beside the main checkout (a worktree finds it through git's common dir).
TARBALL="${RLM_TSDB_TARBALL:-$ROOT/../shared/vendor/timescaledb-$TSDB_VERSION.tar.gz}"
if [ -z "${RLM_TSDB_TARBALL:-}" ] && [ ! -f "$TARBALL" ]; then
    common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
    [ -n "$common" ] && TARBALL="$(dirname "$common")/../shared/vendor/timescaledb-$TSDB_VERSION.tar.gz"
fi
# A test tier: optimised enough, no debug info (Debian's pg_config adds -g -O2; these come after it). -O1 -g0
# compiles in about a third of the CPU time of the default -O3 -g, which keeps a fresh build on a busy
# 2-core machine inside CI's budget. The flags are part of the cache key.
BUILD_CFLAGS="${RLM_TSDB_CFLAGS:--O1 -g0 -DNDEBUG}"
PATCH="$ROOT/.ci/timescaledb-portal-done.patch"
PG_MAJOR=15
SYS_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"
SERVICE_USER="${RLM_TSDB_USER:-rlmtsdb}"
if [ "$(id -u)" = 0 ]; then DEFAULT_CACHE=/var/cache/rlm-evals/native-tsdb
else DEFAULT_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rlm-evals/native-tsdb"; fi
CACHE="${RLM_TSDB_CACHE:-$DEFAULT_CACHE}"

log() { echo "native-tsdb: $*" >&2; }
die() { log "error: $*"; exit 1; }

install_packages() {
    # No libssl-dev: OpenSSL only serves TimescaleDB's telemetry, which the test tier turns off.
    local want=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR cmake build-essential)
    local missing=()
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    # The headers must come from the same minor version as the server they build for.
    local server dev
    server=$(dpkg-query -W -f='${Version}' postgresql-$PG_MAJOR 2>/dev/null || true)
    dev=$(dpkg-query -W -f='${Version}' postgresql-server-dev-$PG_MAJOR 2>/dev/null || true)
    if [ ${#missing[@]} = 0 ] && [ "$server" = "$dev" ]; then return; fi
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]:-matching postgresql-server-dev-$PG_MAJOR}); install them with apt-get as root"
    log "installing ${missing[*]:-} postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${want[@]}" >&2
}

# The private tree mirrors the Debian layout under $prefix, so the relocatable postgres binary in
# $prefix/usr/lib/postgresql/15/bin finds its share/ and lib/ (and TimescaleDB) there, not in /usr.
build() {
    install_packages
    local pg_version key prefix
    pg_version=$("$SYS_BIN/postgres" --version | awk '{print $3}')
    key="pg$pg_version-tsdb$TSDB_VERSION-$( { cat "$PATCH"; echo "$BUILD_CFLAGS"; } | sha256sum | cut -c1-12)"
    prefix="$CACHE/$key"
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9
    if [ -f "$prefix/.complete" ]; then
        log "cached build $prefix"
    else
        [ -f "$TARBALL" ] || die "no TimescaleDB source at $TARBALL (set RLM_TSDB_TARBALL)"
        log "building TimescaleDB $TSDB_VERSION against PostgreSQL $pg_version into $prefix"
        local work start=$SECONDS
        work=$(mktemp -d "$CACHE/.build.XXXXXX")
        tar xzf "$TARBALL" -C "$work"
        local src="$work/timescaledb-$TSDB_VERSION"
        patch -d "$src" -p1 --quiet < "$PATCH"
        # Only the extension: no regression or TAP test targets, no downgrade script, no OpenSSL.
        (cd "$src" && ./bootstrap -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="$BUILD_CFLAGS" \
            -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF -DGENERATE_DOWNGRADE_SCRIPT=OFF \
            -DUSE_OPENSSL=OFF -DSEND_TELEMETRY_DEFAULT=OFF -DPG_CONFIG="$SYS_BIN/pg_config" >&2 \
            && cd build && make -j"$(nproc)" >&2 && make install DESTDIR="$work/tree" >&2)
        mkdir -p "$work/tree/usr/lib/postgresql" "$work/tree/usr/share/postgresql"
        cp -a "/usr/lib/postgresql/$PG_MAJOR/bin" "$work/tree/usr/lib/postgresql/$PG_MAJOR/"
        cp -an "/usr/lib/postgresql/$PG_MAJOR/lib/." "$work/tree/usr/lib/postgresql/$PG_MAJOR/lib/"
        cp -an "/usr/share/postgresql/$PG_MAJOR/." "$work/tree/usr/share/postgresql/$PG_MAJOR/"
        rm -rf "$prefix"
        mv "$work/tree" "$prefix"
        rm -rf "$work"
        chmod -R a+rX "$prefix"
        touch "$prefix/.complete"
        log "built in $((SECONDS - start)) s"
    fi
    exec 9>&-
    BIN="$prefix/usr/lib/postgresql/$PG_MAJOR/bin"
}

as_service_user() {
    if [ "$(id -u)" = 0 ]; then runuser -u "$SERVICE_USER" -- "$@"; else "$@"; fi
}

start() {
    local owner="${1:-$PPID}"
    build
    if [ "$(id -u)" = 0 ] && ! id "$SERVICE_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
    fi
    local data port
    data=$(mktemp -d /tmp/rlm-native-tsdb.XXXXXX)
    [ "$(id -u)" = 0 ] && chown "$SERVICE_USER" "$data"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_service_user "$BIN/initdb" -D "$data/pg" -U rlm --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$data/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
timescaledb.max_background_workers = 8
max_worker_processes = 24
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    as_service_user "$BIN/pg_ctl" -D "$data/pg" -l "$data/server.log" -w -t 60 start >/dev/null \
        || { cat "$data/server.log" >&2; die "the server did not start"; }
    as_service_user "$BIN/createdb" -h 127.0.0.1 -p "$port" -U rlm rlm
    # Stop the server and remove its data once the owner process is gone.
    nohup bash -c "while kill -0 $owner 2>/dev/null; do sleep 2; done; \
        $(declare -f as_service_user); SERVICE_USER=$SERVICE_USER; \
        as_service_user '$BIN/pg_ctl' -D '$data/pg' -m fast stop; rm -rf '$data'" \
        >/dev/null 2>&1 </dev/null &
    log "server $("$BIN/postgres" --version) with TimescaleDB $TSDB_VERSION on 127.0.0.1:$port (data $data)"
    echo "export RLM_TEST_NATIVE_DSN='postgresql://rlm@127.0.0.1:$port/rlm'"
}

case "${1:-}" in
    build) build; echo "$BIN" ;;
    start) shift; start "$@" ;;
    *) die "usage: $0 build | start [owner-pid]" ;;
esac
