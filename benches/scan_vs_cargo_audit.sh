#!/usr/bin/env bash
# `backline scan` against `cargo audit` on the same large Cargo.lock and the same RustSec
# database, in one hyperfine run (alternating is hyperfine's business; both warm up first).
#
#   bash benches/scan_vs_cargo_audit.sh [PACKAGES=2000]
#
# Needs hyperfine (Debian package) and cargo-audit (`cargo install cargo-audit --locked`).
set -euo pipefail
N="${1:-2000}"
cd "$(dirname "$0")/.."
DB_SRC="$(cd tests/data/rustsec-advisory-db && pwd)"
cargo build --release --quiet
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# cargo-audit opens its database as a git repository: a committed copy.
cp -r "$DB_SRC" "$WORK/db"
(cd "$WORK/db" && git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm db)
# A lockfile of N packages: every crate the database knows, at an old and a new version, then
# filler crates; deterministic.
python3 - "$DB_SRC" "$N" >"$WORK/Cargo.lock" <<'PY'
import os, sys
db, n = sys.argv[1], int(sys.argv[2])
names = sorted(os.listdir(os.path.join(db, "crates")))
pkgs = []
for name in names:
    pkgs.append((name, "0.1.0"))
    pkgs.append((name, "1.0.0"))
i = 0
while len(pkgs) < n:
    pkgs.append((f"filler-crate-{i}", "1.2.3"))
    i += 1
pkgs = pkgs[:n]
print("version = 3\n")
for name, version in pkgs:
    print(f'[[package]]\nname = "{name}"\nversion = "{version}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n')
PY
echo "lockfile: $(grep -c '^\[\[package\]\]' "$WORK/Cargo.lock") packages"
BACKLINE="$PWD/target/release/backline"
"$BACKLINE" advisories --data-dir "$WORK/data" import "$WORK/db" >/dev/null
echo "backline findings: $("$BACKLINE" scan "$WORK/Cargo.lock" --advisories "$WORK/db" --format json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(sum(1 for f in v["findings"] if f["advisory"]["kind"]=="vulnerability"))') vulnerabilities"
echo "cargo-audit:       $(cargo audit --no-fetch --stale --json --db "$WORK/db" --file "$WORK/Cargo.lock" 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["vulnerabilities"]["list"]))') vulnerabilities"
hyperfine -N --warmup 2 --runs "${RUNS:-15}" -i \
  -n "backline scan --advisories (parses the db)" "$BACKLINE scan $WORK/Cargo.lock --advisories $WORK/db --format json" \
  -n "backline scan (imported index)" "$BACKLINE scan $WORK/Cargo.lock --data-dir $WORK/data --format json" \
  -n "cargo audit" "cargo audit --no-fetch --stale --json --db $WORK/db --file $WORK/Cargo.lock"
