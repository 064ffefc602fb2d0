#!/bin/sh
# pcscd for tests and CI, without systemd.
#
#   scripts/pcscd.sh start     start `pcscd -f` in the background (no-op if this script's pcscd runs)
#   scripts/pcscd.sh stop      SIGTERM the pcscd this script started, and wait for it
#   scripts/pcscd.sh restart
#   scripts/pcscd.sh status    exit 0 if the PC/SC socket is up, 3 if not
#
# pcscd loads the vsmartcard vpcd driver from /etc/reader.conf.d/vpcd: readers "Virtual PCD 00 00"
# (TCP 35963) and "Virtual PCD 00 01" (35964), into which `chifa emulate` puts its cards.
#
# By default pcscd runs with LD_PRELOAD=scripts/nodelay.so (built here with gcc into the state
# directory on first use), which sets TCP_NODELAY on vpcd's sockets: ~0.2 ms per APDU instead of
# ~44 ms. PCSCD_NODELAY=0 runs the stock pcscd. PCSCD_ARGS adds arguments (e.g. "-a -d" to log
# APDUs). State (pid file, log, the built library): $CHIFA_PCSCD_DIR, default /tmp/chifa-pcscd.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${CHIFA_PCSCD_DIR:-/tmp/chifa-pcscd}
PIDFILE=$DIR/pcscd.pid
LOG=$DIR/pcscd.log
LIB=$DIR/nodelay.so
# PCSCD and PCSCD_SOCKET exist for the script's own tests (a stand-in daemon).
SOCK=${PCSCD_SOCKET:-/run/pcscd/pcscd.comm}
PCSCD=${PCSCD:-pcscd}

say() { echo "pcscd.sh: $*" >&2; }

our_pid() {
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

build_nodelay() {
  if [ ! -f "$LIB" ] || [ "$HERE/nodelay.c" -nt "$LIB" ]; then
    command -v gcc >/dev/null 2>&1 || { say "gcc not found: cannot build nodelay.so (set PCSCD_NODELAY=0 to run without it)"; exit 1; }
    gcc -shared -fPIC -O2 -o "$LIB.tmp" "$HERE/nodelay.c" -ldl
    mv "$LIB.tmp" "$LIB"
  fi
}

start() {
  mkdir -p "$DIR"
  if pid=$(our_pid); then
    say "already running (pid $pid)"
    return 0
  fi
  if [ -S "$SOCK" ]; then
    if pidof pcscd >/dev/null 2>&1; then
      say "a pcscd not started by this script is running (pid $(pidof pcscd)); using it"
      return 0
    fi
    say "removing the stale socket of a pcscd that is gone"
    rm -f "$SOCK" "$(dirname "$SOCK")/pcscd.pid"
  fi
  command -v "$PCSCD" >/dev/null 2>&1 || { say "pcscd not found (apt-get install pcscd vsmartcard-vpcd)"; exit 1; }
  mkdir -p "$(dirname "$SOCK")"
  if [ "${PCSCD_NODELAY:-1}" != "0" ]; then
    build_nodelay
    # shellcheck disable=SC2086
    LD_PRELOAD="$LIB" "$PCSCD" -f ${PCSCD_ARGS:-} >"$LOG" 2>&1 &
  else
    # shellcheck disable=SC2086
    "$PCSCD" -f ${PCSCD_ARGS:-} >"$LOG" 2>&1 &
  fi
  echo $! >"$PIDFILE"
  i=0
  while [ ! -S "$SOCK" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! our_pid >/dev/null; then
      say "pcscd did not come up; its log ($LOG):"
      tail -n 20 "$LOG" >&2 || true
      rm -f "$PIDFILE"
      exit 1
    fi
    sleep 0.05
  done
  say "started (pid $(cat "$PIDFILE"), nodelay $([ "${PCSCD_NODELAY:-1}" != "0" ] && echo on || echo off), log $LOG)"
}

stop() {
  if ! pid=$(our_pid); then
    rm -f "$PIDFILE"
    say "not running (no pcscd started by this script)"
    return 0
  fi
  kill -TERM "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 200 ]; then
      say "pcscd (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      rm -f "$SOCK" "$(dirname "$SOCK")/pcscd.pid"
      break
    fi
    sleep 0.05
  done
  rm -f "$PIDFILE"
  say "stopped (pid $pid)"
}

status() {
  if pid=$(our_pid); then
    say "running (pid $pid, started by this script), socket $SOCK"
    return 0
  fi
  if [ -S "$SOCK" ] && pidof pcscd >/dev/null 2>&1; then
    say "running (pid $(pidof pcscd), not started by this script), socket $SOCK"
    return 0
  fi
  say "not running"
  return 3
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
