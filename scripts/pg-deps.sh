#!/usr/bin/env bash
# Finds PostgreSQL server binaries (initdb, pg_ctl, postgres) and pg_dump, installing the Debian
# package when missing and running as root. Prints the bin directory on stdout.
set -euo pipefail

find_bin() {
  local d
  for d in ${PGBIN:-} $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/pg_dump" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

if bin=$(find_bin); then
  echo "$bin"
  exit 0
fi

pkg=${UNDERSTUDY_PG_PACKAGE:-postgresql-15}
if [ "$(id -u)" -ne 0 ]; then
  echo "PostgreSQL server binaries not found: install the Debian package '$pkg' (sudo apt-get install $pkg)" >&2
  exit 1
fi
echo "installing $pkg ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "$pkg" postgresql-contrib >&2 || apt-get install -y -qq --no-install-recommends "$pkg" >&2
find_bin || { echo "installed $pkg but found no initdb under /usr/lib/postgresql/*/bin" >&2; exit 1; }
