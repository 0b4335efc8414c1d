#!/usr/bin/env bash
# Builds stand-ins for the official images docker-compose.yml and the Dockerfile use, from
# Debian's packages only (no registry of container images is needed):
#   innovation-standin/debian:bookworm  a root filesystem made by debootstrap, imported
#   innovation-standin/python:3.11      python and pip (3.11, a venv in /usr/local), useradd
#   innovation-standin/node:18          node and npm (Debian's 18)
#   innovation-standin/kafka:4.1.1      apache/kafka's /opt/kafka/bin tools over Kafka's jars
#   innovation-standin/postgres:15      the postgres image's entrypoint interface, PostgreSQL 15
#   innovation-standin/mailpit:sink     deploy/smtp_sink.py on 1025/8025 and `/mailpit readyz`
# What each differs in from the official image: deploy/compose/standins/README.md.
#
#   build.sh [name...]     names: python node kafka postgres mailpit (default: all)
#
# Prints, as its last lines, KEY=image for the compose overrides (KAFKA_IMAGE=..., ...).
# Cached: the root filesystem as .cache/compose/debian-bookworm-rootfs.tar (reused when present),
# the base image is imported only when missing, and each stand-in carries a label with a hash of
# its directory, its other inputs and its base image, so an unchanged one is not rebuilt.
# Run as root (debootstrap). Env: DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR (default: the ones apt
# uses here), INNOVATION_CACHE_DIR (.cache), STANDIN_FORCE=1 (rebuild every stand-in),
# STANDIN_LOCAL_CA_DIR (/usr/local/share/ca-certificates: the local CAs the python, node and
# mailpit stand-ins trust besides Debian's, for TLS to the package registries), STANDIN_PREFIX
# (innovation-standin: the images' repository prefix) and STANDIN_ROOTFS_TAR (the cached tar).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CACHE_DIR=${INNOVATION_CACHE_DIR:-$ROOT/.cache}
COMPOSE_CACHE=$CACHE_DIR/compose
ROOTFS_TAR=${STANDIN_ROOTFS_TAR:-$COMPOSE_CACHE/debian-bookworm-rootfs.tar}
LOGS=$COMPOSE_CACHE/logs
KAFKA_VERSION=4.1.1
KAFKA_LIBS=$CACHE_DIR/kafka-$KAFKA_VERSION/libs
PREFIX=${STANDIN_PREFIX:-innovation-standin}
BASE=$PREFIX/debian:bookworm
LOCAL_CA_DIR=${STANDIN_LOCAL_CA_DIR:-/usr/local/share/ca-certificates}
LABEL=org.innovation.standin.inputs
ALL="python node kafka postgres mailpit"
declare -A IMAGE=(
  [python]=$PREFIX/python:3.11
  [node]=$PREFIX/node:18
  [kafka]=$PREFIX/kafka:$KAFKA_VERSION
  [postgres]=$PREFIX/postgres:15
  [mailpit]=$PREFIX/mailpit:sink
)
declare -A KEY=([python]=PYTHON_IMAGE [node]=NODE_IMAGE [kafka]=KAFKA_IMAGE [postgres]=POSTGRES_IMAGE [mailpit]=MAILPIT_IMAGE)

say() { printf 'standins: %s\n' "$*" >&2; }
die() { printf 'standins: error: %s\n' "$*" >&2; exit 1; }
seconds_since() { echo $(( $(date +%s) - $1 )); }

# The first URI of an apt source for <suite> (one-line sources.list or deb822 .sources).
apt_uri_for() {
  local suite=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                                      if ($(i + 1) == s) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && uris != "") { split(uris, u, " "); print u[1]; found = 1 } types = suites = uris = "" }
      /^[ \t]*$/ { flush(); if (found) exit; next }
      /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
      END { if (!found) flush() }' "$f"
  done
}

