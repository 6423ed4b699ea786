#!/usr/bin/env bash
# Starts and stops a throwaway S3-compatible server (versitygw, posix backend) on 127.0.0.1
# at a free port, with a freshly generated access key and secret.
#
#   scripts/s3.sh start DIR   # writes DIR/env and prints it: export lines for
#                             # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
#                             # AWS_ENDPOINT_URL_S3 and UNDERSTUDY_TEST_S3 (= DIR/env)
#   scripts/s3.sh stop DIR    # stop the server and remove DIR
#
#   eval "$(scripts/s3.sh start /tmp/s3)"   # point this shell's AWS tools at it
#
# versitygw is built once into .cache/bin (git-ignored) with the pinned version below.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cmd=${1:?usage: s3.sh start|stop DIR}
dir=${2:?usage: s3.sh start|stop DIR}

version=v1.8.0
bin="$repo/.cache/bin/versitygw"
region=us-east-1

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# answers PORT: an HTTP request gets an HTTP status line back (403 without a signature).
answers() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 2 line <&3 || exit 1
    [[ $line == HTTP/* ]]
  ) 2>/dev/null
}

installed_version() {
  go version -m "$bin" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/versity/versitygw" { print $3 }'
}

ensure_versitygw() {
  [ -x "$bin" ] && [ "$(installed_version)" = "$version" ] && return 0
  "$here/ensure-go.sh"
  mkdir -p "$repo/.cache/bin"
  # One build at a time, however many runs start together; the loser finds it built.
  exec 9>"$repo/.cache/versitygw.lock"
  flock 9
  if ! { [ -x "$bin" ] && [ "$(installed_version)" = "$version" ]; }; then
    echo "building versitygw $version into .cache/bin (once, about a minute)" >&2
    GOFLAGS=-buildvcs=false GOBIN="$repo/.cache/bin" \
      go install "github.com/versity/versitygw/cmd/versitygw@$version" >&2
  fi
  exec 9>&-
}

randhex() {
  od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

case "$cmd" in
start)
  ensure_versitygw
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  access=ut$(randhex 9)
  secret=$(randhex 20)
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    # Keys through the environment, not argv, so ps does not show them.
    ROOT_ACCESS_KEY_ID=$access ROOT_SECRET_ACCESS_KEY=$secret \
      setsid "$bin" --port "127.0.0.1:$port" --region "$region" --quiet \
      posix "$dir/data" </dev/null >"$dir/server.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      if answers "$port"; then
        umask 077
        cat >"$dir/env" <<EOF
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=$region
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$port
export UNDERSTUDY_TEST_S3=$dir/env
EOF
        cat "$dir/env"
        exit 0
      fi
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    tail -5 "$dir/server.log" >&2 || true
  done
  echo "could not start versitygw on a free port (see $dir/server.log)" >&2
  exit 1
  ;;
stop)
  [ -d "$dir" ] || exit 0
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    # Only our server: a recycled pid belongs to someone else.
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "versitygw.*posix $dir/data"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: s3.sh start|stop DIR" >&2
  exit 2
  ;;
esac
