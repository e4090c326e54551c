# shellcheck shell=bash
# OAuth2 authorization server (Spring Authorization Server 1.5 in a small Spring Boot app,
# tools/auth-server): client_credentials for the FHIR server's secured port, with client secrets
# and SMART Backend Services keys (private_key_jwt, RS384 and ES384), and for the Kafka broker's
# OAUTHBEARER listener (services/kafka.sh), whose clients get tokens of the broker's own audience. HTTPS only, on 127.0.0.1,
# with a certificate from the stack CA (lib/tls.sh). Sourced by stack.sh; see the contract in its
# header. The clients, scopes and admin API: docs/security.md, "The local authorization server".
# Env: STACK_AUTH_PORT (STACK_FHIR_PORT + 363: 18443, so a second stack that moves only
#      STACK_FHIR_PORT does not collide), STACK_AUTH_JAVA (java binary, Java 17+; default java),
#      STACK_AUTH_SHORT_TOKEN_SECONDS (20: the lifetime of triage-short's tokens).
# Everything lives under $CACHE_DIR/auth: build/ (Maven output), auth-server.jar, build.hash, and,
# made anew on every fresh launch and kept by resume (all 0600):
#   server.crt, server.key     the HTTPS certificate and key
#   signing.key                RSA 2048 key that signs the access tokens (RS256; kid = thumbprint)
#   admin.secret               the admin API's bearer secret
#   <client>.secret            a secret client's secret
#   <client>.key, .pub, .kid   a private_key_jwt client's PKCS#8 private key, public key, key id
#                              (its RFC 7638 thumbprint)
#   auth.properties            the server's configuration (port, TLS, issuer, audience, clients)
# Clients and admin changes live in the server's memory: a restart (resume too) starts from the files.

# Read by stack.sh's wait_ready through an indirect reference.
# shellcheck disable=SC2034
AUTH_READY_TIMEOUT=${AUTH_READY_TIMEOUT:-120}
# Absolute even if TRIAGE_CACHE_DIR is relative: auth.properties names these files.
_auth_dir="$(cd "$CACHE_DIR" && pwd)/auth"

_auth_port() { echo "${STACK_AUTH_PORT:-$((${STACK_FHIR_PORT:-18080} + 363))}"; }
_auth_java() { echo "${STACK_AUTH_JAVA:-java}"; }
_auth_issuer() { echo "https://127.0.0.1:$(_auth_port)"; }

# The resource types the worker's triage bundle writes (libs/fhir/src/triage-bundle.ts).
_auth_write_types=(Patient ImagingStudy Device Observation DiagnosticReport Provenance)
# Write scopes in both SMART forms (v1 .write, v2 .cu) for those types, and every type's read and
# search (v1 system/*.read, v2 system/*.rs): the bundle's conditional creates and the worker's
# report searches need them. A client asks for any subset in its token request.
_auth_write_scopes() {
  local t out=""
  for t in "${_auth_write_types[@]}"; do out+="system/$t.write system/$t.cu "; done
  echo "${out}system/*.read system/*.rs"
}
_auth_read_scopes="system/*.read system/*.rs"
# The Kafka clients' tokens: the audience the broker's OAUTHBEARER listener expects (kafka.sh reads
# it), and the one scope they may ask for (the broker checks none; it keeps the claim non-empty).
_auth_kafka_audience="urn:covid-ct-triage:kafka"
_auth_kafka_scope="kafka"

svc_auth_prepare() {
  local dir=$_auth_dir hash
  command -v mvn >/dev/null || die "auth: Maven (mvn) is not installed"
  hash=$(cd "$REPO_ROOT/tools/auth-server" &&
    { "$(_auth_java)" -version 2>&1; find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum; } |
    sha256sum | cut -c1-16) || die "auth: cannot run '$(_auth_java)' (set STACK_AUTH_JAVA)"
  if [[ -f $dir/auth-server.jar && "$(cat "$dir/build.hash" 2>/dev/null)" == "$hash" ]]; then
    return 0
  fi
  # Swapping the jar under a running JVM ends in NoClassDefFoundError at some later point.
  if stack_pid auth >/dev/null; then die "auth: tools/auth-server changed; run 'stack.sh down auth' first"; fi
  log "auth: building tools/auth-server (the first build downloads up to ~60 MB from Maven Central)"
  mkdir -p "$dir"
  rm -f "$dir/build.hash"
  # Output goes to a file: even with -q -B, Maven 3.8 prints stray ANSI resets.
  mvn -q -B -f "$REPO_ROOT/tools/auth-server/pom.xml" package -DskipTests -Dauth.build.dir="$dir/build" \
    >"$dir/mvn.log" 2>&1 || { tail -n 30 "$dir/mvn.log" >&2; die "auth: Maven build failed (log: $dir/mvn.log)"; }
  mv -f "$dir/build/auth-server.jar" "$dir/auth-server.jar"
  echo "$hash" >"$dir/build.hash"
}

