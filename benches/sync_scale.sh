#!/usr/bin/env bash
# `backline sync` against `gitlab-sim --projects N`: wall time, peak memory of backline, and
# GitLab requests per project (as counted by the simulator, printed when it stops).
#
#   bash benches/sync_scale.sh [N=10000] [RUNS=3]
#
# Builds both binaries in release mode first. Needs /usr/bin/time (Debian package `time`).
set -euo pipefail
N="${1:-10000}"
RUNS="${2:-3}"
cd "$(dirname "$0")/.."
cargo build --release --quiet -p backline -p gitlab-sim
BACKLINE=target/release/backline
SIM=target/release/gitlab-sim
WORK="$(mktemp -d)"
trap 'kill "$SIM_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$SIM" --listen "127.0.0.1:$PORT" --projects "$N" --seed 1 --token bench-token >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM_PID=$!
for _ in $(seq 1 600); do
  grep -q "listening" "$WORK/sim.out" 2>/dev/null && break
  sleep 0.1
done
grep -q "listening" "$WORK/sim.out" || { echo "gitlab-sim did not start"; cat "$WORK/sim.err"; exit 1; }

echo "projects generated: $N catalogable (+$((N / 10)) the bot must skip)"
for run in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/data"
  /usr/bin/time -v "$BACKLINE" sync --data-dir "$WORK/data" \
    --gitlab-url "http://127.0.0.1:$PORT" --gitlab-token bench-token \
    >"$WORK/out" 2>"$WORK/time"
  wall=$(grep "Elapsed (wall clock)" "$WORK/time" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$WORK/time" | awk '{print $NF}')
  echo "run $run (fresh data dir): wall $wall, peak RSS $((rss / 1024)) MB; $(cat "$WORK/out")"
done
# An incremental run on the last data dir.
/usr/bin/time -v "$BACKLINE" sync --data-dir "$WORK/data" \
  --gitlab-url "http://127.0.0.1:$PORT" --gitlab-token bench-token >"$WORK/out" 2>"$WORK/time"
wall=$(grep "Elapsed (wall clock)" "$WORK/time" | awk '{print $NF}')
rss=$(grep "Maximum resident set size" "$WORK/time" | awk '{print $NF}')
echo "incremental run: wall $wall, peak RSS $((rss / 1024)) MB; $(cat "$WORK/out")"
kill -TERM "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
echo "simulator, over all runs:"; cat "$WORK/sim.err"
