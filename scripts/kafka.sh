#!/usr/bin/env bash
# Local Apache Kafka for kafkit development and integration tests, no Docker.
#
# The broker is put together from Maven Central artifacts (see
# scripts/kafka/pom.xml.in): `install` resolves kafka_2.13, kafka-tools and a
# Log4j 2 binding into one lib folder in a cache outside the repository, and
# every other subcommand runs `java -cp "lib/*" <main class>` from there.
#
#   eval "$(scripts/kafka.sh start single)"   # one KRaft node, 3 listeners
#   eval "$(scripts/kafka.sh start cluster)"  # three KRaft nodes
#   scripts/kafka.sh stop                     # stop everything it started
#
# `start` and `env` print only `export NAME=value` lines on stdout; all
# progress and error messages go to stderr.  Note that `eval "$(...)"` does
# not see the exit status of the command inside; to stop on failure use
#   lines="$(scripts/kafka.sh start single)" && eval "$lines"
# Run `scripts/kafka.sh help` for the full list of subcommands.
set -euo pipefail

readonly KAFKA_VERSION="${KAFKIT_KAFKA_VERSION:-4.3.1}"
readonly MIN_JAVA=17

# Absolute path of $1 (relative paths are taken from the current folder).
absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

CACHE_DIR="$(absolute "${KAFKIT_CACHE:-${HOME:?set HOME or KAFKIT_CACHE}/.cache/kafkit}")"
readonly CACHE_DIR
RUN_DIR="$(absolute "${KAFKIT_RUN_DIR:-$CACHE_DIR/run}")"
readonly RUN_DIR
readonly KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
readonly LIB_DIR="$KAFKA_HOME/lib"
readonly INSTALLED_MARK="$KAFKA_HOME/.installed"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly TEMPLATE_DIR="$SCRIPT_DIR/kafka"
readonly BROKER_LOG4J="$TEMPLATE_DIR/log4j2-broker.properties"
readonly TOOLS_LOG4J="$TEMPLATE_DIR/log4j2-tools.properties"

# Seconds to wait for a node to accept connections, and for it to exit
# after SIGTERM before SIGKILL is sent.
readonly START_TIMEOUT="${KAFKIT_START_TIMEOUT:-90}"
readonly STOP_TIMEOUT="${KAFKIT_STOP_TIMEOUT:-20}"

readonly SINGLE_HEAP="${KAFKIT_SINGLE_HEAP:-1g}"
readonly CLUSTER_HEAP="${KAFKIT_CLUSTER_HEAP:-640m}"
readonly TOOL_HEAP="${KAFKIT_TOOL_HEAP:-512m}"

# JVM options for short-lived helpers (format, keytool, admin and console
# tools): C1 only and the serial collector start noticeably faster, which
# matters when tests call a tool many times.
readonly QUICK_JVM_OPTS=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)

# Single node: client listeners and its controller.
readonly SINGLE_DIR="$RUN_DIR/single"
readonly SINGLE_PLAINTEXT_PORT=9092
readonly SINGLE_CONTROLLER_PORT=9093
readonly SINGLE_SASL_PORT=9094
readonly SINGLE_SSL_PORT=9095

# Cluster: node N listens on 9N92 (clients) and 9N93 (controller).
readonly CLUSTER_DIR="$RUN_DIR/cluster"
readonly CLUSTER_NODES=(1 2 3)

# SCRAM users of the single node.  admin is a super user; alice is not, so
# ACLs can be exercised with her.
readonly ADMIN_USER=admin
readonly ADMIN_PASSWORD=admin-secret
readonly CLIENT_USER=alice
readonly CLIENT_PASSWORD=alice-secret
readonly SASL_MECHANISM=SCRAM-SHA-256

# Password of the throwaway PKCS12 stores of the test CA and the broker.
readonly STORE_PASSWORD=kafkit-test-secret

###############################################################################
# Small helpers
###############################################################################

log() { printf 'kafka.sh: %s\n' "$*" >&2; }