# Random URL-safe text: client secrets, the admin secret.
_auth_random() { head -c "${1:-24}" /dev/urandom | base64 | tr '+/' '-_' | tr -d '='; }

_auth_b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# A private_key_jwt client's key pair: <id>.key (PKCS#8), <id>.pub (SubjectPublicKeyInfo) and
# <id>.kid, the key id: its RFC 7638 JWK thumbprint (SHA-256), as the server registers it and as
# clients compute it by default. kty rsa (exponent 65537, openssl's default) or ec (P-384).
_auth_keypair() {
  local id=$1 kty=$2 n x y
  if [[ $kty == rsa ]]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$id.key"
    openssl pkey -in "$id.key" -pubout -out "$id.pub"
    n=$(openssl rsa -pubin -in "$id.pub" -noout -modulus | cut -d= -f2 | tr -d '\n' |
      perl -pe 's/([0-9A-Fa-f]{2})/chr(hex($1))/ge' | _auth_b64url)
    printf '{"e":"AQAB","kty":"RSA","n":"%s"}' "$n"
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$id.key"
    openssl pkey -in "$id.key" -pubout -out "$id.pub"
    # The DER public key ends with the uncompressed point: x and y, 48 bytes each.
    openssl pkey -pubin -in "$id.pub" -outform DER >"$id.der"
    x=$(tail -c 96 "$id.der" | head -c 48 | _auth_b64url)
    y=$(tail -c 48 "$id.der" | _auth_b64url)
    rm -f "$id.der"
    printf '{"crv":"P-384","kty":"EC","x":"%s","y":"%s"}' "$x" "$y"
  fi | openssl dgst -sha256 -binary | _auth_b64url >"$id.kid"
}

