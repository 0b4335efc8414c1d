# Common helpers for the deploy scripts: paths, messages, ports, processes.
# Sourced, never run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=${INNOVATION_RUN_DIR:-$ROOT/.run}
CACHE_DIR=${INNOVATION_CACHE_DIR:-$ROOT/.cache}
LOG_DIR=$RUN_DIR/logs
PID_DIR=$RUN_DIR/pids
VENV=${INNOVATION_VENV:-$ROOT/.venv}
PYTHON=$VENV/bin/python
mkdir -p "$LOG_DIR" "$PID_DIR"

say() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid listening on a local TCP port, if ss can tell.
port_owner() {
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# server_status <name> <address>: whether the server whose pid file is <name> runs (exit 1 if not).
server_status() {
  local pid; pid=$(read_pid "$1")
  if pid_alive "$pid"; then echo "$1: running (pid $pid) at $2"; else echo "$1: not running"; return 1; fi
}

read_pid() { [ -f "$PID_DIR/$1.pid" ] && cat "$PID_DIR/$1.pid" || true; }

# Stop the process recorded under $1: SIGTERM, wait up to $2 seconds, then SIGKILL.
stop_pid() {
  local name=$1 grace=${2:-20} pid
  pid=$(read_pid "$name")
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq $((grace * 10))); do pid_alive "$pid" || break; sleep 0.1; done
    if pid_alive "$pid"; then
      say "$name (pid $pid) did not stop within ${grace}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PID_DIR/$name.pid"
}

# Refuse to start on a port someone else holds, naming the port and the holder.
require_free_port() {
  local port=$1 what=$2 owner
  if port_open "$port"; then
    owner=$(port_owner "$port")
    die "port $port for $what is already in use${owner:+ by pid $owner ($(ps -o comm= -p "$owner" 2>/dev/null))}; stop it or choose another port"
  fi
}
