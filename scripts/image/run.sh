#!/usr/bin/env bash
# Runs the image that build-cpu.sh wrote, here, with runc (Debian) and no Docker: the way the
# Helm chart runs it, as far as one machine can: user 10001, read-only root filesystem, /tmp
# a tmpfs, no capabilities, no new privileges, the host's network (the local stack listens on
# 127.0.0.1 only). The container runs in the foreground; its stdout/stderr are this script's.
#
#   run.sh [--name ID] [--env-file FILE] [-e NAME=VALUE …] [--mount SRC:DEST …] [--layout DIR]
#          [--ref TAG] [-- ARG …]
#
# ARGs replace the image's CMD (e.g. -- node --version). An env file holds NAME=VALUE lines.
# --mount binds a host folder read-only (a CA bundle, a model set); DEST under /tmp or an
# existing folder (runc would create a new mount point in the shared unpacked rootfs).
#
# Why runc and not crun or podman: crun 1.8 (bookworm) refuses this kind of machine's hybrid
# cgroup layout ("cgroups in hybrid mode not supported"), runc 1.1 handles cgroup v1, v2 and
# hybrid; podman would add its storage, network and a conmon per container for nothing here.
# Why root: rootless runc needs user namespaces with subordinate ids and a cgroup delegation
# this machine may not have; the process inside is still uid 10001 without capabilities.
# The rootfs is unpacked once per image digest by umoci (Debian), which checks every blob's
# digest on the way: a second, independent reader of the layout oci-layout.mjs wrote.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

name="triage-$$"
layout="$IMAGE_CACHE/cpu/oci"
ref="$IMAGE_VERSION"
env_file=""
extra_env=()
extra_mounts='[]'
args=()
while (($#)); do
  case "$1" in
    --name) name=$2 && shift 2 ;;
    --env-file) env_file=$2 && shift 2 ;;
    -e) extra_env+=("$2") && shift 2 ;;
    --mount)
      extra_mounts=$(jq -c --arg src "$(realpath "${2%%:*}")" --arg dest "${2#*:}" \
        '. + [{destination: $dest, type: "bind", source: $src, options: ["rbind", "ro"]}]' <<<"$extra_mounts")
      shift 2
      ;;
    --layout) layout=$2 && shift 2 ;;
    --ref) ref=$2 && shift 2 ;;
    --) shift && args=("$@") && break ;;
    *) die "unknown argument $1 (see the header of $0)" ;;
  esac
done

((EUID == 0)) || die "run.sh needs root (runc without user namespaces); the container itself runs as 10001"
require_debian_packages runc umoci jq
[[ -f $layout/index.json ]] || die "no image at $layout: run npm run image:build first"

# The manifest the tag names, and its config (user, env, workdir, cmd).
blob() { cat "$layout/blobs/${1/://}"; }
manifest=$(jq -r --arg ref "$ref" \
  '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $ref) | .digest' \
  "$layout/index.json")
[[ -n $manifest ]] || die "no tag $ref in $layout/index.json"
image_config=$(blob "$(blob "$manifest" | jq -r .config.digest)" | jq .config)

# One unpacked rootfs per image digest, shared read-only by every container of that image;
# one folder per tag, so that the CPU and CUDA images do not evict each other.
unpacked="$IMAGE_CACHE/rootfs/$ref/${manifest#sha256:}"
if [[ ! -d $unpacked/rootfs ]]; then
  log "unpacking $ref ($manifest) with umoci"
  rm -rf "$unpacked.tmp" && mkdir -p "$(dirname "$unpacked")"
  umoci unpack --image "$layout:$ref" "$unpacked.tmp" >&2
  # Older digests' rootfs are of no further use.
  find "$(dirname "$unpacked")" -mindepth 1 -maxdepth 1 ! -name "${manifest#sha256:}.tmp" -exec rm -rf {} +
  mv "$unpacked.tmp" "$unpacked"
fi

# Appends each argument to the JSON array $1 as one string (newlines included; jq --args
# would take an argument such as -e for one of its own options).
json_append() {
  local array=$1 item
  shift
  for item in "$@"; do array=$(jq -c --arg item "$item" '. + [$item]' <<<"$array"); done
  printf '%s\n' "$array"
}

env_json=$(
  {
    jq -r '.Env[]?' <<<"$image_config"
    [[ -z $env_file ]] || grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$env_file" || true
  } | jq -R . | jq -s .
)
((${#extra_env[@]} == 0)) || env_json=$(json_append "$env_json" "${extra_env[@]}")
if ((${#args[@]})); then
  args_json=$(json_append '[]' "${args[@]}")
else
  args_json=$(jq '(.Entrypoint // []) + (.Cmd // [])' <<<"$image_config")
fi
user=$(jq -r '.User // "0:0"' <<<"$image_config")
uid=${user%%:*} gid=${user#*:}
[[ $user == *:* ]] || gid=$uid

bundle="$IMAGE_CACHE/run/$name"
rm -rf "$bundle" && mkdir -p "$bundle"
# The OCI runtime spec (runtime-spec 1.0): what Kubernetes would ask of the container runtime
# for the chart's pod, minus the network namespace (host network) and cgroup limits.
jq -n --arg rootfs "$unpacked/rootfs" --arg name "$name" --argjson env "$env_json" --argjson args "$args_json" \
  --argjson uid "$uid" --argjson gid "$gid" --argjson extra_mounts "$extra_mounts" --arg cwd "$(jq -r '.WorkingDir // "/"' <<<"$image_config")" '{
  ociVersion: "1.0.2",
  process: {
    terminal: false,
    user: {uid: $uid, gid: $gid},
    args: $args,
    env: $env,
    cwd: $cwd,
    capabilities: {bounding: [], effective: [], inheritable: [], permitted: [], ambient: []},
    noNewPrivileges: true
  },
  root: {path: $rootfs, readonly: true},
  hostname: $name,
  mounts: ([
    {destination: "/proc", type: "proc", source: "proc"},
    {destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {destination: "/dev/pts", type: "devpts", source: "devpts",
     options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]},
    {destination: "/sys", type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"]},
    {destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=1g"]},
    {destination: "/etc/hosts", type: "bind", source: "/etc/hosts", options: ["rbind", "ro"]},
    {destination: "/etc/resolv.conf", type: "bind", source: "/etc/resolv.conf", options: ["rbind", "ro"]}
  ] + $extra_mounts),
  linux: {
    namespaces: [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}],
    maskedPaths: ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}' >"$bundle/config.json"

# A container of the same name left by a killed run would block this one.
runc delete --force "$name" >/dev/null 2>&1 || true
exec runc run --bundle "$bundle" "$name"