die() {
  printf 'kafka.sh: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat <<EOF
Usage: scripts/kafka.sh COMMAND [ARGS...]

Runs Apache Kafka $KAFKA_VERSION locally from Maven Central jars (Java $MIN_JAVA+ and Maven needed).

Broker lifecycle:
  install                 Fetch Kafka into $KAFKA_HOME (no-op when present).
  start single            One KRaft node; prints export lines for eval:
                            PLAINTEXT 127.0.0.1:$SINGLE_PLAINTEXT_PORT, SASL_PLAINTEXT (SCRAM; OAUTHBEARER, unsecured JWT) 127.0.0.1:$SINGLE_SASL_PORT,
                            SSL 127.0.0.1:$SINGLE_SSL_PORT, controller 127.0.0.1:$SINGLE_CONTROLLER_PORT.
  start cluster           Three KRaft nodes on 127.0.0.1:9192, :9292, :9392 (controllers :9193, :9293, :9393).
  stop [single|cluster|all]
                          SIGTERM, SIGKILL after ${STOP_TIMEOUT}s; deletes data, keeps logs. Default: all.
  status                  Nodes, pids and ports.
  env [single|cluster]    Print the export lines again for running brokers.

Cluster nodes (ID is 1, 2 or 3):
  kill-node ID            SIGKILL the node; its data stays.
  stop-node ID            SIGTERM the node (SIGKILL after ${STOP_TIMEOUT}s); its data stays.
  start-node ID           Start a stopped node on its existing data and wait for it.

Tools (arguments are passed through; stdin and stdout are the tool's own):
  topics ARGS             org.apache.kafka.tools.TopicCommand
  configs ARGS            kafka.admin.ConfigCommand
  acls ARGS               org.apache.kafka.tools.AclCommand
  consumer-groups ARGS    org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
  console-producer ARGS   org.apache.kafka.tools.ConsoleProducer
  console-consumer ARGS   org.apache.kafka.tools.consumer.ConsoleConsumer
  producer-perf ARGS      org.apache.kafka.tools.ProducerPerformance
  consumer-perf ARGS      org.apache.kafka.tools.ConsumerPerformance
  e2e-latency ARGS        org.apache.kafka.tools.EndToEndLatency
  run CLASS ARGS          Any main class on the Kafka classpath.

\`start\` and \`env\` write only "export NAME=value" lines to stdout (for eval); messages go to stderr.

Single node users (SCRAM-SHA-256 and SCRAM-SHA-512): $ADMIN_USER/$ADMIN_PASSWORD (super user),
$CLIENT_USER/$CLIENT_PASSWORD (ordinary user, subject to ACLs). Java client settings are written to
$SINGLE_DIR/client-scram.properties ($CLIENT_USER), client-scram-admin.properties ($ADMIN_USER)
and client-ssl.properties; the test CA is $SINGLE_DIR/certs/ca.pem.

Environment: KAFKIT_CACHE (default ~/.cache/kafkit), KAFKIT_RUN_DIR (default \$KAFKIT_CACHE/run),
KAFKIT_KAFKA_VERSION, KAFKIT_START_TIMEOUT, KAFKIT_STOP_TIMEOUT, KAFKIT_SINGLE_HEAP,
KAFKIT_CLUSTER_HEAP, KAFKIT_TOOL_HEAP, KAFKIT_BROKER_JAVA_OPTS, KAFKIT_TOOL_JAVA_OPTS, JAVA_HOME.
EOF
}

# The java launcher: $JAVA_HOME/bin/java when set, else the one on PATH.
java_cmd() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    printf '%s\n' "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    return 1
  fi
}

# keytool from the same JDK as java, falling back to PATH.
keytool_cmd() {
  local java
  java="$(java_cmd)" || return 1
  java="$(readlink -f "$java" 2>/dev/null || printf '%s' "$java")"
  if [[ -x "$(dirname "$java")/keytool" ]]; then
    printf '%s\n' "$(dirname "$java")/keytool"
  elif command -v keytool >/dev/null 2>&1; then
    command -v keytool
  else
    return 1
  fi
}

require_java() {
  local java version major
  java="$(java_cmd)" ||
    die "java not found: install a Java $MIN_JAVA+ runtime (e.g. apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"
  version="$("$java" -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')"
  major="${version%%.*}"
  if [[ "$major" == 1 ]]; then # 1.8.0_x style
    major="${version#1.}"
    major="${major%%.*}"
  fi
  major="${major%%[!0-9]*}"
  if [[ -z "$major" ]] || ((major < MIN_JAVA)); then
    die "Kafka $KAFKA_VERSION needs Java $MIN_JAVA or newer, but $java is version '${version:-unknown}'"
  fi
}

require_mvn() {
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found: install Apache Maven 3.6+ (e.g. apt-get install maven); it fetches Kafka from Maven Central"
}

# render_text TEMPLATE NAME VALUE [NAME VALUE...]: print TEMPLATE with every
# @NAME@ replaced by VALUE.
render_text() {
  local template="$1" text
  shift
  text="$(<"$template")"
  while (($# >= 2)); do
    text="${text//"@$1@"/"$2"}"
    shift 2
  done
  if [[ "$text" =~ @[A-Z_]+@ ]]; then
    die "template $template: no value for ${BASH_REMATCH[0]}"
  fi
  printf '%s\n' "$text"
}

# render TEMPLATE OUTPUT NAME VALUE...: render_text into the file OUTPUT.
render() {
  local template="$1" output="$2" text
  shift 2
  text="$(render_text "$template" "$@")"
  printf '%s\n' "$text" >"$output"
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Quote a value for the export lines.
shell_quote() { printf '%q' "$1"; }

###############################################################################
# Installation
###############################################################################

# Installed, and from the current pom template (a changed template, e.g. a
# new Log4j version, triggers a fresh install).
installed() {
  [[ -f "$INSTALLED_MARK" && -d "$LIB_DIR" && -f "$KAFKA_HOME/pom.xml" ]] || return 1
  local wanted have
  wanted="$(render_text "$TEMPLATE_DIR/pom.xml.in" KAFKA_VERSION "$KAFKA_VERSION")"
  have="$(<"$KAFKA_HOME/pom.xml")"
  [[ "$wanted" == "$have" ]]
}

cmd_install() {
  if installed; then
    log "Kafka $KAFKA_VERSION is installed in $KAFKA_HOME"
    return 0
  fi
  require_java
  require_mvn
  mkdir -p "$KAFKA_HOME"

  # Serialise concurrent installs (parallel test jobs) where flock exists.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$KAFKA_HOME/.install.lock"
    flock 9
    if installed; then
      exec 9>&-
      log "Kafka $KAFKA_VERSION is installed in $KAFKA_HOME"
      return 0
    fi
  fi

  local work
  work="$(mktemp -d "$KAFKA_HOME/.install.XXXXXX")"
  render "$TEMPLATE_DIR/pom.xml.in" "$work/pom.xml" KAFKA_VERSION "$KAFKA_VERSION"
  log "fetching Kafka $KAFKA_VERSION and its dependencies with Maven into $KAFKA_HOME ..."
  if ! mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$work/lib" >"$work/mvn.log" 2>&1; then
    tail -n 40 "$work/mvn.log" >&2 || true
    die "Maven could not fetch Kafka $KAFKA_VERSION (full output in $work/mvn.log)"
  fi
  if ! compgen -G "$work/lib/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null ||
    ! compgen -G "$work/lib/kafka-tools-$KAFKA_VERSION.jar" >/dev/null; then
    die "Maven finished but the Kafka jars are missing from $work/lib"
  fi
  rm -rf "$LIB_DIR"
  mv "$work/lib" "$LIB_DIR"
  mv "$work/pom.xml" "$KAFKA_HOME/pom.xml"
  rm -rf "$work"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$INSTALLED_MARK"
  if command -v flock >/dev/null 2>&1; then exec 9>&-; fi
  log "installed Kafka $KAFKA_VERSION ($(find "$LIB_DIR" -name '*.jar' | wc -l | tr -d ' ') jars)"
}

ensure_installed() {
  installed || cmd_install
}

###############################################################################
# Running Java
###############################################################################

# run_tool quick|full CLASS ARGS...: replace this shell with a Kafka command
# line tool.  "full" keeps the optimising compiler (performance tools).
run_tool() {
  ensure_installed
  local java mode="$1" class="$2"
  shift 2
  java="$(java_cmd)" || require_java
  local -a opts=("-Xmx$TOOL_HEAP" -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$TOOLS_LOG4J")
  if [[ "$mode" == quick ]]; then
    opts+=("${QUICK_JVM_OPTS[@]}")
  fi
  if [[ -n "${KAFKIT_TOOL_JAVA_OPTS:-}" ]]; then
    local -a extra
    read -r -a extra <<<"$KAFKIT_TOOL_JAVA_OPTS"
    opts+=("${extra[@]}")
  fi
  exec "$java" "${opts[@]}" -cp "$LIB_DIR/*" "$class" "$@"
}

# Run a Kafka class in the foreground with its output going to LOGFILE.
run_quiet() {
  local logfile="$1" java
  shift
  java="$(java_cmd)"
  "$java" -Xmx256m "${QUICK_JVM_OPTS[@]}" -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$TOOLS_LOG4J" -cp "$LIB_DIR/*" "$@" >>"$logfile" 2>&1
}

new_cluster_id() {
  local java
  java="$(java_cmd)"
  "$java" -Xmx128m "${QUICK_JVM_OPTS[@]}" "-Dlog4j2.configurationFile=$TOOLS_LOG4J" -cp "$LIB_DIR/*" \
    kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1
}

###############################################################################
# Node bookkeeping.  A node is a folder holding server.properties, kafka.pid,
# data/ (deleted on stop) and logs/ (kept).
###############################################################################

node_pid_file() { printf '%s/kafka.pid\n' "$1"; }

# Print the pid of the node in DIR if that process is alive and is really
# this node's broker (guards against recycled pids); fail otherwise.
node_pid() {
  local dir="$1" pid_file pid cmdline state
  pid_file="$(node_pid_file "$dir")"
  [[ -f "$pid_file" ]] || return 1
  pid="$(<"$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    state="$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
    [[ "$state" != Z && -n "$state" ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  else
    state="$(ps -p "$pid" -o stat= 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z* ]] || return 1
    cmdline="$(ps -ww -p "$pid" -o args= 2>/dev/null || true)"
  fi
  [[ "$cmdline" == *kafka.Kafka*"$dir/server.properties"* ]] || return 1
  printf '%s\n' "$pid"
}

node_running() { node_pid "$1" >/dev/null; }

# start_node_process DIR HEAP: launch the broker of DIR in the background,
# detached from this shell, and record its pid.
start_node_process() {
  local dir="$1" heap="$2" java
  java="$(java_cmd)"
  mkdir -p "$dir/logs"
  if [[ -f "$dir/logs/server.log" ]]; then
    mv -f "$dir/logs/server.log" "$dir/logs/server.log.1"
  fi
  local -a opts=("-Xms$heap" "-Xmx$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$BROKER_LOG4J"
    "-Dkafka.logs.dir=$dir/logs")
  if [[ -n "${KAFKIT_BROKER_JAVA_OPTS:-}" ]]; then
    local -a extra
    read -r -a extra <<<"$KAFKIT_BROKER_JAVA_OPTS"
    opts+=("${extra[@]}")
  fi
  local -a detach=()
  if command -v setsid >/dev/null 2>&1; then
    detach=(setsid)
  else
    detach=(nohup)
  fi
  # The subshell execs setsid, which execs java in place, so $! is the
  # broker's own pid.  No descriptor of ours is inherited: a caller doing
  # "$(scripts/kafka.sh start single)" must not wait for the broker.
  (
    cd "$dir"
    exec "${detach[@]}" "$java" "${opts[@]}" -cp "$LIB_DIR/*" \
      kafka.Kafka "$dir/server.properties" </dev/null >"$dir/logs/server.log" 2>&1
  ) &
  local pid="$!"
  printf '%s\n' "$pid" >"$(node_pid_file "$dir")"
  # Until the subshell has exec'd java, the pid's command line is this
  # script's, and node_running would call the node gone.  On a loaded
  # machine that window is long enough for wait_ready to see it, so wait
  # here until the pid is the broker or has exited.
  local deadline=$((SECONDS + 30))
  while pid_alive "$pid" && ! node_running "$dir" && ((SECONDS < deadline)); do
    sleep 0.05
  done
}

# Send SIGTERM to the nodes in the given folders, wait up to STOP_TIMEOUT
# seconds for all of them, then SIGKILL whatever is left.
stop_nodes() {
  local dir pid
  local -a dirs=() pids=()
  for dir in "$@"; do
    if pid="$(node_pid "$dir")"; then
      kill -TERM "$pid" 2>/dev/null || true
      dirs+=("$dir")
      pids+=("$pid")
    fi
    rm -f "$(node_pid_file "$dir")"
  done
  ((${#pids[@]})) || return 0
  log "stopping pid ${pids[*]} ..."

  local deadline=$((SECONDS + STOP_TIMEOUT)) i alive
  while :; do
    alive=0
    for i in "${!pids[@]}"; do
      if pid_alive "${pids[i]}"; then alive=1; fi
    done
    ((alive)) || break
    if ((SECONDS >= deadline)); then
      for i in "${!pids[@]}"; do
        if pid_alive "${pids[i]}"; then
          log "pid ${pids[i]} (${dirs[i]}) ignored SIGTERM for ${STOP_TIMEOUT}s, sending SIGKILL"
          kill -KILL "${pids[i]}" 2>/dev/null || true
        fi
      done
      wait_gone "${pids[@]}"
      break
    fi
    sleep 0.2
  done
}

# True while PID exists and is not a zombie.
pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  if [[ -r "/proc/$1/status" ]]; then
    state="$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true)"
  else
    state="$(ps -p "$1" -o stat= 2>/dev/null || true)"
  fi
  [[ -n "$state" && "$state" != Z* ]]
}

# Wait (at most 10 s) for killed pids to disappear.
wait_gone() {
  local deadline=$((SECONDS + 10)) pid alive
  while ((SECONDS < deadline)); do
    alive=0
    for pid in "$@"; do
      if pid_alive "$pid"; then alive=1; fi
    done
    ((alive)) || return 0
    sleep 0.1
  done
}

kill_node_hard() {
  local dir="$1" pid
  if pid="$(node_pid "$dir")"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid"
    log "killed pid $pid ($dir)"
  fi
  rm -f "$(node_pid_file "$dir")"
}

show_log_tail() {
  local dir="$1"
  if [[ -f "$dir/logs/server.log" ]]; then
    printf -- '----- last lines of %s -----\n' "$dir/logs/server.log" >&2
    tail -n 60 "$dir/logs/server.log" >&2 || true
    printf -- '-----\n' >&2
  fi
}

# wait_ready LABEL DIR PORTS: wait until the node in DIR accepts
# connections on every port (comma separated), dying with its log tail if
# it exits or the deadline passes.  Several "DIR PORTS" pairs may follow
# LABEL; all are waited for together.
wait_ready() {
  local label="$1"
  shift
  local -a dirs=() ports=()
  while (($# >= 2)); do
    dirs+=("$1")
    ports+=("$2")
    shift 2
  done
  local deadline=$((SECONDS + START_TIMEOUT)) i port ready
  while :; do
    ready=1
    for i in "${!dirs[@]}"; do
      if ! node_running "${dirs[i]}"; then
        show_log_tail "${dirs[i]}"
        stop_nodes "${dirs[@]}"
        die "$label: the broker in ${dirs[i]} exited during startup (log: ${dirs[i]}/logs/server.log)"
      fi
      for port in ${ports[i]//,/ }; do
        if ! port_open "$port"; then
          ready=0
          break
        fi
      done
    done
    ((ready)) && return 0
    if ((SECONDS >= deadline)); then
      for i in "${!dirs[@]}"; do show_log_tail "${dirs[i]}"; done
      stop_nodes "${dirs[@]}"
      die "$label: not accepting connections after ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

# Fail early when another program already listens on one of our ports.
check_ports_free() {
  local port
  for port in "$@"; do
    if port_open "$port"; then
      die "port $port on 127.0.0.1 is already in use by another process (not started by this script)"
    fi
  done
}

###############################################################################
# Single node
###############################################################################

single_env() {
  printf 'export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:%s\n' "$SINGLE_PLAINTEXT_PORT"
  printf 'export KAFKA_SASL_BOOTSTRAP_SERVERS=127.0.0.1:%s\n' "$SINGLE_SASL_PORT"
  printf 'export KAFKA_SSL_BOOTSTRAP_SERVERS=127.0.0.1:%s\n' "$SINGLE_SSL_PORT"
  printf 'export KAFKA_SSL_CA_LOCATION=%s\n' "$(shell_quote "$SINGLE_DIR/certs/ca.pem")"
  printf 'export KAFKA_SASL_USERNAME=%s\n' "$CLIENT_USER"
  printf 'export KAFKA_SASL_PASSWORD=%s\n' "$CLIENT_PASSWORD"
  printf 'export KAFKA_SASL_MECHANISM=%s\n' "$SASL_MECHANISM"
}

# A test CA and a broker certificate signed by it, valid for localhost and
# 127.0.0.1.  Made once and kept across restarts, so the CA path and file
# stay the same.
ensure_certs() {
  local certs="$1"
  if [[ -s "$certs/ca.pem" && -s "$certs/broker.p12" ]]; then
    return 0
  fi
  local keytool
  keytool="$(keytool_cmd)" || die "keytool not found: install a full Java $MIN_JAVA+ JDK"
  log "creating a test CA and broker certificate in $certs ..."
  local tmp
  tmp="$(mktemp -d "$RUN_DIR/.certs.XXXXXX")"
  local -a ks=(-storetype PKCS12 -storepass "$STORE_PASSWORD" -keypass "$STORE_PASSWORD")
  # EC P-256 keys: generated in milliseconds (RSA takes seconds per key
  # here) and accepted by librdkafka/OpenSSL and the Java clients alike.
  local -a key=(-keyalg EC -groupname secp256r1)
  local -a kt=("$keytool" "${QUICK_JVM_OPTS[@]/#/-J}")
  local days=3650 ok=1
  {
    "${kt[@]}" -genkeypair -alias ca "${key[@]}" -validity "$days" \
      -dname "CN=kafkit test CA" -ext bc:c -ext KeyUsage=keyCertSign,cRLSign \
      -keystore "$tmp/ca.p12" "${ks[@]}" &&
      "${kt[@]}" -exportcert -rfc -alias ca -keystore "$tmp/ca.p12" "${ks[@]}" -file "$tmp/ca.pem" &&
      "${kt[@]}" -genkeypair -alias broker "${key[@]}" -validity "$days" \
        -dname "CN=localhost" -keystore "$tmp/broker.p12" "${ks[@]}" &&
      "${kt[@]}" -certreq -alias broker -keystore "$tmp/broker.p12" "${ks[@]}" -file "$tmp/broker.csr" &&
      "${kt[@]}" -gencert -rfc -alias ca -keystore "$tmp/ca.p12" "${ks[@]}" -validity "$days" \
        -ext SAN=DNS:localhost,IP:127.0.0.1 -ext KeyUsage:critical=digitalSignature \
        -ext ExtendedKeyUsage=serverAuth \
        -infile "$tmp/broker.csr" -outfile "$tmp/broker.pem" &&
      "${kt[@]}" -importcert -noprompt -alias ca -file "$tmp/ca.pem" \
        -keystore "$tmp/broker.p12" "${ks[@]}" &&
      "${kt[@]}" -importcert -alias broker -file "$tmp/broker.pem" \
        -keystore "$tmp/broker.p12" "${ks[@]}"
  } >"$tmp/keytool.log" 2>&1 || ok=0
  if ((!ok)); then
    cat "$tmp/keytool.log" >&2
    die "keytool failed to create the test certificates"
  fi
  mkdir -p "$certs"
  mv -f "$tmp/broker.p12" "$tmp/broker.pem" "$certs/"
  mv -f "$tmp/ca.p12" "$certs/"
  mv -f "$tmp/ca.pem" "$certs/ca.pem" # last: its presence marks a complete set
  rm -rf "$tmp"
}

write_single_client_configs() {
  cat >"$SINGLE_DIR/client-scram.properties" <<EOF
# Java client settings for the SCRAM listener 127.0.0.1:$SINGLE_SASL_PORT (user $CLIENT_USER).
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$SASL_MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$CLIENT_USER" password="$CLIENT_PASSWORD";
EOF
  cat >"$SINGLE_DIR/client-scram-admin.properties" <<EOF
# Java client settings for the SCRAM listener 127.0.0.1:$SINGLE_SASL_PORT (super user $ADMIN_USER).
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$SASL_MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$ADMIN_USER" password="$ADMIN_PASSWORD";
EOF
  cat >"$SINGLE_DIR/client-ssl.properties" <<EOF
# Java client settings for the SSL listener 127.0.0.1:$SINGLE_SSL_PORT.
security.protocol=SSL
ssl.truststore.type=PEM
ssl.truststore.location=$SINGLE_DIR/certs/ca.pem
EOF
}

start_single() {
  if node_running "$SINGLE_DIR"; then
    log "single node already running (pid $(node_pid "$SINGLE_DIR"))"
    single_env
    return 0
  fi
  ensure_installed
  require_java
  check_ports_free "$SINGLE_PLAINTEXT_PORT" "$SINGLE_CONTROLLER_PORT" "$SINGLE_SASL_PORT" "$SINGLE_SSL_PORT"

  local dir="$SINGLE_DIR"
  mkdir -p "$dir/logs"
  rm -rf "$dir/data"
  rm -f "$(node_pid_file "$dir")"
  ensure_certs "$dir/certs"
  render "$TEMPLATE_DIR/single.properties.in" "$dir/server.properties" \
    PLAINTEXT_PORT "$SINGLE_PLAINTEXT_PORT" \
    CONTROLLER_PORT "$SINGLE_CONTROLLER_PORT" \
    SASL_PORT "$SINGLE_SASL_PORT" \
    SSL_PORT "$SINGLE_SSL_PORT" \
    KEYSTORE "$dir/certs/broker.p12" \
    STORE_PASSWORD "$STORE_PASSWORD" \
    ADMIN_USER "$ADMIN_USER" \
    DATA_DIR "$dir/data"
  write_single_client_configs

  local cluster_id
  cluster_id="$(new_cluster_id)"
  [[ -n "$cluster_id" ]] || die "kafka.tools.StorageTool random-uuid printed nothing"
  log "formatting $dir/data (cluster id $cluster_id) ..."
  local format_log="$dir/logs/format.log"
  : >"$format_log"
  local -a scram=()
  local mech
  for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
    scram+=(--add-scram "$mech=[name=$ADMIN_USER,password=$ADMIN_PASSWORD]")
    scram+=(--add-scram "$mech=[name=$CLIENT_USER,password=$CLIENT_PASSWORD]")
  done
  if ! run_quiet "$format_log" kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$dir/server.properties" "${scram[@]}"; then
    cat "$format_log" >&2
    die "formatting the single node's storage failed"
  fi

  log "starting single node (log: $dir/logs/server.log) ..."
  start_node_process "$dir" "$SINGLE_HEAP"
  wait_ready "single node" "$dir" \
    "$SINGLE_PLAINTEXT_PORT,$SINGLE_SASL_PORT,$SINGLE_SSL_PORT,$SINGLE_CONTROLLER_PORT"
  log "single node is up (pid $(node_pid "$dir")) after ${SECONDS}s"
  single_env
}

###############################################################################
# Three node cluster
###############################################################################

cluster_node_dir() { printf '%s/node%s\n' "$CLUSTER_DIR" "$1"; }
cluster_broker_port() { printf '9%s92\n' "$1"; }
cluster_controller_port() { printf '9%s93\n' "$1"; }

cluster_bootstrap() {
  local n list=""
  for n in "${CLUSTER_NODES[@]}"; do
    list+="${list:+,}127.0.0.1:$(cluster_broker_port "$n")"
  done
  printf '%s\n' "$list"
}

cluster_env() {
  printf 'export KAFKA_CLUSTER_BOOTSTRAP_SERVERS=%s\n' "$(cluster_bootstrap)"
}

valid_node_id() {
  local n
  for n in "${CLUSTER_NODES[@]}"; do
    [[ "$1" == "$n" ]] && return 0
  done
  die "unknown cluster node '${1:-}' (expected one of ${CLUSTER_NODES[*]})"
}

start_cluster() {
  local n dir running=0
  for n in "${CLUSTER_NODES[@]}"; do
    if node_running "$(cluster_node_dir "$n")"; then running=$((running + 1)); fi
  done
  if ((running == ${#CLUSTER_NODES[@]})); then
    log "cluster already running"
    cluster_env
    return 0
  elif ((running > 0)); then
    die "cluster is partly running: use 'start-node ID' for the missing nodes, or 'stop cluster' first"
  fi
  ensure_installed
  require_java
  for n in "${CLUSTER_NODES[@]}"; do
    check_ports_free "$(cluster_broker_port "$n")" "$(cluster_controller_port "$n")"
  done

  local voters=""
  for n in "${CLUSTER_NODES[@]}"; do
    voters+="${voters:+,}$n@127.0.0.1:$(cluster_controller_port "$n")"
  done
  local cluster_id
  mkdir -p "$CLUSTER_DIR"
  cluster_id="$(new_cluster_id)"
  [[ -n "$cluster_id" ]] || die "kafka.tools.StorageTool random-uuid printed nothing"
  printf '%s\n' "$cluster_id" >"$CLUSTER_DIR/cluster.id"
  log "formatting three nodes (cluster id $cluster_id) ..."

  local -a format_pids=()
  for n in "${CLUSTER_NODES[@]}"; do
    dir="$(cluster_node_dir "$n")"
    mkdir -p "$dir/logs"
    rm -rf "$dir/data"
    rm -f "$(node_pid_file "$dir")"
    render "$TEMPLATE_DIR/cluster.properties.in" "$dir/server.properties" \
      NODE_ID "$n" \
      QUORUM_VOTERS "$voters" \
      BROKER_PORT "$(cluster_broker_port "$n")" \
      CONTROLLER_PORT "$(cluster_controller_port "$n")" \
      DATA_DIR "$dir/data"
    : >"$dir/logs/format.log"
    run_quiet "$dir/logs/format.log" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$dir/server.properties" &
    format_pids+=("$!")
  done
  local i failed=0
  for i in "${!format_pids[@]}"; do
    if ! wait "${format_pids[i]}"; then
      dir="$(cluster_node_dir "${CLUSTER_NODES[i]}")"
      cat "$dir/logs/format.log" >&2
      failed=1
    fi
  done
  ((!failed)) || die "formatting the cluster's storage failed"

  log "starting three nodes (logs: $CLUSTER_DIR/node*/logs/server.log) ..."
  local -a wait_args=()
  for n in "${CLUSTER_NODES[@]}"; do
    dir="$(cluster_node_dir "$n")"
    start_node_process "$dir" "$CLUSTER_HEAP"
    wait_args+=("$dir" "$(cluster_broker_port "$n"),$(cluster_controller_port "$n")")
  done
  wait_ready "cluster" "${wait_args[@]}"
  log "cluster is up after ${SECONDS}s"
  cluster_env
}

cmd_start_node() {
  local n="${1:-}" dir
  valid_node_id "$n"
  dir="$(cluster_node_dir "$n")"
  if node_running "$dir"; then
    log "node $n already running (pid $(node_pid "$dir"))"
    return 0
  fi
  [[ -f "$dir/data/meta.properties" ]] ||
    die "node $n has no data; run 'start cluster' first"
  ensure_installed
  require_java
  check_ports_free "$(cluster_broker_port "$n")" "$(cluster_controller_port "$n")"
  log "starting node $n on its existing data ..."
  start_node_process "$dir" "$CLUSTER_HEAP"
  wait_ready "node $n" "$dir" "$(cluster_broker_port "$n"),$(cluster_controller_port "$n")"
  log "node $n is up (pid $(node_pid "$dir")) after ${SECONDS}s"
}

cmd_stop_node() {
  local n="${1:-}" dir
  valid_node_id "$n"
  dir="$(cluster_node_dir "$n")"
  if ! node_running "$dir"; then
    log "node $n is not running"
    rm -f "$(node_pid_file "$dir")"
    return 0
  fi
  stop_nodes "$dir"
  log "node $n stopped (data kept)"
}

cmd_kill_node() {
  local n="${1:-}" dir
  valid_node_id "$n"
  dir="$(cluster_node_dir "$n")"
  if ! node_running "$dir"; then
    log "node $n is not running"
    rm -f "$(node_pid_file "$dir")"
    return 0
  fi
  kill_node_hard "$dir"
}

###############################################################################
# stop / status / env
###############################################################################

stop_single() {
  stop_nodes "$SINGLE_DIR"
  rm -rf "$SINGLE_DIR/data"
  log "single node stopped"
}

stop_cluster() {
  local n
  local -a dirs=()
  for n in "${CLUSTER_NODES[@]}"; do dirs+=("$(cluster_node_dir "$n")"); done
  stop_nodes "${dirs[@]}"
  for n in "${dirs[@]}"; do rm -rf "$n/data"; done
  rm -f "$CLUSTER_DIR/cluster.id"
  log "cluster stopped"
}

cmd_stop() {
  case "${1:-all}" in
    single) stop_single ;;
    cluster) stop_cluster ;;
    all)
      stop_single
      stop_cluster
      ;;
    *) die "usage: stop [single|cluster|all]" ;;
  esac
}

status_line() {
  local label="$1" dir="$2" port_list="$3" pid
  if pid="$(node_pid "$dir")"; then
    printf '%-16s running  pid %-8s %s\n' "$label" "$pid" "$port_list"
  elif [[ -d "$dir/data" ]]; then
    printf '%-16s stopped  (data kept) %s\n' "$label" "$port_list"
  else
    printf '%-16s stopped\n' "$label"
  fi
}

cmd_status() {
  status_line "single" "$SINGLE_DIR" \
    "PLAINTEXT 127.0.0.1:$SINGLE_PLAINTEXT_PORT, SASL_PLAINTEXT 127.0.0.1:$SINGLE_SASL_PORT, SSL 127.0.0.1:$SINGLE_SSL_PORT, CONTROLLER 127.0.0.1:$SINGLE_CONTROLLER_PORT"
  local n
  for n in "${CLUSTER_NODES[@]}"; do
    status_line "cluster node $n" "$(cluster_node_dir "$n")" \
      "PLAINTEXT 127.0.0.1:$(cluster_broker_port "$n"), CONTROLLER 127.0.0.1:$(cluster_controller_port "$n")"
  done
}

cluster_any_running() {
  local n
  for n in "${CLUSTER_NODES[@]}"; do
    node_running "$(cluster_node_dir "$n")" && return 0
  done
  return 1
}

cmd_env() {
  case "${1:-}" in
    single)
      node_running "$SINGLE_DIR" || die "single node is not running (scripts/kafka.sh start single)"
      single_env
      ;;
    cluster)
      cluster_any_running || die "cluster is not running (scripts/kafka.sh start cluster)"
      cluster_env
      ;;
    "")
      local any=0
      if node_running "$SINGLE_DIR"; then
        single_env
        any=1
      fi
      if cluster_any_running; then
        cluster_env
        any=1
      fi
      ((any)) || die "no broker is running (scripts/kafka.sh start single|cluster)"
      ;;
    *) die "usage: env [single|cluster]" ;;
  esac
}

###############################################################################
# Dispatch
###############################################################################

main() {
  local cmd="${1:-help}"
  (($#)) && shift
  case "$cmd" in
    install) cmd_install ;;
    start)
      case "${1:-}" in
        single) start_single ;;
        cluster) start_cluster ;;
        *) die "usage: start single|cluster" ;;
      esac
      ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status ;;
    env) cmd_env "$@" ;;
    start-node) cmd_start_node "$@" ;;
    stop-node) cmd_stop_node "$@" ;;
    kill-node) cmd_kill_node "$@" ;;
    topics) run_tool quick org.apache.kafka.tools.TopicCommand "$@" ;;
    configs) run_tool quick kafka.admin.ConfigCommand "$@" ;;
    acls) run_tool quick org.apache.kafka.tools.AclCommand "$@" ;;
    consumer-groups) run_tool quick org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
    console-producer) run_tool quick org.apache.kafka.tools.ConsoleProducer "$@" ;;
    console-consumer) run_tool quick org.apache.kafka.tools.consumer.ConsoleConsumer "$@" ;;
    producer-perf) run_tool full org.apache.kafka.tools.ProducerPerformance "$@" ;;
    consumer-perf) run_tool full org.apache.kafka.tools.ConsumerPerformance "$@" ;;
    e2e-latency) run_tool full org.apache.kafka.tools.EndToEndLatency "$@" ;;
    run)
      (($#)) || die "usage: run CLASS [ARGS...]"
      run_tool full "$@"
      ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