# Every secret and key anew, into a fresh folder moved into place, so a half-made set is never used.
_auth_make_credentials() {
  command -v openssl >/dev/null || die "auth: openssl not found (run scripts/provision.sh)"
  local tmp="$_auth_dir/credentials.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"; chmod 700 "$tmp"
  stack_tls_issue "$tmp" server "/CN=127.0.0.1" serverAuth "$STACK_TLS_SERVER_SAN"
  (
    cd "$tmp"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out signing.key
    _auth_keypair triage-rs384 rsa
    _auth_keypair triage-es384 ec
    _auth_keypair triage-kafka-rs384 rsa
    _auth_random 24 >admin.secret
    local c; for c in triage-secret triage-readonly triage-short triage-kafka; do _auth_random 24 >"$c.secret"; done
    chmod 600 ./*
  ) >"$_auth_dir/openssl.log" 2>&1 || die "auth: could not make the keys and secrets (log: $_auth_dir/openssl.log)"
  local f
  for f in "$tmp"/*; do mv -f "$f" "$_auth_dir/"; done
  rm -rf "$tmp"
}

# The server's configuration; Spring Boot reads it after the jar's application.properties.
_auth_write_properties() {
  local d=$_auth_dir i=0 id methods scopes seconds alg audience
  {
    echo "# Generated by scripts/stack/services/auth.sh on each launch; edit that file instead."
    echo "server.port=$(_auth_port)"
    echo "spring.ssl.bundle.pem.stack.keystore.certificate=file:$d/server.crt"
    echo "spring.ssl.bundle.pem.stack.keystore.private-key=file:$d/server.key"
    echo "auth.issuer=$(_auth_issuer)"
    echo "auth.audience=$(_fhir_secure_base_url)"
    echo "auth.signing-key-file=$d/signing.key"
    echo "auth.admin-secret-file=$d/admin.secret"
    echo "auth.assertion-max-seconds=300"
    # id | authentication methods | scopes | token lifetime (s) | assertion algorithm | audience
    while IFS='|' read -r id methods scopes seconds alg audience; do
      echo "auth.clients[$i].id=$id"
      echo "auth.clients[$i].methods=$methods"
      echo "auth.clients[$i].scopes=$scopes"
      echo "auth.clients[$i].token-seconds=$seconds"
      [[ -z $audience ]] || echo "auth.clients[$i].audience=$audience"
      if [[ -n $alg ]]; then
        echo "auth.clients[$i].alg=$alg"
        echo "auth.clients[$i].public-key-file=$d/$id.pub"
        echo "auth.clients[$i].kid=$(<"$d/$id.kid")"
      else
        echo "auth.clients[$i].secret-file=$d/$id.secret"
      fi
      i=$((i + 1))
    done <<EOF
triage-secret|client_secret_basic,client_secret_post|$(_auth_write_scopes)|300|
triage-rs384|private_key_jwt|$(_auth_write_scopes)|300|RS384
triage-es384|private_key_jwt|$(_auth_write_scopes)|300|ES384
triage-readonly|client_secret_basic,client_secret_post|$_auth_read_scopes|300|
triage-short|client_secret_basic,client_secret_post|$(_auth_write_scopes)|${STACK_AUTH_SHORT_TOKEN_SECONDS:-20}|
triage-kafka|client_secret_basic,client_secret_post|$_auth_kafka_scope|300||$_auth_kafka_audience
triage-kafka-rs384|private_key_jwt|$_auth_kafka_scope|300|RS384|$_auth_kafka_audience
EOF
  } >"$d/auth.properties"
  chmod 600 "$d/auth.properties"
}

# Fresh keys and secrets on every launch, except under `stack.sh resume` (STACK_KEEP_STATE=1),
# which keeps them while the certificate still chains to the stack CA.
svc_auth_launch() {
  local port; port=$(_auth_port)
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "auth: port $port is already in use (set STACK_AUTH_PORT)"
  mkdir -p "$_auth_dir"
  if [[ ${STACK_KEEP_STATE:-0} != 1 || ! -f $_auth_dir/signing.key || ! -f $_auth_dir/triage-kafka-rs384.kid ]] ||
    ! stack_tls_current "$_auth_dir/server.crt"; then
    _auth_make_credentials
  fi
  _auth_write_properties
  # A small app: C1 only and SerialGC, as for the FHIR server (start-up CPU and RSS on 2 cores).
  stack_spawn auth "$(_auth_java)" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -jar "$_auth_dir/auth-server.jar" --spring.config.additional-location="file:$_auth_dir/auth.properties"
}

svc_auth_ready() {
  curl -fsS -o /dev/null --max-time 5 --cacert "$STACK_TLS_CA_FILE" \
    "$(_auth_issuer)/.well-known/oauth-authorization-server"
}

# Not the worker's own variable names: exporting them all changes nothing for a worker.
svc_auth_env() {
  local d=$_auth_dir issuer; issuer=$(_auth_issuer)
  echo "AUTH_SERVER_ISSUER=$issuer"
  echo "AUTH_SERVER_TOKEN_URL=$issuer/oauth2/token"
  echo "AUTH_SERVER_JWKS_URL=$issuer/oauth2/jwks"
  echo "AUTH_SERVER_ADMIN_URL=$issuer/admin"
  echo "AUTH_SERVER_ADMIN_SECRET_FILE=$d/admin.secret"
  echo "AUTH_WRITE_SCOPES=$(_auth_write_scopes)"
  echo "AUTH_READ_SCOPES=$_auth_read_scopes"
  echo "AUTH_SECRET_CLIENT_ID=triage-secret"
  echo "AUTH_SECRET_CLIENT_SECRET_FILE=$d/triage-secret.secret"
  echo "AUTH_RS384_CLIENT_ID=triage-rs384"
  echo "AUTH_RS384_CLIENT_KEY_FILE=$d/triage-rs384.key"
  echo "AUTH_RS384_CLIENT_KID=$(cat "$d/triage-rs384.kid" 2>/dev/null)"
  echo "AUTH_ES384_CLIENT_ID=triage-es384"
  echo "AUTH_ES384_CLIENT_KEY_FILE=$d/triage-es384.key"
  echo "AUTH_ES384_CLIENT_KID=$(cat "$d/triage-es384.kid" 2>/dev/null)"
  echo "AUTH_READONLY_CLIENT_ID=triage-readonly"
  echo "AUTH_READONLY_CLIENT_SECRET_FILE=$d/triage-readonly.secret"
  echo "AUTH_SHORT_CLIENT_ID=triage-short"
  echo "AUTH_SHORT_CLIENT_SECRET_FILE=$d/triage-short.secret"
  echo "AUTH_SHORT_TOKEN_SECONDS=${STACK_AUTH_SHORT_TOKEN_SECONDS:-20}"
  echo "AUTH_KAFKA_AUDIENCE=$_auth_kafka_audience"
  echo "AUTH_KAFKA_SCOPE=$_auth_kafka_scope"
  echo "AUTH_KAFKA_CLIENT_ID=triage-kafka"
  echo "AUTH_KAFKA_CLIENT_SECRET_FILE=$d/triage-kafka.secret"
  echo "AUTH_KAFKA_RS384_CLIENT_ID=triage-kafka-rs384"
  echo "AUTH_KAFKA_RS384_CLIENT_KEY_FILE=$d/triage-kafka-rs384.key"
}
