# shellcheck shell=bash
# HAPI FHIR JPA R4 server (H2 in memory, nothing persisted), built from tools/fhir-server
# (a small Spring Boot app). Sourced by stack.sh; see the contract in its header.
# Two ports: the plain one, unauthenticated as always, and a secured one (HTTPS with a certificate
# from the stack CA, lib/tls.sh) that admits only access tokens of the authorization server
# (services/auth.sh) carrying the SMART scopes each interaction needs (SecuredPortConfig).
# Env: STACK_FHIR_PORT (18080; base URL http://127.0.0.1:<port>/fhir),
#      STACK_FHIR_SECURE_PORT (STACK_FHIR_PORT + 3: 18083; https://127.0.0.1:<port>/fhir),
#      STACK_FHIR_JAVA (java binary, Java 17+; default java on PATH),
#      STACK_FHIR_JAVA_OPTS (default below; add -Dfhir.validator-warmup=false to skip the
#      server's validator warm-up: start-up is then ~5 s shorter, the first $validate slower),
#      STACK_FHIR_CDS=0 to skip the class-data-sharing archive: saves ~1-2 min on the first
#      prepare after a source change, but every start then costs ~10 s more.
# Everything lives under $CACHE_DIR/fhir: build/ (Maven output), fhir-server.jar (the
# executable jar), app/ (that jar extracted, + app.jsa), build.hash, cds-*.log, tls/ (the secured
# port's certificate and key: made on each fresh launch, kept by resume while they chain to the CA).

# Read by stack.sh's wait_ready through an indirect reference.
# shellcheck disable=SC2034
FHIR_READY_TIMEOUT=${FHIR_READY_TIMEOUT:-180}
# Absolute even if TRIAGE_CACHE_DIR is relative: the CDS archive records the jar paths.
_fhir_dir="$(cd "$CACHE_DIR" && pwd)/fhir"

# Measured on 2 shared cores: C1 only (TieredStopAtLevel=1) halves the start-up CPU time, and
# SerialGC keeps RSS near 830 MiB instead of 1.2-1.5 GiB with G1, at no cost in start time.
_fhir_java_opts="${STACK_FHIR_JAVA_OPTS:--Xmx1536m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC}"

_fhir_port() { echo "${STACK_FHIR_PORT:-18080}"; }
_fhir_secure_port() { echo "${STACK_FHIR_SECURE_PORT:-$(($(_fhir_port) + 3))}"; }
# Also the aud of the authorization server's access tokens (auth.sh).
_fhir_secure_base_url() { echo "https://127.0.0.1:$(_fhir_secure_port)/fhir"; }
_fhir_java() { echo "${STACK_FHIR_JAVA:-java}"; }

# Hash of the sources and POM, plus the JDK (a CDS archive only fits the JDK that dumped it)
# and this file (it holds the CDS recipe).
_fhir_hash() {
  local self=${BASH_SOURCE[0]}
  self="$(cd "$(dirname "$self")" && pwd)/$(basename "$self")"
  (cd "$REPO_ROOT/tools/fhir-server" &&
    { "$(_fhir_java)" -version 2>&1; find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum "$self"; } |
    sha256sum | cut -c1-16)
}

svc_fhir_prepare() {
  local dir=$_fhir_dir hash
  command -v mvn >/dev/null || die "fhir: Maven (mvn) is not installed"
  hash=$(_fhir_hash) || die "fhir: cannot run '$(_fhir_java)' (set STACK_FHIR_JAVA)"
  if [[ -f $dir/app/fhir-server.jar && "$(cat "$dir/build.hash" 2>/dev/null)" == "$hash" ]]; then
    return 0
  fi
  # A server still running the old build would never pass the new readiness check (its secured
  # port, say), and the jar would be swapped under it: say so instead of waiting 3 minutes.
  if stack_pid fhir >/dev/null; then die "fhir: tools/fhir-server or fhir.sh changed; run 'stack.sh down fhir' first"; fi
  log "fhir: building tools/fhir-server (the first build downloads ~300 MB from Maven Central)"
  rm -f "$dir/build.hash"
  mvn -q -B -f "$REPO_ROOT/tools/fhir-server/pom.xml" package -DskipTests -Dfhir.build.dir="$dir/build"
  mv -f "$dir/build/fhir-server.jar" "$dir/fhir-server.jar" # mv: it is 300 MB
  # Extracted layout (thin jar + lib/): CDS cannot archive classes from jars nested in the fat jar.
  rm -rf "$dir/app"
  "$(_fhir_java)" -Djarmode=tools -jar "$dir/fhir-server.jar" extract --destination "$dir/app" >/dev/null
  if [[ ${STACK_FHIR_CDS:-1} != 0 ]]; then
    _fhir_build_cds "$dir/app" || log "fhir: CDS archive not built; starting without it (see $dir/cds-*.log)"
  fi
  echo "$hash" >"$dir/build.hash"
}

