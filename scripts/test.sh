#!/usr/bin/env bash
# The whole test suite: format check, clippy, the mock-cluster tier, then the
# real-broker tier on an Apache Kafka broker that this script installs and
# starts (and always stops). Prints how long each part took; exits non-zero
# on any failure.
#
#   ./scripts/test.sh                 everything
#   KAFKIT_SKIP_BROKER=1 ./scripts/test.sh   only format, clippy and mock tier
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

# One feature set for every step, so librdkafka is compiled once: the default
# codecs plus TLS and SASL/SCRAM, which the broker tier tests.
features=(--workspace --features kafkit/ssl,kafkit/disk-store)

timings=()
step() {
  local name=$1
  shift
  local start=$SECONDS
  echo "==> $name"
  "$@"
  timings+=("$(printf '%-28s %5ds' "$name" $((SECONDS - start)))")
}

report() {
  echo
  echo "==> timings"
  for t in "${timings[@]}"; do echo "    $t"; done
}

# Tools the build needs: a C toolchain (librdkafka is compiled from source),
# plus Java and Maven for the real broker.
ensure_packages() {
  local missing=()
  command -v cc >/dev/null 2>&1 || missing+=(build-essential)
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v perl >/dev/null 2>&1 || missing+=(perl)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  # TLS and SASL/SCRAM (the `ssl` feature) link the system OpenSSL.
  dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
  if [ -z "${KAFKIT_SKIP_BROKER:-}" ]; then
    command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null 2>&1 || missing+=(maven)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && apt-get install -y -qq "${missing[@]}"
    else
      sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}"
    fi
  fi
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
}

broker_started=""
cleanup() {
  if [ -n "$broker_started" ]; then
    "$root/scripts/kafka.sh" stop all >&2 || true
  fi
}
trap 'cleanup; report' EXIT

step "install prerequisites" ensure_packages
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy -D warnings" cargo clippy "${features[@]}" --all-targets -- -D warnings
step "build tests" cargo test "${features[@]}" --no-run
step "mock tier (cargo test)" env -u KAFKA_BOOTSTRAP_SERVERS -u KAFKA_SASL_BOOTSTRAP_SERVERS -u KAFKA_CLUSTER_BOOTSTRAP_SERVERS \
  -u KAFKA_SSL_BOOTSTRAP_SERVERS cargo test "${features[@]}"

# The comparison harness on the mock cluster, kafkit and raw librdkafka
# only (no broker, no Python, no Java): it must write a report with a row
# per client, each with at least one good run, and a chart. A release
# build (the figures are printed), without the TLS feature: no other step
# builds in release, so that feature would only add a release OpenSSL.
compare_quick() {
  local out="$root/target/compare-quick"
  rm -rf "$out"
  env -u KAFKA_BOOTSTRAP_SERVERS cargo run --release -p kafkit-bench -- \
    compare --quick --clients kafkit,raw --broker mock --out "$out"
  local family
  for family in kafkit raw; do
    if ! grep -Eq "^\| $family .*\| [1-9][0-9]*/[0-9]+ \|\$" "$out/REPORT.md"; then
      echo "compare: $out/REPORT.md has no row with a good run for $family" >&2
      return 1
    fi
  done
  if ! compgen -G "$out/*.svg" >/dev/null; then
    echo "compare: no chart (.svg) in $out" >&2
    return 1
  fi
}
step "compare --quick (mock)" compare_quick

# The delivery slots' state machine, model-checked by loom (every
# interleaving of each test's threads). Its own target folder: the cfg
# changes every crate's build.
step "loom model (slot states)" env CARGO_TARGET_DIR="$root/target/loom" RUSTFLAGS="--cfg kafkit_loom" \
  cargo test --release --lib loom

if [ -n "${KAFKIT_SKIP_BROKER:-}" ]; then
  echo "KAFKIT_SKIP_BROKER is set: the real-broker tier was NOT run"
  exit 0
fi

step "install Apache Kafka" "$root/scripts/kafka.sh" install
start_single() {
  local exports
  exports=$("$root/scripts/kafka.sh" start single)
  broker_started=1
  eval "$exports"
  export KAFKA_BOOTSTRAP_SERVERS KAFKA_SASL_BOOTSTRAP_SERVERS KAFKA_SSL_BOOTSTRAP_SERVERS \
    KAFKA_SSL_CA_LOCATION KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD
  echo "broker at $KAFKA_BOOTSTRAP_SERVERS"
}
step "start single broker" start_single
step "broker tier (cargo test)" cargo test "${features[@]}" -- broker_
step "stop broker" "$root/scripts/kafka.sh" stop all
broker_started=""

# The cluster tier: three KRaft nodes, with nodes killed and restarted under
# load (tests named cluster_*, which need KAFKA_CLUSTER_BOOTSTRAP_SERVERS).
# The single node was stopped above, so the three nodes have both cores.
start_cluster() {
  local exports
  # Set first: a start that fails halfway is cleaned up by the trap.
  broker_started=1
  exports=$("$root/scripts/kafka.sh" start cluster)
  eval "$exports"
  export KAFKA_CLUSTER_BOOTSTRAP_SERVERS
  echo "cluster at $KAFKA_CLUSTER_BOOTSTRAP_SERVERS"
}
step "start 3-node cluster" start_cluster
step "cluster tier (cargo test)" cargo test "${features[@]}" -- cluster_ --test-threads=1
step "stop cluster" "$root/scripts/kafka.sh" stop all
broker_started=""
