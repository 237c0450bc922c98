#!/usr/bin/env bash
# Produces (or, with --check, re-produces and compares) the go.mod/go.sum files of this folder
# with the real `go` command, offline: the modules under modules/<path>@<version>/ are served
# as a file-based module proxy (GOPROXY=file://..., the GOPROXY protocol's layout:
# <escaped path>/@v/{list,<v>.info,<v>.mod,<v>.zip}); checksum database off.
#   before/go.sum   `go mod tidy` on before/go.mod
#   after/go.mod,
#   after/go.sum    `go get example.com/lib@v1.0.1` then `go mod tidy` (which drops the old
#                   version's lines) on before/: the move backline's patcher makes; crates/backline-core/src/ecosystems/gomod/patch/tests.rs asserts
#                   the patcher's output equals these files byte for byte)
# --check also asserts that go accepts after/ as it is (`go mod verify`, `go build`, and
# `go mod tidy` leaving go.mod and go.sum unchanged) and that moving to example.com/lib
# v1.1.0 makes go raise example.com/util too (the case the patcher refuses with the chain).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
check=0
[ "${1:-}" = "--check" ] && check=1
command -v go >/dev/null 2>&1 || {
  echo "gomod-proofs: FAILED: go is missing (Debian/Ubuntu: apt-get install golang-go)" >&2
  exit 1
}
command -v python3 >/dev/null 2>&1 || { echo "gomod-proofs: FAILED: python3 is missing" >&2; exit 1; }
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
proxy="$work/proxy"
python3 - "$here/modules" "$proxy" <<'PY'
import os, sys, zipfile, json
src, out = sys.argv[1], sys.argv[2]
def esc(s): return "".join("!" + c.lower() if c.isupper() else c for c in s)
versions = {}
for root, dirs, files in os.walk(src):
    base = os.path.basename(root)
    if "@" not in base: continue
    rel = os.path.relpath(root, src)
    path, version = rel.rsplit("@", 1)
    d = os.path.join(out, esc(path), "@v"); os.makedirs(d, exist_ok=True)
    versions.setdefault(d, []).append(version)
    with open(os.path.join(d, version + ".info"), "w") as f:
        json.dump({"Version": version, "Time": "2024-01-01T00:00:00Z"}, f)
    with open(os.path.join(root, "go.mod"), "rb") as f: mod = f.read()
    with open(os.path.join(d, version + ".mod"), "wb") as f: f.write(mod)
    with zipfile.ZipFile(os.path.join(d, version + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for r2, _, fs in os.walk(root):
            for name in sorted(fs):
                p = os.path.join(r2, name)
                z.write(p, path + "@" + version + "/" + os.path.relpath(p, root))
for d, vs in versions.items():
    with open(os.path.join(d, "list"), "w") as f: f.write("\n".join(sorted(vs)) + "\n")
PY
export GOPROXY="file://$proxy" GOSUMDB=off GONOSUMDB='*' GOFLAGS=-mod=mod GO111MODULE=on \
  GOPATH="$work/gopath" GOMODCACHE="$work/gopath/pkg/mod" GOCACHE="$work/gocache" GOTOOLCHAIN=local
run() { (cd "$1" && shift && "$@"); }
mkdir -p "$work/before" "$work/after" "$work/raise"
cp "$here/before/go.mod" "$here/before/main.go" "$work/before/"
run "$work/before" go mod tidy
cp "$work/before/go.mod" "$work/before/go.sum" "$here/before/main.go" "$work/after/"
run "$work/after" go get example.com/lib@v1.0.1
run "$work/after" go mod tidy
cp "$work/before/go.mod" "$work/before/go.sum" "$here/before/main.go" "$work/raise/"
run "$work/raise" go get example.com/lib@v1.1.0
if [ "$check" = 0 ]; then
  mkdir -p "$here/after"
  cp "$work/before/go.sum" "$here/before/go.sum"
  cp "$work/after/go.mod" "$work/after/go.sum" "$here/after/"
  echo "gomod-proofs: written before/go.sum, after/go.mod, after/go.sum ($(go version))"
  exit 0
fi
fail() { echo "gomod-proofs: FAILED: $*" >&2; exit 1; }
cmp -s "$work/before/go.mod" "$here/before/go.mod" || fail "go mod tidy changes before/go.mod"
cmp -s "$work/before/go.sum" "$here/before/go.sum" || fail "go writes another before/go.sum"
cmp -s "$work/after/go.mod" "$here/after/go.mod" || fail "go get writes another after/go.mod"
cmp -s "$work/after/go.sum" "$here/after/go.sum" || fail "go get writes another after/go.sum"
# The committed after/ (the patcher's output) as go sees it, with no network but the file proxy.
mkdir -p "$work/accept"
cp "$here/after/go.mod" "$here/after/go.sum" "$here/before/main.go" "$work/accept/"
export GOFLAGS=-mod=readonly
run "$work/accept" go mod verify || fail "go mod verify refuses after/"
run "$work/accept" go build ./... || fail "go build refuses after/"
run "$work/accept" env GOFLAGS=-mod=mod go mod tidy || fail "go mod tidy fails on after/"
cmp -s "$work/accept/go.mod" "$here/after/go.mod" || fail "go mod tidy changes after/go.mod"
cmp -s "$work/accept/go.sum" "$here/after/go.sum" || fail "go mod tidy changes after/go.sum"
grep -q 'example.com/util v1.3.0' "$work/raise/go.mod" ||
  fail "go get example.com/lib@v1.1.0 did not raise example.com/util (the patcher's refusal rests on it)"
echo "gomod-proofs: go accepts after/ (go mod verify, go build, go mod tidy unchanged); go get raises util with lib v1.1.0 ($(go version))"