# AppCDS: record the classes a real run loads (start-up plus one $validate and one transaction,
# so the validator's classes are included), then dump them into a static archive. Java 17's
# dynamic archive (-XX:ArchiveClassesAtExit) and a static dump of the full class list both
# SIGSEGV in SystemDictionaryShared::adjust_lambda_proxy_class_dictionary, so the
# @lambda-proxy entries are dropped from the list.
_fhir_build_cds() {
  local app=$1 log_dir=$_fhir_dir java opts pid port="" t0=$SECONDS h='Content-Type: application/fhir+json'
  log "fhir: recording classes for the CDS archive (training run)"
  rm -f "$app/classes.lst" "$app/app.jsa"
  java=$(_fhir_java)
  read -r -a opts <<<"$_fhir_java_opts"
  "$java" "${opts[@]}" -XX:DumpLoadedClassList="$app/classes.lst" -jar "$app/fhir-server.jar" --server.port=0 \
    >"$log_dir/cds-train.log" 2>&1 </dev/null &
  pid=$!
  while [[ -z $port ]] && kill -0 "$pid" 2>/dev/null && ((SECONDS - t0 < 300)); do
    sleep 1
    port=$(sed -n 's/.*Tomcat started on port \([0-9]*\).*/\1/p' "$log_dir/cds-train.log" | head -n 1)
  done
  if [[ -n $port ]]; then
    local base="http://127.0.0.1:$port/fhir"
    # 503 until the server's own warm-up is done
    until curl -fs -o /dev/null "$base/metadata" || ! kill -0 "$pid" 2>/dev/null || ((SECONDS - t0 > 300)); do sleep 1; done
    curl -sS -o /dev/null -X POST "$base/DiagnosticReport/\$validate" -H "$h" \
      -d '{"resourceType":"DiagnosticReport","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"24627-2"}]}}' || true
    curl -sS -o /dev/null -X POST "$base" -H "$h" -d '{"resourceType":"Bundle","type":"transaction","entry":[
      {"fullUrl":"urn:uuid:0f2b8a4e-0000-4000-8000-000000000001","request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=urn:x|o"},
       "resource":{"resourceType":"Observation","identifier":[{"system":"urn:x","value":"o"}],"status":"final","code":{"text":"x"}}},
      {"request":{"method":"POST","url":"DiagnosticReport","ifNoneExist":"identifier=urn:x|r"},
       "resource":{"resourceType":"DiagnosticReport","identifier":[{"system":"urn:x","value":"r"}],"status":"final","code":{"text":"x"},
                   "result":[{"reference":"urn:uuid:0f2b8a4e-0000-4000-8000-000000000001"}]}}]}' || true
    curl -sS -o /dev/null "$base/DiagnosticReport?identifier=urn:x|r&_include=DiagnosticReport:result" || true
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [[ -n $port && -s $app/classes.lst ]] || return 1
  log "fhir: dumping the CDS archive"
  grep -v '^@lambda-proxy' "$app/classes.lst" >"$app/classes-cds.lst"
  "$java" -Xshare:dump -XX:SharedClassListFile="$app/classes-cds.lst" -XX:SharedArchiveFile="$app/app.jsa" \
    -jar "$app/fhir-server.jar" >"$log_dir/cds-dump.log" 2>&1
}

svc_fhir_launch() {
  local app="$_fhir_dir/app" tls="$_fhir_dir/tls" opts p
  for p in "$(_fhir_port)" "$(_fhir_secure_port)"; do
    ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || die "fhir: port $p is already in use (set STACK_FHIR_PORT, STACK_FHIR_SECURE_PORT)"
  done
  if [[ ${STACK_KEEP_STATE:-0} != 1 ]] || ! stack_tls_current "$tls/server.crt"; then
    rm -rf "$tls"
    stack_tls_issue "$tls" server "/CN=127.0.0.1" serverAuth "$STACK_TLS_SERVER_SAN"
  fi
  read -r -a opts <<<"$_fhir_java_opts"
  # An archive that no longer matches the jars is ignored by the JVM (with a warning in the log).
  [[ -f $app/app.jsa ]] && opts+=("-XX:SharedArchiveFile=$app/app.jsa")
  stack_spawn fhir "$(_fhir_java)" "${opts[@]}" -jar "$app/fhir-server.jar" --server.port="$(_fhir_port)" \
    --fhir.secure.port="$(_fhir_secure_port)" --fhir.secure.certificate="$tls/server.crt" \
    --fhir.secure.private-key="$tls/server.key" --fhir.secure.ca-file="$STACK_TLS_CA_FILE" \
    --fhir.secure.issuer="$(_auth_issuer)" --fhir.secure.audience="$(_fhir_secure_base_url)"
}

svc_fhir_ready() {
  curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$(_fhir_port)/fhir/metadata" &&
    curl -fsS -o /dev/null --max-time 5 --cacert "$STACK_TLS_CA_FILE" "$(_fhir_secure_base_url)/metadata"
}

svc_fhir_env() {
  echo "FHIR_BASE_URL=http://127.0.0.1:$(_fhir_port)/fhir"
  echo "FHIR_SECURED_BASE_URL=$(_fhir_secure_base_url)"
}
