#!/usr/bin/env bash
# Shared helpers for the scripts in scripts/ and scripts/lib/. Source it; it defines functions only.
# LOG_PREFIX names the calling script in progress lines (default: the entry script's file name).

[[ -n "${_WORKER_COMMON_SH:-}" ]] && return 0
_WORKER_COMMON_SH=1

: "${LOG_PREFIX:=$(basename "${0:-worker}")}"

log() { printf '[%s] %s\n' "$LOG_PREFIX" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$LOG_PREFIX" "$*" >&2; exit 1; }

# Seconds since the epoch; used for the "(took Ns)" progress suffixes.
now_s() { date +%s; }

# Installs the given Debian packages that are not installed yet, non-interactively.
# Runs `apt-get update` only when there are no package lists or the first install attempt fails.
apt_ensure() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  [[ $EUID -eq 0 ]] || die "need root to install: ${missing[*]}"
  local t0; t0=$(now_s)
  log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  local apt_opts=(-y -q -o Dpkg::Use-Pty=0 --no-install-recommends)
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt-get update -q >/dev/null
  fi
  if ! apt-get install "${apt_opts[@]}" "${missing[@]}" >/tmp/worker-apt.log 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update -q >/dev/null
    apt-get install "${apt_opts[@]}" "${missing[@]}" >/tmp/worker-apt.log 2>&1 \
      || { tail -n 30 /tmp/worker-apt.log >&2; die "apt-get install ${missing[*]} failed (log: /tmp/worker-apt.log)"; }
  fi
  log "installed ${missing[*]} (took $(($(now_s) - t0))s)"
}

# tcp_open HOST PORT [TIMEOUT_S]: succeeds when a TCP connection can be opened.
# shellcheck disable=SC2016 # $1/$2 expand in the inner bash.
tcp_open() {
  timeout "${3:-5}" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}
