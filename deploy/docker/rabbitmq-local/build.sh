#!/usr/bin/env bash
# Builds a RabbitMQ image WITHOUT a container registry: a minimal Debian root file system
# (debootstrap --variant=minbase) with Debian's rabbitmq-server package, imported with
# `docker import` and started by entrypoint.sh (which makes it behave like the official
# image for Testcontainers: RABBITMQ_DEFAULT_USER/PASS, logs on stdout, ports 5672/15672).
#
# The tag is keyed on a hash of this recipe (build.sh + entrypoint.sh), so an existing image
# is reused and a changed recipe builds a new one:
#   build.sh               build unless worker-rabbitmq:local-<hash> exists; prints the tag
#   build.sh --print-tag   only print the tag
#   build.sh --force       rebuild even if the image exists
#   build.sh --check       also start a throw-away container and wait for "Server startup complete"
# Also tags the result as worker-rabbitmq:local and removes images of older recipes.
# Needs root and a running Docker engine.
# Environment: DEBIAN_MIRROR (default: the Debian mirror of /etc/apt/sources.list*),
# DEBIAN_SUITE (default bookworm), RABBITMQ_LOCAL_REPO (default worker-rabbitmq).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_name="${RABBITMQ_LOCAL_REPO:-worker-rabbitmq}"
suite="${DEBIAN_SUITE:-bookworm}"

log() { printf '[rabbitmq-local] %s\n' "$*" >&2; }
die() { printf '[rabbitmq-local] ERROR: %s\n' "$*" >&2; exit 1; }

recipe_hash() {
  (cd "$here" && cat build.sh entrypoint.sh; printf '%s' "$suite") | sha256sum | cut -c1-12
}
tag="$repo_name:local-$(recipe_hash)"

force=0 check=0
for arg in "$@"; do
  case "$arg" in
    --print-tag) echo "$tag"; exit 0 ;;
    --force) force=1 ;;
    --check) check=1 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Prints "<archive URI> <security URI or empty>" from the host's apt sources (one-line
