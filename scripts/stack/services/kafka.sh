# shellcheck shell=bash
# Kafka service for stack.sh: one real Apache Kafka 4.x broker in KRaft mode
# (broker and controller in one JVM) on 127.0.0.1, run from Maven Central jars.
# Sourced by stack.sh, which provides CACHE_DIR, REPO_ROOT, STACK_LOGS, log, die
# and stack_spawn. Everything generated lives under $CACHE_DIR/kafka:
#   libs/          runtime jars copied by Maven (+ .pom.sha256 stamp)
#   probe/         compiled readiness probe (+ .stamp)
#   data/          log.dirs; wiped and reformatted on every fresh launch
#   server.properties, cluster.id   written by launch; mvn.log from the last copy
#   tls/           the broker's and a client's key and certificate (PEM, signed by the stack CA
#                  of lib/tls.sh, $CACHE_DIR/tls/ca.pem) and the SCRAM user's password: made anew
#                  on every fresh launch, kept by resume (certificates renewed there only when they
#                  no longer chain to the stack CA)
# Listeners: PLAINTEXT (no authentication), SASL_SSL (SCRAM-SHA-512 over TLS), SSL with a
# required client certificate (mTLS), and OAUTH: SASL_SSL with OAUTHBEARER, the tokens being JWTs
# of the stack's authorization server (services/auth.sh) checked against its JWKS over HTTPS (the
# stack CA), its issuer and the Kafka audience; the three secured ones as hospitals run their brokers.
# ACLs: StandardAuthorizer with allow.everyone.if.no.acl.found=true (open unless a test adds ACLs).
# The broker fetches the JWKS when it starts and fails without it: launch starts auth first.
# Env: STACK_KAFKA_PORT (19092), STACK_KAFKA_CONTROLLER_PORT (19093),
#      STACK_KAFKA_SASL_SSL_PORT (STACK_KAFKA_PORT + 2: 19094), STACK_KAFKA_SSL_PORT (+ 3: 19095),
#      STACK_KAFKA_OAUTH_PORT (+ 4: 19096), STACK_KAFKA_REAUTH_MS (OAUTH's connections.max.reauth.ms,
#      3600000: a session lasts until its token expires, at most an hour; then the client
#      re-authenticates or the broker closes the connection),
#      STACK_KAFKA_JAVA (java binary; default $JAVA_HOME/bin/java, else java on PATH).

# Private names (_kafka_*): KAFKA_HOME/KAFKA_OPTS are often set for real installs.
_kafka_port=${STACK_KAFKA_PORT:-19092}
_kafka_cport=${STACK_KAFKA_CONTROLLER_PORT:-19093}
# Beside the plaintext port by default, so a second stack that moves only STACK_KAFKA_PORT still fits.
_kafka_sasl_ssl_port=${STACK_KAFKA_SASL_SSL_PORT:-$((_kafka_port + 2))}
_kafka_ssl_port=${STACK_KAFKA_SSL_PORT:-$((_kafka_port + 3))}
_kafka_oauth_port=${STACK_KAFKA_OAUTH_PORT:-$((_kafka_port + 4))}
_kafka_scram_user=triage
_kafka_src="$REPO_ROOT/tools/kafka"
# Absolute even if TRIAGE_CACHE_DIR is relative: log.dirs and -cp must not depend on cwd.
_kafka_dir="$(cd "$CACHE_DIR" && pwd)/kafka"
_kafka_tls="$_kafka_dir/tls"
# Read by stack.sh's wait_ready through an indirect reference.
# shellcheck disable=SC2034
KAFKA_READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-90}

