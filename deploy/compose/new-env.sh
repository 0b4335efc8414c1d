#!/usr/bin/env bash
# Writes a .env for docker-compose.yml with a fresh random value for every variable that
# .env.example lists:  bash deploy/compose/new-env.sh [path, default .env beside docker-compose.yml]
# It never overwrites: the data volumes keep the passwords they were first started with.
# Values are 48 hex characters: valid Kafka SCRAM passwords and safe inside database URLs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
target=${1:-$root/.env}
[ ! -e "$target" ] || { echo "new-env: $target exists; not overwriting it" >&2; exit 1; }
random_secret() { head -c 24 /dev/urandom | od -An -v -tx1 | tr -d ' \n'; }
umask 077
{
  echo "# Written by deploy/compose/new-env.sh. Keep it secret; never commit it."
  grep -E '^[A-Z][A-Z0-9_]*=' "$root/.env.example" | cut -d= -f1 | while read -r name; do
    echo "$name=$(random_secret)"
  done
} >"$target"
echo "new-env: wrote $target" >&2
