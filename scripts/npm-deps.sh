#!/usr/bin/env bash
# Installs the pinned npm packages the tests use as an independent Parquet reader (hyparquet,
# pure JavaScript, with hyparquet-compressors for zstd) into <repo>/.cache/npm, installing
# Debian's nodejs and npm first when they are missing and running as root. Prints the
# node_modules directory on stdout. Safe to run again: it does nothing when the pinned
# versions are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(hyparquet@1.31.5 hyparquet-compressors@1.1.2)
prefix=$PWD/.cache/npm

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "node and npm not found: install the Debian packages 'nodejs' and 'npm' (sudo apt-get install nodejs npm), then run $0 to install ${packages[*]}" >&2
    exit 1
  fi
  echo "installing nodejs and npm ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends nodejs npm >&2
fi

installed() {
  local p name version
  for p in "${packages[@]}"; do
    name=${p%@*} version=${p##*@}
    [ -f "$prefix/node_modules/$name/package.json" ] || return 1
    grep -q "\"version\": *\"$version\"" "$prefix/node_modules/$name/package.json" || return 1
  done
}

if ! installed; then
  echo "installing ${packages[*]} into $prefix ..." >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "${packages[@]}" >&2
  installed || { echo "npm install finished but ${packages[*]} are not in $prefix/node_modules" >&2; exit 1; }
fi
echo "$prefix/node_modules"
