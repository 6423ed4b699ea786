#!/usr/bin/env bash
# Checks that a Go toolchain at least as new as go.mod asks for is on PATH.
set -euo pipefail
if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do
    if [ -x "$d/go" ]; then
      echo "go is installed at $d but not on PATH: export PATH=\$PATH:$d" >&2
      exit 1
    fi
  done
  echo "Go is not installed: install it from https://go.dev/dl (go.mod names the version) or 'apt-get install golang-go' if new enough" >&2
  exit 1
fi
