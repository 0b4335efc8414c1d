#!/usr/bin/env bash
# Installs what the project needs on a bare machine: Python packages, Kafka's jars, Keycloak, PostgreSQL.
#   install.sh          for running the system
#   install.sh --test   also what the tests need (kcat, Chromium, npm packages)
#   install.sh --bench  also what the benchmarks need (wrk)
# Each step is skipped when already done.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

python_env() {
  local python stamp want
  python=${PYTHON311:-$(command -v python3.11 || command -v python3 || true)}
  [ -n "$python" ] || die "Python 3.11 is not installed (apt-get install -y python3.11 python3.11-venv)"
  "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "$python is Python $("$python" -c 'import sys; print(sys.version.split()[0])'); the project needs 3.11 (set PYTHON311)"
  stamp=$VENV/.installed
  want=$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  say "installing Python packages into $VENV"
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV" || die "could not create a virtual environment at $VENV (apt-get install -y python3.11-venv)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[dev]" >"$LOG_DIR/pip-install.log" 2>&1 \
    || die "pip could not install the project's packages; details in $LOG_DIR/pip-install.log"
  echo "$want" >"$stamp"
}

apt_install() {  # apt_install <command to check> <package>...
  local check=$1; shift
  command -v "$check" >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "$check is missing and only root can install it: apt-get install -y $*"
  say "installing $* from Debian's packages"
  if [ ! -f "$RUN_DIR/.apt-updated" ]; then
    apt-get update -q >"$LOG_DIR/apt.log" 2>&1 || die "apt-get update failed; details in $LOG_DIR/apt.log"
    touch "$RUN_DIR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$LOG_DIR/apt.log" 2>&1 \
    || die "could not install $* with apt-get; details in $LOG_DIR/apt.log"
}

# npm_deps <dir>: the npm packages locked in <dir>/package-lock.json, reinstalled when the lock changes.
npm_deps() {
  local dir=$ROOT/$1 stamp want
  stamp=$dir/node_modules/.installed
  want=$(sha256sum "$dir/package-lock.json" | cut -c1-16)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  command -v npm >/dev/null || apt_install npm npm
  say "installing npm packages in $1"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$LOG_DIR/npm-$(basename "$1").log" 2>&1 \
    || die "npm ci failed in $1; details in $LOG_DIR/npm-$(basename "$1").log"
  echo "$want" >"$stamp"
}

test_tools() {
  apt_install kcat kcat
  apt_install chromium chromium
  apt_install wrk wrk
  npm_deps tools/asyncapi
}

apt_install java openjdk-17-jre-headless
apt_install mvn maven
apt_install jq jq  # the start message's example reads the demo keys with it
apt_install unzip unzip  # Keycloak's distribution is a zip
python_env
bash "$ROOT/deploy/kafka.sh" fetch
bash "$ROOT/deploy/keycloak.sh" fetch
bash "$ROOT/deploy/postgres.sh" install
npm_deps services/reporting/frontend  # GOV.UK Frontend's styles for the dashboard
npm_deps services/portal/frontend  # GOV.UK Frontend for the departmental portals
[ "${1:-}" = "--test" ] && test_tools
[ "${1:-}" = "--bench" ] && apt_install wrk wrk
say "installed"
