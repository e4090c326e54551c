#!/usr/bin/env bash
# The image's operating-system layer, distroless-style: only the Debian 12 packages the
# worker needs at run time, unpacked with dpkg-deb -x, no maintainer scripts run, no package
# manager, no shell, no coreutils. What runs is Node (glibc, libstdc++, libgcc_s, libatomic)
# and onnxruntime's shared library (the same, plus librt/libdl/libpthread, all in libc6).
#
#   debian-rootfs.sh versions   prints package=version for each package (the layer's cache key)
#   debian-rootfs.sh fill DIR   downloads the .debs (apt-get download: the Debian mirror only)
#                               and fills DIR
#
# Why not mmdebstrap --variant=minbase: minbase is Essential: yes, i.e. bash, dash,
# coreutils, dpkg, apt, perl-base (~70 MB more); the worker needs none of them, and a shell
# in the image is what an attacker who got code execution would want first. Why no maintainer
# scripts: they need that shell; the two things they would have done (the CA bundle,
# /etc/localtime) are done here instead. dpkg status is written the way distroless does
# (/var/lib/dpkg/status.d/<package>), which scanners (syft, trivy, grype) read.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# base-files: /etc/os-release (how scanners know the distribution) and the licence texts.
# netbase: /etc/services and /etc/protocols for getaddrinfo. tzdata: timestamps in local time
# if TZ is set. ca-certificates: the Mozilla roots (Node uses its own copy unless
# NODE_USE_SYSTEM_CA=1; a hospital CA is added with NODE_EXTRA_CA_CERTS). zlib1g: cuDNN needs
# libz.so.1 (the CUDA image, build-cuda.sh); one OS layer serves both images (Node links its own zlib).
RUNTIME_PACKAGES=(base-files netbase tzdata ca-certificates gcc-12-base libgcc-s1 libc6 libatomic1 libstdc++6 zlib1g)
DEB_CACHE="$IMAGE_CACHE/debs"

# package=version for each runtime package: the candidate versions, from one apt-cache call
# (one call per package re-reads every package list: seconds each).
candidate_versions() {
  apt-cache show --no-all-versions "${RUNTIME_PACKAGES[@]}" 2>/dev/null |
    awk '/^Package: /{p=$2} /^Version: /{print p "=" $2}'
}

versions() {
  local found
  found="$(candidate_versions)"
  if [[ $(wc -l <<<"$found") -ne ${#RUNTIME_PACKAGES[@]} ]]; then
    # A machine whose package lists were never fetched (a fresh container, a cleaned VM).
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    log "apt-get update (package lists missing or stale)"
    "${sudo[@]}" apt-get update -q >&2
    found="$(candidate_versions)"
    [[ $(wc -l <<<"$found") -eq ${#RUNTIME_PACKAGES[@]} ]] ||
      die "no candidate version for some of ${RUNTIME_PACKAGES[*]}: $found"
  fi
  printf '%s\n' "$found"
}

fill() {
  local tree=$1 spec pkg version deb
  mkdir -p "$DEB_CACHE" "$tree/var/lib/dpkg/status.d"
  for spec in $(versions); do
    pkg=${spec%%=*} version=${spec#*=}
    deb=$(compgen -G "$DEB_CACHE/${pkg}_${version//:/%3a}_*.deb" || true)
    if [[ -z $deb ]]; then
      # _apt cannot write into a root-owned cache folder; the download then runs as the caller.
      (cd "$DEB_CACHE" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "$spec" >&2)
      deb=$(compgen -G "$DEB_CACHE/${pkg}_${version//:/%3a}_*.deb") || die "apt-get download $spec left no .deb"
    fi
    dpkg-deb --extract "$deb" "$tree"
    # The control fields (Package, Version, Source, Architecture, …): what the SBOM and scanners read.
    dpkg-deb --field "$deb" >"$tree/var/lib/dpkg/status.d/$pkg"
  done

  # Nothing that needs a shell or a package manager, no documentation except the licences.
  rm -rf "$tree/etc/update-motd.d" "$tree/usr/sbin/update-ca-certificates" \
    "$tree/usr/share/man" "$tree/usr/share/info" "$tree/usr/share/lintian" "$tree/usr/share/doc-base"
  find "$tree/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
  find "$tree/usr/share/doc" -mindepth 1 -type d -empty -delete

  # What ca-certificates' postinst (update-ca-certificates) would have written: every enabled
  # root, concatenated in name order.
  mkdir -p "$tree/etc/ssl/certs"
  local cert
  for cert in $(cd "$tree" && LC_ALL=C find usr/share/ca-certificates/mozilla -name '*.crt' | LC_ALL=C sort); do
    sed -e '$a\' "$tree/$cert"
  done >"$tree/etc/ssl/certs/ca-certificates.crt"

  # What tzdata's postinst would have set: UTC.
  ln -sf /usr/share/zoneinfo/Etc/UTC "$tree/etc/localtime"
  echo Etc/UTC >"$tree/etc/timezone"

  # The worker's user (the chart's runAsUser/runAsGroup), with no shell and no home.
  cat >"$tree/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
triage:x:10001:10001:covid-ct-triage worker:/nonexistent:/usr/sbin/nologin
EOF
  cat >"$tree/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
triage:x:10001:
EOF
  printf 'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' \
    >"$tree/etc/nsswitch.conf"
  # Mount points the runtime (Kubernetes, runc, podman) binds over; a read-only root cannot
  # have them created later.
  : >"$tree/etc/hosts"
  : >"$tree/etc/resolv.conf"
  : >"$tree/etc/hostname"
  mkdir -p "$tree/proc" "$tree/sys" "$tree/dev" "$tree/tmp" "$tree/app"
}

case "${1:-}" in
  versions) versions ;;
  fill) fill "${2:?usage: debian-rootfs.sh fill DIR}" ;;
  *) die "usage: debian-rootfs.sh versions | fill DIR" ;;
esac
