#!/usr/bin/env bash
# The ctest "bench" smoke run (debug tree): every benchmark once, at a tiny
# size, so none of them can rot. It checks that each still runs and
# reports success; it asserts nothing about speed.
#
#   smoke_test.sh WS_BENCH WS_COMPARE_BENCH WS_IDLE_MEMORY WS_LOAD ECHO_SERVER...
# Each ECHO_SERVER is a command line (quoted) that takes --port 0 and
# --memory-report and prints "listening on HOST:PORT". ws-load's
# --hold-ms and --signal-server are exercised too: the server must print
# its two "memory:" lines (scripts/bench reads them). Then beast-echo --tls
# and ws-load --tls, when the openssl command can make a certificate.
set -euo pipefail
ws_bench=$1 compare=$2 memory=$3 load=$4
shift 4

"$ws_bench" --benchmark_min_time=0.000001 >/dev/null
"$compare" --tiny >/dev/null
"$memory" --connections 10 >/dev/null

log=$(mktemp)
tls_dir=$(mktemp -d)
trap 'rm -rf "$log" "$tls_dir"' EXIT
# smoke_server <server command line> [ws-load arguments...]
smoke_server() {
  local server=$1 pid port status
  shift
  # shellcheck disable=SC2086
  $server --port 0 --memory-report >"$log" 2>&1 &
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log" | head -n 1)
    [[ -n $port ]] && break
    sleep 0.1
  done
  status=0
  if [[ -z $port ]]; then
    echo "smoke: $server did not start" >&2
    status=1
  elif ! "$load" "$@" --port "$port" --server-pid "$pid" --connections 2 --messages 5 \
    --size 20 --window 2 --ramp 100 --timeout 20 --hold-ms 50 --signal-server >"$log.load"; then
    echo "smoke: ws-load $* against $server failed:" >&2
    cat "$log.load" >&2
    status=1
  elif [[ $(grep -c '^memory: heap_in_use=[0-9]* mmapped=[0-9]* rss_kib=[0-9]*$' "$log") != 2 ]]; then
    echo "smoke: $server did not print two memory reports:" >&2
    cat "$log" >&2
    status=1
  fi
  rm -f "$log.load"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ((status == 0)) || exit 1
  echo "smoke: $server echoed"
}
for server in "$@"; do
  smoke_server "$server"
done
# B5 over TLS (scripts/bench): beast-echo --tls and ws-load --tls, with a
# certificate made here, when the openssl command is there.
for server in "$@"; do
  if [[ $server != *beast-echo ]] || ! command -v openssl >/dev/null; then
    continue
  fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$tls_dir/key.pem" -out "$tls_dir/cert.pem" >/dev/null 2>&1
  smoke_server "$server --tls $tls_dir/cert.pem $tls_dir/key.pem" --tls --tls-ca "$tls_dir/cert.pem"
done
echo "smoke: all benchmarks ran once"
