#!/usr/bin/env bash
# The SCIM query benchmark (benches/scim.rs), on SQLite and, when a PostgreSQL URL is set
# (MUSTER_BENCH_POSTGRES_URL, else MUSTER_TEST_POSTGRES_URL), PostgreSQL.
# MUSTER_BENCH_USERS sets the directory size (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
cargo bench --locked --bench scim