# and deb822 formats). The archive is the first URI serving "$suite"; security serves "$suite-security".
host_mirrors() {
  local files=()
  [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  local f
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] && files+=("$f")
  done
  ((${#files[@]})) || return 0
  # Files are joined with a blank line in between, which ends a deb822 stanza (mawk has no ENDFILE).
  for f in "${files[@]}"; do cat "$f"; echo; done | awk -v suite="$suite" '
    function consider(uri, suites,   n, i, s) {
      n = split(suites, s, /[ \t]+/)
      for (i = 1; i <= n; i++) {
        if (s[i] == suite && main == "") main = uri
        if (s[i] == suite "-security" && sec == "") sec = uri
      }
    }
    function stanza_end() {
      if (types ~ /[ \t]deb([ \t]|$)/ && uris != "") consider(uris, suites)
      uris = ""; suites = ""; types = ""
    }
    /^[ \t]*#/ { next }
    /^deb[ \t]/ {                       # one-line format: deb [opts] uri suite comps...
      line = $0; sub(/^deb[ \t]+/, "", line); sub(/^\[[^]]*\][ \t]+/, "", line)
      split(line, w, /[ \t]+/); consider(w[1], w[2]); next
    }
    /^Types:/  { types = $0 }
    /^URIs:/   { uris = $2 }
    /^Suites:/ { suites = $0; sub(/^Suites:[ \t]*/, "", suites) }
    /^[ \t]*$/ { stanza_end() }
    END { stanza_end(); print main, sec }
  '
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  [[ $EUID -eq 0 ]] || die "debootstrap is missing and installing it needs root"
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
  }
}

build() {
  [[ $EUID -eq 0 ]] || die "building the image needs root (debootstrap, chroot)"
  docker info >/dev/null 2>&1 || die "no Docker engine answers \`docker info\`"
  ensure_debootstrap

  local mirror security
  read -r mirror security < <(host_mirrors) || true
  mirror="${DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}"
  log "building $tag from Debian $suite (mirror $mirror${security:+, security $security})"

  local t0 rootfs
  t0=$(date +%s)
  rootfs="$(mktemp -d /var/tmp/worker-rabbitmq-rootfs.XXXXXX)"
  # shellcheck disable=SC2064 # expand now: the trap must clean this very directory.
  trap "umount -l '$rootfs/proc' 2>/dev/null || true; rm -rf --one-file-system '$rootfs'" EXIT

  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.debootstrap.log" 2>&1 || {
    tail -n 30 "$rootfs.debootstrap.log" >&2
    die "debootstrap failed (log: $rootfs.debootstrap.log)"
  }
  rm -f "$rootfs.debootstrap.log"
  log "debootstrap done ($(($(date +%s) - t0))s)"

  {
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    [[ -n "$security" ]] && echo "deb $security $suite-security main"
  } >"$rootfs/etc/apt/sources.list"
  # No services may start inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod +x "$rootfs/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  mount -t proc proc "$rootfs/proc"

  chroot "$rootfs" /bin/sh -euc '
    export DEBIAN_FRONTEND=noninteractive LC_ALL=C
    apt-get update -q
    apt-get install -y -q --no-install-recommends rabbitmq-server
    apt-get clean
  ' >"$rootfs.apt.log" 2>&1 || {
    tail -n 30 "$rootfs.apt.log" >&2
    die "apt-get install rabbitmq-server failed in the chroot (log: $rootfs.apt.log)"
  }
  rm -f "$rootfs.apt.log"
  umount "$rootfs/proc"
  # shellcheck disable=SC2016 # ${Version} is a dpkg-query format field.
  log "rabbitmq-server $(chroot "$rootfs" dpkg-query -W -f='${Version}' rabbitmq-server) installed ($(($(date +%s) - t0))s)"

  # Plugins of the official management image, if Debian packages them (enabled offline:
  # enabled_plugins is exactly what `rabbitmq-plugins enable --offline` writes).
  local plugins=() p
  for p in rabbitmq_management rabbitmq_prometheus; do
    compgen -G "$rootfs/usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins/$p-*" >/dev/null && plugins+=("$p")
  done
  if ((${#plugins[@]})); then
    (IFS=,; printf '[%s].\n' "${plugins[*]}") >"$rootfs/etc/rabbitmq/enabled_plugins"
    log "enabled plugins: ${plugins[*]}"
  else
    log "no management plugin packaged: AMQP only"
  fi

  install -m 0755 "$here/entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
  rm -f "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/tmp/* "$rootfs"/var/lib/rabbitmq/mnesia
  find "$rootfs/var/log" -type f -delete # keep the directories: /var/log/rabbitmq belongs to rabbitmq

  tar --numeric-owner -C "$rootfs" -c . | docker import \
    --message "worker-rabbitmq local build (Debian $suite rabbitmq-server)" \
    --change 'ENV LANG=C.UTF-8 RABBITMQ_LOGS=- RABBITMQ_SASL_LOGS=-' \
    --change 'EXPOSE 4369 5671 5672 15671 15672 15692 25672' \
    --change 'WORKDIR /var/lib/rabbitmq' \
    --change "LABEL worker.recipe-hash=${tag##*-local-} org.opencontainers.image.description=RabbitMQ-from-Debian-$suite" \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["rabbitmq-server"]' \
    - "$tag" >/dev/null
  docker tag "$tag" "$repo_name:local"
  # Images of older recipes are dead weight (~160 MB each); one still used by a container stays.
  local old
  for old in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "$repo_name" | grep -E ":local-[0-9a-f]+$" | grep -vxF "$tag"); do
    docker image rm "$old" >/dev/null 2>&1 && log "removed the outdated image $old"
  done
  log "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1048576}'), took $(($(date +%s) - t0))s)"
}

check() {
  local name t0 i
  name="worker-rabbitmq-check-$$"
  t0=$(date +%s)
  docker run -d --name "$name" -e RABBITMQ_DEFAULT_USER=check -e RABBITMQ_DEFAULT_PASS=check "$tag" >/dev/null
  for ((i = 0; i < 90; i++)); do
    if docker logs "$name" 2>&1 | grep -q 'Server startup complete'; then
      docker rm -f "$name" >/dev/null
      log "check: $tag started in $(($(date +%s) - t0))s"
      return 0
    fi
    sleep 1
  done
  docker logs "$name" 2>&1 | tail -n 40 >&2
  docker rm -f "$name" >/dev/null 2>&1 || true
  die "check: no \"Server startup complete\" from $tag within 90 s"
}

# One build at a time on this machine (test, demo and bench scripts may race).
exec 9>"/tmp/worker-rabbitmq-build.lock"
flock 9
if ((force)) || ! image_exists "$tag"; then
  build
else
  log "reusing $tag"
fi
if ((check)); then check; fi
echo "$tag"
