# shellcheck shell=bash
# The stack's one test CA, and the server and client certificates it signs for the stack's TLS
# servers on 127.0.0.1 (Kafka's secured listeners, the authorization server, HAPI's secured port).
# Sourced by stack.sh, which provides CACHE_DIR, log and die. Everything lives under
# $CACHE_DIR/tls (git-ignored, never committed):
#   ca.pem, ca.key   the CA (EC P-256, one year); made when missing or within 7 days of expiry,
#                    otherwise kept across launches, so every server's certificate chains to
#                    the one ca.pem that `stack.sh env` prints (STACK_TLS_CA_FILE)
#   openssl.log      the last run of openssl here
# A service asks for its own certificates with stack_tls_issue into its own folder, on each fresh
# launch; under resume it keeps them while stack_tls_current says they still chain to ca.pem.
# openssl only (milliseconds; keytool would cost a JVM start each).

# Absolute even if TRIAGE_CACHE_DIR is relative: servers are given these paths in their configs.
STACK_TLS_DIR="$(cd "$CACHE_DIR" && pwd)/tls"
STACK_TLS_CA_FILE="$STACK_TLS_DIR/ca.pem"
# EC P-256, unencrypted PKCS#8: what Kafka's PEM store, Tomcat and Spring Boot's PEM bundles read.
_tls_new_key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

# Makes the CA when there is none or it expires within 7 days. A renewed CA does not cover
# certificates that running servers still hold: restart them (`stack.sh down && stack.sh up`).
stack_tls_ca() {
  command -v openssl >/dev/null || die "tls: openssl not found (run scripts/provision.sh)"
  if [[ -f $STACK_TLS_CA_FILE && -f $STACK_TLS_DIR/ca.key ]] &&
    openssl x509 -noout -checkend $((7 * 86400)) -in "$STACK_TLS_CA_FILE" >/dev/null 2>&1; then
    return 0
  fi
  mkdir -p "$STACK_TLS_DIR"; chmod 700 "$STACK_TLS_DIR"
  local tmp="$STACK_TLS_DIR/ca.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"; chmod 700 "$tmp"
  (
    cd "$tmp"
    openssl req -x509 "${_tls_new_key[@]}" -keyout ca.key -out ca.pem -days 365 \
      -subj "/CN=covid-ct-triage local test CA $(date +%Y%m%d%H%M%S)" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    chmod 600 ca.key
  ) >"$STACK_TLS_DIR/openssl.log" 2>&1 || die "tls: could not make the stack CA (log: $STACK_TLS_DIR/openssl.log)"
  # The certificate first: a reader never sees a key without its certificate.
  mv -f "$tmp/ca.key" "$STACK_TLS_DIR/ca.key"
  mv -f "$tmp/ca.pem" "$STACK_TLS_CA_FILE"
  rm -rf "$tmp"
  log "tls: made a new stack CA ($STACK_TLS_CA_FILE)"
}

# stack_tls_issue <dir> <name> <subject> <extendedKeyUsage> [subjectAltName]
# Writes <dir>/<name>.key (new key, PKCS#8, 0600) and <dir>/<name>.crt, signed by the stack CA for
# 30 days. Servers get "subjectAltName=IP:127.0.0.1,DNS:localhost"; clients none.
stack_tls_issue() {
  local dir=$1 name=$2 subject=$3 usage=$4 san=${5:-}
  stack_tls_ca
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -new "${_tls_new_key[@]}" -keyout "$name.key" -out "$name.csr" -subj "$subject"
    openssl x509 -req -in "$name.csr" -CA "$STACK_TLS_CA_FILE" -CAkey "$STACK_TLS_DIR/ca.key" \
      -set_serial "0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" -days 30 -out "$name.crt" \
      -extfile <(printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=$usage" ${san:+"$san"})
    rm -f "$name.csr"
    chmod 600 "$name.key"
  ) >>"$STACK_TLS_DIR/openssl.log" 2>&1 || die "tls: could not sign $name's certificate (log: $STACK_TLS_DIR/openssl.log)"
}

# stack_tls_current <crt>: the certificate chains to the current ca.pem and is valid for another day.
stack_tls_current() {
  [[ -f $1 && -f $STACK_TLS_CA_FILE ]] &&
    openssl verify -CAfile "$STACK_TLS_CA_FILE" "$1" >/dev/null 2>&1 &&
    openssl x509 -noout -checkend 86400 -in "$1" >/dev/null 2>&1
}

# The address every server certificate names.
STACK_TLS_SERVER_SAN="subjectAltName=IP:127.0.0.1,DNS:localhost"
