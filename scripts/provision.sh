#!/usr/bin/env bash
# Installs everything a clean Debian 12 machine lacks for building, the local
# stack and the tests, from the package registries only: Debian packages,
# Node 24 + npm dependencies (npm registry), Python test tools (PyPI), Maven
# artifacts (Maven Central, on first `stack:up`). Safe to run again: each step skips what is already there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# Orthanc + DICOMweb for the archive, dicom3tools (dciodvfy) and DCMTK to validate
# DICOM, a JDK (javac: the Kafka readiness probe) and Maven for Kafka and HAPI FHIR, openssl
# for the broker's throwaway test certificates; umoci, runc and jq to build and run the
# container image without Docker (scripts/image).
DEBIAN_PACKAGES=(orthanc orthanc-dicomweb dicom3tools dcmtk openjdk-17-jdk-headless maven curl ca-certificates openssl
  umoci runc jq)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=(); ((EUID == 0)) || SUDO=(sudo)
  log "installing Debian packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -q
  # policy-rc.d keeps the orthanc package from starting its own service on 8042/4242:
  # the stack runs its own Orthanc on another port and only that one.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod +x /usr/sbin/policy-rc.d
    trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "Debian packages present"
fi

bash "$REPO_ROOT/scripts/bootstrap.sh"

# The independent Python tools the tests compare against (pydicom, highdicom, dicom3tools).
source "$REPO_ROOT/scripts/lib/python.sh"
use_venv

# moto's server mode: the local AWS (SQS) the intake's HealthImaging adapter is tested against.
source "$REPO_ROOT/scripts/lib/moto.sh"
use_moto