mirror() { local m=${DEBIAN_MIRROR:-$(apt_uri_for bookworm | head -1)}; echo "${m:-http://deb.debian.org/debian}"; }
security_mirror() {
  local m=${DEBIAN_SECURITY_MIRROR:-$(apt_uri_for bookworm-security | head -1)}
  echo "${m:-http://deb.debian.org/debian-security}"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

make_rootfs() {
  command -v debootstrap >/dev/null \
    || die "debootstrap is not installed (it makes the Debian root filesystem): apt-get install -y debootstrap"
  [ "$(id -u)" = 0 ] || die "making the root filesystem needs root (debootstrap, chroot)"
  local started work rootfs mirror_uri security_uri
  started=$(date +%s)
  mirror_uri=$(mirror); security_uri=$(security_mirror)
  work=$(mktemp -d /var/tmp/innovation-standin-rootfs.XXXXXX)
  rootfs=$work/rootfs
  # shellcheck disable=SC2064  # expand now: the trap must know this run's directory
  trap "umount '$rootfs/proc' 2>/dev/null || true; rm -rf '$work'" EXIT
  say "debootstrap --variant=minbase bookworm from $mirror_uri (log: $LOGS/debootstrap.log)"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror_uri" >"$LOGS/debootstrap.log" 2>&1; then
    tail -n 20 "$LOGS/debootstrap.log" >&2
    die "debootstrap failed; read $LOGS/debootstrap.log"
  fi
  cat >"$rootfs/etc/apt/sources.list" <<LIST
deb $mirror_uri bookworm main
deb $mirror_uri bookworm-updates main
deb $security_uri bookworm-security main
LIST
  # As Debian's official slim images: no recommends, no documentation, no apt caches; no
  # daemon started by a package's install script.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/01-no-recommends"
  cat >"$rootfs/etc/apt/apt.conf.d/02-docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
Acquire::GzipIndexes "true"; Acquire::CompressionTypes::Order:: "gz";
CONF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
CONF
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  say "bringing the root filesystem up to date (bookworm-updates, bookworm-security)"
  mount -t proc proc "$rootfs/proc"
  if ! { chroot "$rootfs" apt-get update -qq \
         && DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get -y -qq -o Dpkg::Options::=--force-confold upgrade \
         && chroot "$rootfs" apt-get clean; } >"$LOGS/rootfs-upgrade.log" 2>&1; then
    tail -n 20 "$LOGS/rootfs-upgrade.log" >&2
    die "apt-get upgrade in the root filesystem failed; read $LOGS/rootfs-upgrade.log"
  fi
  umount "$rootfs/proc"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/tmp/* "$rootfs"/var/tmp/* \
         "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
         "$rootfs"/usr/share/locale/* "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$ROOTFS_TAR.partial" .
  mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
  rm -rf "$work"
  trap - EXIT
  say "root filesystem: $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1)) in $(seconds_since "$started") s"
}

ensure_base() {
  if image_exists "$BASE"; then say "$BASE: present"; return 0; fi
  if [ -f "$ROOTFS_TAR" ]; then say "reusing $ROOTFS_TAR"; else make_rootfs; fi
  say "docker import $ROOTFS_TAR as $BASE"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL org.innovation.standin.rootfs=$(sha256sum "$ROOTFS_TAR" | cut -c1-16)" \
    "$ROOTFS_TAR" "$BASE" >/dev/null
}

# The files a stand-in's build context takes besides its own directory.
extra_inputs() {
  case $1 in
    kafka) echo "$KAFKA_LIBS" ;;
    mailpit) echo "$ROOT/deploy/smtp_sink.py" ;;
  esac
}

# Images that reach a package registry over TLS (pip, npm), at their build or in a build FROM
# them, trust this machine's local CAs too (in Debian's place for them, ca-certificates picks
# them up): where the registries are reached through a TLS-inspecting proxy, nothing else works.
needs_local_ca() { case $1 in python|node|mailpit) return 0 ;; *) return 1 ;; esac; }
local_cas() { find "$LOCAL_CA_DIR" -maxdepth 1 -type f -name '*.crt' 2>/dev/null | LC_ALL=C sort; }

ensure_kafka_jars() {
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  say "Kafka $KAFKA_VERSION jars absent: fetching them as the local mode does (deploy/kafka.sh fetch)"
  INNOVATION_RUN_DIR=${INNOVATION_RUN_DIR:-/var/tmp/innovation-standin-run} INNOVATION_CACHE_DIR=$CACHE_DIR \
    KAFKA_VERSION=$KAFKA_VERSION bash "$ROOT/deploy/kafka.sh" fetch
}

# sha256 of every input: the base image, the stand-in's directory and its extra inputs.
inputs_hash() {
  local name=$1 path
  {
    docker image inspect -f '{{.Id}}' "$BASE"
    (cd "$HERE/$name" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum && find . -type f -perm -u+x | LC_ALL=C sort)
    for path in $(extra_inputs "$name"); do
      if [ -d "$path" ]; then
        (cd "$path" && find . -type f -name '*.jar' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
      else
        sha256sum <"$path"
      fi
    done
    if needs_local_ca "$name"; then local_cas | while read -r path; do sha256sum "$path"; done; fi
  } | sha256sum | cut -c1-32
}

build_one() {
  local name=$1 image=${IMAGE[$1]} hash current previous started context path
  [ "$name" = kafka ] && ensure_kafka_jars
  hash=$(inputs_hash "$name")
  current=$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$image" 2>/dev/null || true)
  if [ "$current" = "$hash" ] && [ -z "${STANDIN_FORCE:-}" ]; then
    say "$image: up to date ($hash)"; return 0
  fi
  previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  started=$(date +%s)
  context=$(mktemp -d /var/tmp/innovation-standin-$name.XXXXXX)
  cp -a "$HERE/$name/." "$context/"
  for path in $(extra_inputs "$name"); do
    # hard links where /var/tmp and the checkout share a file system: no 54 MB copy of the jars
    cp -al "$path" "$context/" 2>/dev/null || cp -a "$path" "$context/"
  done
  if needs_local_ca "$name"; then
    mkdir -p "$context/local-ca"
    local_cas | while read -r path; do cp "$path" "$context/local-ca/"; done
  fi
  say "$image: building (log: $LOGS/$name.log)"
  if ! DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$BASE" --label "$LABEL=$hash" -t "$image" "$context" >"$LOGS/$name.log" 2>&1; then
    rm -rf "$context"
    tail -n 30 "$LOGS/$name.log" >&2
    die "building $image failed; read $LOGS/$name.log"
  fi
  rm -rf "$context"
  # the replaced build, unless something else still uses it (a tag, a container)
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
  say "$image: built in $(seconds_since "$started") s, $(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')"
}

main() {
  local names=("$@") name started
  [ $# -gt 0 ] || read -r -a names <<<"$ALL"
  for name in "${names[@]}"; do [ -n "$name" ] && [ -n "${IMAGE[$name]:-}" ] || die "unknown stand-in '$name' (known: $ALL)"; done
  command -v docker >/dev/null || die "docker is not installed"
  docker info >/dev/null 2>&1 || die "the docker daemon does not answer (start it: dockerd)"
  mkdir -p "$COMPOSE_CACHE" "$LOGS"
  # One build at a time on this cache (two test runs may start it together): the others wait.
  exec 9>"$COMPOSE_CACHE/.build.lock"
  flock 9
  started=$(date +%s)
  ensure_base
  for name in "${names[@]}"; do build_one "$name"; done
  say "done in $(seconds_since "$started") s"
  for name in "${names[@]}"; do echo "${KEY[$name]}=${IMAGE[$name]}"; done
}

main "$@"
