# Orthanc with its DICOMweb plugin, from Debian's packages (see scripts/provision.sh).
# Sourced by stack.sh; see the contract in its header.
# shellcheck shell=bash
ORTHANC_PORT="${STACK_ORTHANC_PORT:-18042}"
ORTHANC_DIR="$CACHE_DIR/orthanc"
ORTHANC_READY_TIMEOUT=30

svc_orthanc_prepare() {
  command -v Orthanc >/dev/null || die "Orthanc is not installed: run scripts/provision.sh (Debian packages orthanc, orthanc-dicomweb)"
  [[ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]] || die "the Orthanc DICOMweb plugin is missing: apt-get install orthanc-dicomweb"
  mkdir -p "$ORTHANC_DIR/config" "$ORTHANC_DIR/db"
  # DicomWeb.Host is left out on purpose: Debian's default ("localhost") drops the
  # port from BulkDataURIs; without it Orthanc uses the request's Host header.
  # Orthanc has no bind-address option: RemoteAccessAllowed=false refuses every
  # non-loopback HTTP client, and the DICOM (DIMSE) port is switched off.
  cat >"$ORTHANC_DIR/config/orthanc.json" <<JSON
{
  "Name": "covid-triage-test-archive",
  "StorageDirectory": "$ORTHANC_DIR/db",
  "IndexDirectory": "$ORTHANC_DIR/db",
  "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
  "HttpPort": $ORTHANC_PORT,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "DicomServerEnabled": false,
  "StableAge": ${STACK_ORTHANC_STABLE_AGE:-2},
  "OverwriteInstances": true,
  "SaveJobs": false,
  "DicomWeb": {
    "Enable": true,
    "Root": "/dicom-web/",
    "StudiesMetadata": "Full",
    "SeriesMetadata": "Full"
  }
}
JSON
}

svc_orthanc_launch() {
  stack_spawn orthanc /usr/sbin/Orthanc "$ORTHANC_DIR/config" --no-jobs
}

svc_orthanc_ready() {
  curl -fsS --max-time 2 "http://127.0.0.1:$ORTHANC_PORT/system" >/dev/null &&
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$ORTHANC_PORT/dicom-web/studies"
}

svc_orthanc_env() {
  echo "ORTHANC_URL=http://127.0.0.1:$ORTHANC_PORT"
  echo "DICOMWEB_BASE_URL=http://127.0.0.1:$ORTHANC_PORT/dicom-web"
}
