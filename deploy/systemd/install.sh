#!/usr/bin/env bash
# Installs the LLM worker as systemd services (framework-dependent .NET apps, run by the system's dotnet):
#   1. dotnet publish -c Release: Worker.Runtime, Worker.Host, Worker.Simulator;
#   2. the apps under PREFIX (default /opt/llm-worker): runtime/, worker/, simulator/ (root-owned, read-only
#      for the services);
#   3. system group llm-worker, users llm-worker (the worker) and worker-runtime (the runtime, primary group
#      llm-worker so that the worker can reach its socket);
#   4. units worker-runtime.service, llm-worker.service, llm-worker-simulator.service in /etc/systemd/system,
#      with ExecStart pointing at this machine's dotnet and PREFIX;
#   5. env files /etc/llm-worker/{runtime,worker,simulator}.env from the templates, never overwriting one
#      that exists (root:llm-worker 0640: worker.env holds secrets);
#   6. systemctl daemon-reload, then prints how to enable and start.
#
# Usage: sudo deploy/systemd/install.sh [--prefix DIR] [--root DIR] [--no-publish] [--publish-dir DIR]
#   --prefix DIR       install location of the apps (default /opt/llm-worker)
#   --root DIR         stage everything under DIR (like DESTDIR=DIR): no useradd, chown or systemctl, no root
#                      needed. The units still name the final paths (PREFIX, not DIR/PREFIX).
#   --no-publish       do not publish; with --publish-dir, copy that tree (runtime/ worker/ simulator/);
#                      without it, install units and env files only (the app directories stay empty)
#   --publish-dir DIR  where to publish to / copy from (default: a temporary directory)
#   --dotnet PATH      the dotnet executable for ExecStart (default: `command -v dotnet`, symlinks resolved)
# Environment: DESTDIR (same as --root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
prefix=/opt/llm-worker
root="${DESTDIR:-}"
publish=1
publish_dir=""
dotnet=""

log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

while (($#)); do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift ;;
    --root) root="${2:?--root needs a directory}"; shift ;;
    --no-publish) publish=0 ;;
    --publish-dir) publish_dir="${2:?--publish-dir needs a directory}"; shift ;;
    --dotnet) dotnet="${2:?--dotnet needs a path}"; shift ;;
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

[[ "$prefix" == /* ]] || die "--prefix must be absolute (got $prefix)"
prefix="${prefix%/}"
if [[ -n "$root" ]]; then
  mkdir -p "$root"
  root="$(cd "$root" && pwd)"
  [[ "$root" != / ]] || root=""
fi
staged=0
[[ -n "$root" ]] && staged=1
if ((!staged)) && [[ $EUID -ne 0 ]]; then
  die "run as root (or stage into a directory with --root DIR)"
fi

# The dotnet the services run. ProtectHome=yes hides /home, /root and /run/user from them: a per-user
# install (~/.dotnet) would not be executable by the services.
if [[ -z "$dotnet" ]]; then
  dotnet="$(command -v dotnet)" || die "dotnet not found on PATH: install the .NET 10 runtime (ASP.NET Core runtime for the simulator) system-wide, or pass --dotnet PATH"
fi
dotnet="$(readlink -f "$dotnet")"
[[ -x "$dotnet" ]] || die "$dotnet is not executable"
case "$dotnet" in
  /home/* | /root/* | /run/user/*) die "$dotnet is under a home directory, which the units hide (ProtectHome=yes): install dotnet system-wide (e.g. /usr/share/dotnet or /usr/lib/dotnet)" ;;
esac

apps=(runtime:Worker.Runtime worker:Worker.Host simulator:Worker.Simulator)
units=(worker-runtime.service llm-worker.service llm-worker-simulator.service)

tmp_publish=""
cleanup() { [[ -z "$tmp_publish" ]] || rm -rf "$tmp_publish"; }
trap cleanup EXIT

# 1. publish
if ((publish)); then
  if [[ -z "$publish_dir" ]]; then
    tmp_publish="$(mktemp -d)"
    publish_dir="$tmp_publish"
  fi
  for app in "${apps[@]}"; do
    dir="${app%%:*}" project="${app#*:}"
    log "dotnet publish src/$project -c Release -> $publish_dir/$dir"
    dotnet publish "$repo/src/$project/$project.csproj" -c Release -p:UseAppHost=false -o "$publish_dir/$dir" -v quiet -nologo \
      || die "dotnet publish of $project failed"
  done
fi

# 2. apps
for app in "${apps[@]}"; do
  dir="${app%%:*}" project="${app#*:}"
  target="$root$prefix/$dir"
  install -d -m 0755 "$target"
  if [[ -n "$publish_dir" ]]; then
    [[ -f "$publish_dir/$dir/$project.dll" ]] || die "$publish_dir/$dir/$project.dll not found"
    # Replace the previous version entirely (stale assemblies must not linger).
    find "$target" -mindepth 1 -delete
    cp -R "$publish_dir/$dir/." "$target/"
    chmod -R u=rwX,go=rX "$target"
    ((staged)) || chown -R root:root "$target"
    log "installed $project in $prefix/$dir"
  fi
done

# 3. users
if ((!staged)); then
  getent group llm-worker >/dev/null || groupadd --system llm-worker
  if ! getent passwd llm-worker >/dev/null; then
    useradd --system --gid llm-worker --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin \
      --comment "LLM worker" llm-worker
  fi
  if ! getent passwd worker-runtime >/dev/null; then
    useradd --system --gid llm-worker --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin \
      --comment "LLM worker connector runtime" worker-runtime
  fi
  log "users llm-worker and worker-runtime, group llm-worker: present"
fi

# 4. units, with this machine's dotnet and prefix
unit_dir="$root/etc/systemd/system"
install -d -m 0755 "$unit_dir"
escape() { printf '%s' "$1" | sed 's/[&|\\]/\\&/g'; }
for unit in "${units[@]}"; do
  sed -e "s|/usr/bin/dotnet |$(escape "$dotnet") |g" -e "s|/opt/llm-worker/|$(escape "$prefix")/|g" \
    "$here/$unit" >"$unit_dir/$unit.tmp"
  chmod 0644 "$unit_dir/$unit.tmp"
  mv -f "$unit_dir/$unit.tmp" "$unit_dir/$unit"
  log "installed $unit_dir/$unit"
done

# 5. env files (never overwritten: they hold the site's settings and secrets)
env_dir="$root/etc/llm-worker"
install -d -m 0755 "$env_dir"
for name in runtime worker simulator; do
  target="$env_dir/$name.env"
  if [[ -e "$target" ]]; then
    log "kept existing $target"
    continue
  fi
  install -m 0640 "$here/$name.env" "$target"
  ((staged)) || chown root:llm-worker "$target"
  log "installed $target (from the template: edit it)"
done

# 6. systemd
if ((staged)); then
  log "staged into $root: no systemctl calls"
  exit 0
fi
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
  log "systemctl daemon-reload: done"
else
  log "systemd is not running here: skipped systemctl daemon-reload"
fi
cat <<EOF

Next steps:
  1. Edit /etc/llm-worker/worker.env (RabbitMq__Uri, OPENAI_API_KEY or USE_SIMULATOR=true) and
     /etc/llm-worker/runtime.env (Runtime__AllowedHosts__0).
  2. Enable and start:
       systemctl enable --now worker-runtime.service llm-worker.service
     With the simulator (USE_SIMULATOR=true):
       systemctl enable --now llm-worker-simulator.service
  3. Check:
       systemctl status worker-runtime llm-worker
       journalctl -u llm-worker -f
EOF
