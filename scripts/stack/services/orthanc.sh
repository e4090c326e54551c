# Orthanc with its DICOMweb plugin, from Debian's packages (see scripts/provision.sh).
# Sourced by stack.sh; see the contract in its header.
# shellcheck shell=bash
ORTHANC_PORT="${STACK_ORTHANC_PORT:-18042}"
ORTHANC_DIR="$CACHE_DIR/orthanc"
ORTHANC_READY_TIMEOUT=30

# Basic authentication, as hospital archives have it. The password is generated on
# first use into the cache (never committed); `stack.sh env` prints both.
_orthanc_credentials() {
  local file="$ORTHANC_DIR/credentials"
  if [[ ! -s $file ]]; then
    mkdir -p "$ORTHANC_DIR"
    printf '%s %s\n' "${STACK_ORTHANC_USERNAME:-triage}" "${STACK_ORTHANC_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}" >"$file"
    chmod 600 "$file"
  fi
  read -r ORTHANC_USERNAME ORTHANC_PASSWORD <"$file"
}

svc_orthanc_prepare() {
  command -v Orthanc >/dev/null || die "Orthanc is not installed: run scripts/provision.sh (Debian packages orthanc, orthanc-dicomweb)"
  [[ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]] || die "the Orthanc DICOMweb plugin is missing: apt-get install orthanc-dicomweb"
  mkdir -p "$ORTHANC_DIR/config" "$ORTHANC_DIR/db"
  _orthanc_credentials
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
  "AuthenticationEnabled": true,
  "RegisteredUsers": { "$ORTHANC_USERNAME": "$ORTHANC_PASSWORD" },
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
  _orthanc_credentials
  local auth=(--user "$ORTHANC_USERNAME:$ORTHANC_PASSWORD")
  curl -fsS --max-time 2 "${auth[@]}" -o /dev/null "http://127.0.0.1:$ORTHANC_PORT/system" &&
    # One study at most: listing them all outgrows the 2 s once the tests have stored hundreds.
    curl -fsS --max-time 2 "${auth[@]}" -o /dev/null "http://127.0.0.1:$ORTHANC_PORT/dicom-web/studies?limit=1"
}

svc_orthanc_env() {
  _orthanc_credentials
  echo "ORTHANC_URL=http://127.0.0.1:$ORTHANC_PORT"
  echo "ORTHANC_USERNAME=$ORTHANC_USERNAME"
  echo "ORTHANC_PASSWORD=$ORTHANC_PASSWORD"
  echo "DICOMWEB_BASE_URL=http://127.0.0.1:$ORTHANC_PORT/dicom-web"
}