_kafka_java() {
  if [[ -n ${STACK_KAFKA_JAVA:-} ]]; then echo "$STACK_KAFKA_JAVA"
  # Test -n first: with JAVA_HOME unset, "/bin/java" would exist and match.
  elif [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then echo "$JAVA_HOME/bin/java"
  else echo java; fi
}

# Kafka 4 brokers need Java 17+; fail early with a clear message instead of an
# UnsupportedClassVersionError buried in the log.
_kafka_check_java() {
  local java ver major
  java=$(_kafka_java)
  ver=$("$java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}') ||
    die "kafka: cannot run '$java' (set STACK_KAFKA_JAVA or JAVA_HOME)"
  major=${ver#1.}; major=${major%%.*}
  if ! [[ $major =~ ^[0-9]+$ ]] || ((major < 17)); then
    die "kafka: needs Java 17+, '$java' is '${ver:-unknown}'"
  fi
}

# javac beside the chosen java (a JDK), else the first on PATH.
_kafka_javac() {
  local java real
  java=$(command -v "$(_kafka_java)") || return 1
  real=$(readlink -f "$java")
  if [[ -x ${real%/java}/javac ]]; then echo "${real%/java}/javac"
  else command -v javac; fi
}

# One jar path from libs/ by artifact prefix, e.g. `_kafka_jar kafka-clients`.
_kafka_jar() {
  local f
  for f in "$_kafka_dir/libs/$1"-[0-9]*.jar; do [[ -f $f ]] && { echo "$f"; return 0; }; done
  die "kafka: $1 jar missing from $_kafka_dir/libs"
}

# Succeeds when something accepts TCP connections on 127.0.0.1:$1 (bash only, no JVM).
_kafka_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Copies the jar closure of tools/kafka/pom.xml, only when the pom changed since
# the last copy. Copies into a fresh folder: copy-dependencies never deletes jars,
# and two Kafka versions on one classpath would break in odd ways.
_kafka_prepare_libs() {
  local libs="$_kafka_dir/libs" want
  want=$(sha256sum "$_kafka_src/pom.xml" | cut -d' ' -f1)
  [[ -f $libs/.pom.sha256 && $(<"$libs/.pom.sha256") == "$want" ]] && return 0
  # Swapping jars under a running JVM ends in NoClassDefFoundError at some later point.
  if stack_pid kafka >/dev/null; then die "kafka: tools/kafka/pom.xml changed; run 'stack.sh down kafka' first"; fi
  command -v mvn >/dev/null || die "kafka: mvn not found (needed once to fetch jars)"
  log "kafka: copying broker jars from Maven (pom changed or first run)"
  rm -rf "$libs.tmp"
  # Output goes to a file: even with -q -B, Maven 3.8 prints stray ANSI resets.
  mvn -q -B -f "$_kafka_src/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >"$_kafka_dir/mvn.log" 2>&1 ||
    { tail -n 30 "$_kafka_dir/mvn.log" >&2; die "kafka: Maven could not copy the broker jars (log: $_kafka_dir/mvn.log)"; }
  echo "$want" >"$libs.tmp/.pom.sha256"  # written last: a partial copy is never trusted
  rm -rf "$libs"
  mv "$libs.tmp" "$libs"
}

# Compiles the readiness probe once; recompiles when its source or the jars change.
_kafka_prepare_probe() {
  local out="$_kafka_dir/probe" want javac cp
  want=$(cat "$_kafka_src/KafkaReady.java" "$_kafka_dir/libs/.pom.sha256" | sha256sum | cut -d' ' -f1)
  [[ -f $out/.stamp && $(<"$out/.stamp") == "$want" ]] && return 0
  javac=$(_kafka_javac) || die "kafka: javac not found; the readiness probe needs a JDK"
  cp="$(_kafka_jar kafka-clients)"
  rm -rf "$out"; mkdir -p "$out"
  "$javac" --release 17 -nowarn -d "$out" -cp "$cp" "$_kafka_src/KafkaReady.java" ||
    die "kafka: could not compile the readiness probe"
  echo "$want" >"$out/.stamp"
}

svc_kafka_prepare() {
  mkdir -p "$_kafka_dir"
  _kafka_check_java
  _kafka_prepare_libs
  _kafka_prepare_probe
}

# Single node, replication factor 1 everywhere; small internal topics and no
# initial rebalance delay so that the first consumer-group join is quick.
_kafka_write_properties() {
  cat >"$_kafka_dir/server.properties" <<EOF
# Generated by scripts/stack/services/kafka.sh on each launch; edit that file instead.
process.roles=broker,controller
node.id=1
# Static quorum: a plain "format" is enough (no --standalone, no bootstrap.servers).
controller.quorum.voters=1@127.0.0.1:$_kafka_cport
listeners=PLAINTEXT://127.0.0.1:$_kafka_port,CONTROLLER://127.0.0.1:$_kafka_cport,SASL_SSL://127.0.0.1:$_kafka_sasl_ssl_port,SSL://127.0.0.1:$_kafka_ssl_port,OAUTH://127.0.0.1:$_kafka_oauth_port
advertised.listeners=PLAINTEXT://127.0.0.1:$_kafka_port,SASL_SSL://127.0.0.1:$_kafka_sasl_ssl_port,SSL://127.0.0.1:$_kafka_ssl_port,OAUTH://127.0.0.1:$_kafka_oauth_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,OAUTH:SASL_SSL
# TLS from PEM files (no keytool, no keystore password): the key and chain in one file.
ssl.keystore.type=PEM
ssl.keystore.location=$_kafka_tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$STACK_TLS_CA_FILE
# SASL_SSL: SCRAM-SHA-512 users live in the cluster metadata (added at format time).
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# SSL: mutual TLS, a client without a certificate from our CA is refused in the handshake.
listener.name.ssl.ssl.client.auth=required
# OAUTH: SASL_SSL with OAUTHBEARER. A token is a JWT of the stack's authorization server: signed by
# a key of its JWKS (fetched over HTTPS trusting only the stack CA: the ssl.* options of the JAAS
# line; refreshed hourly and on an unknown kid), with its issuer, the Kafka audience, exp, iat and
# sub (the principal: the client id). The login module also makes the broker's own token as a
# client; brokers speak PLAINTEXT to each other here, so an unsigned one (sub "broker") that never
# leaves the broker does (without it the login module refuses to start).
listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauth.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker" ssl.truststore.type="PEM" ssl.truststore.location="$STACK_TLS_CA_FILE";
listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
listener.name.oauth.oauthbearer.sasl.oauthbearer.jwks.endpoint.url=$(_auth_issuer)/oauth2/jwks
listener.name.oauth.oauthbearer.sasl.oauthbearer.expected.issuer=$(_auth_issuer)
listener.name.oauth.oauthbearer.sasl.oauthbearer.expected.audience=$_auth_kafka_audience
# KIP-368: a session ends when its token expires (or after this, if sooner); a client that has not
# re-authenticated by then is disconnected, so an expired or revoked token stops working.
listener.name.oauth.oauthbearer.connections.max.reauth.ms=${STACK_KAFKA_REAUTH_MS:-3600000}
# ACLs: KRaft's StandardAuthorizer, open by default. A resource without ACLs stays open to every
# principal, so a test's DENY ACL on its own topic or group restricts that resource only (once a
# resource has an ACL, a principal no ACL allows is denied there). User:ANONYMOUS, the principal of
# the PLAINTEXT and CONTROLLER listeners (the broker's own inter-broker and controller connections,
# the harness's clients, the admin that writes the tests' ACLs), is a super user.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=true
super.users=User:ANONYMOUS
log.dirs=$_kafka_dir/data
auto.create.topics.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
# The cleaner's default 128 MiB dedupe buffer is carved out of our 512 MiB heap.
log.cleaner.dedupe.buffer.size=16777216
# Fewer threads than the defaults (3 network, 8 io): this is a 2-core test box.
num.network.threads=2
num.io.threads=4
EOF
}

# The broker's certificate for 127.0.0.1/localhost and a client certificate for mTLS, both from
# the stack CA (lib/tls.sh), and, unless keep_password=1, a random SCRAM password. Written to a
# fresh folder and moved into place, so a half-made set is never used.
_kafka_make_tls() {
  local keep_password=${1:-0} tmp="$_kafka_tls.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"; chmod 700 "$tmp"
  stack_tls_issue "$tmp" broker "/CN=127.0.0.1" "serverAuth,clientAuth" "$STACK_TLS_SERVER_SAN"
  stack_tls_issue "$tmp" client "/CN=covid-ct-triage-worker" "clientAuth"
  (
    cd "$tmp"
    # Kafka's PEM key store: the key and its certificate in one file (broker.crt stays for checks).
    cat broker.key broker.crt >broker.pem
    rm -f broker.key
    if [[ $keep_password == 1 && -s $_kafka_tls/scram.password ]]; then cp "$_kafka_tls/scram.password" scram.password
    else head -c 24 /dev/urandom | base64 | tr '+/' '-_' >scram.password; fi
    chmod 600 ./*
  ) >"$_kafka_dir/openssl.log" 2>&1 || die "kafka: could not make the test certificates (log: $_kafka_dir/openssl.log)"
  rm -rf "$_kafka_tls"
  mv "$tmp" "$_kafka_tls"
}

# Fresh state on every launch (wipe data, new cluster id, format, start), except under
# `stack.sh resume` (STACK_KEEP_STATE=1), which starts the broker on the data it had.
svc_kafka_launch() {
  local java cid logfile="$STACK_LOGS/kafka.log"
  java=$(_kafka_java)
  # Our pid file says nothing runs; anything on these ports is someone else's.
  local p; for p in "$_kafka_port" "$_kafka_cport" "$_kafka_sasl_ssl_port" "$_kafka_ssl_port" "$_kafka_oauth_port"; do
    ! _kafka_port_open "$p" || die "kafka: port $p is already in use (set STACK_KAFKA_PORT, STACK_KAFKA_CONTROLLER_PORT, STACK_KAFKA_SASL_SSL_PORT, STACK_KAFKA_SSL_PORT, STACK_KAFKA_OAUTH_PORT)"
  done
  # The OAUTH listener's validator fetches the JWKS at start-up; without it the broker exits.
  if ! svc_auth_ready >/dev/null 2>&1; then
    log "kafka: starting auth first (the OAUTHBEARER listener checks its JWKS at start-up)"
    up_one auth
  fi
  if [[ ${STACK_KEEP_STATE:-0} == 1 && -f $_kafka_dir/data/meta.properties ]]; then
    # The same certificates and SCRAM user as before; new certificates (same password) only for a
    # cache from before TLS or the stack CA, or after the stack CA was renewed.
    stack_tls_current "$_kafka_tls/broker.crt" || _kafka_make_tls 1
    _kafka_write_properties
    _kafka_spawn
    return
  fi
  rm -rf "${_kafka_dir:?}/data"
  mkdir -p "$_kafka_dir/data"
  _kafka_make_tls
  _kafka_write_properties
  # 16 random bytes as base64url is exactly what StorageTool random-uuid prints,
  # minus one JVM start. A leading '-' would read as an option, so draw again.
  cid=-
  while [[ $cid == -* ]]; do cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
  echo "$cid" >"$_kafka_dir/cluster.id"
  # StorageTool is a Scala object in kafka_2.13 (not org.apache.kafka.tools); short-lived, so C1 only.
  echo "=== $(date -Is) formatting $_kafka_dir/data (cluster $cid)" >>"$logfile"
  "$java" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$_kafka_src/log4j2.properties" \
    -cp "$_kafka_dir/libs/*" kafka.tools.StorageTool \
    format -t "$cid" -c "$_kafka_dir/server.properties" \
    --add-scram "SCRAM-SHA-512=[name=$_kafka_scram_user,password=$(<"$_kafka_tls/scram.password")]" >>"$logfile" 2>&1 ||
    { tail -n 20 "$logfile" >&2; die "kafka: storage format failed (log: $logfile)"; }
  _kafka_spawn
}

# JVM flags follow Kafka's kafka-server-start.sh, with a test-sized heap. Kafka 4 fetches no
# OAuth URL unless this system property allows it (the JWKS endpoint only).
_kafka_spawn() {
  stack_spawn kafka "$(_kafka_java)" -Xms256m -Xmx512m \
    -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="$(_auth_issuer)/oauth2/jwks" \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$_kafka_src/log4j2.properties" \
    -cp "$_kafka_dir/libs/*" kafka.Kafka "$_kafka_dir/server.properties"
}

# Real readiness: a DescribeCluster round trip against our cluster id. The bash
# port check first keeps polling cheap while the broker is still booting.
svc_kafka_ready() {
  _kafka_port_open "$_kafka_port" || return 1
  [[ -f $_kafka_dir/probe/KafkaReady.class && -f $_kafka_dir/cluster.id ]] || return 1
  local cp
  cp="$_kafka_dir/probe:$(_kafka_jar kafka-clients):$(_kafka_jar slf4j-api)"
  # Short-lived JVM: C1 only, serial GC; naming the NOP provider avoids the
  # "no SLF4J providers" warning without putting log4j on this classpath.
  "$(_kafka_java)" -Xmx64m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dslf4j.provider=org.slf4j.helpers.NOP_FallbackServiceProvider \
    -cp "$cp" KafkaReady "127.0.0.1:$_kafka_port" "$(<"$_kafka_dir/cluster.id")"
}

# Names that are not the worker's own settings, so that exporting them all changes nothing
# for a worker (it speaks PLAINTEXT unless KAFKA_SECURITY_PROTOCOL says otherwise).
svc_kafka_env() {
  echo "KAFKA_BROKERS=127.0.0.1:$_kafka_port"
  echo "KAFKA_SASL_SSL_BROKERS=127.0.0.1:$_kafka_sasl_ssl_port"
  echo "KAFKA_SSL_BROKERS=127.0.0.1:$_kafka_ssl_port"
  echo "KAFKA_OAUTH_BROKERS=127.0.0.1:$_kafka_oauth_port"
  echo "KAFKA_TLS_CA_FILE=$STACK_TLS_CA_FILE"
  echo "KAFKA_TLS_CLIENT_CERT_FILE=$_kafka_tls/client.crt"
  echo "KAFKA_TLS_CLIENT_KEY_FILE=$_kafka_tls/client.key"
  echo "KAFKA_SCRAM_USERNAME=$_kafka_scram_user"
  echo "KAFKA_SCRAM_PASSWORD_FILE=$_kafka_tls/scram.password"
}
