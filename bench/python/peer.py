#!/usr/bin/env python3
"""One run of one Python Kafka client for `kafkit-bench compare`.

    peer.py FAMILY VARIANT WORKLOAD_JSON

FAMILY is confluent-python, kafka-python or pykafka. The workload is the JSON
form of `Workload` in bench/src/compare/protocol.rs. The last line printed is
"KAFKIT-BENCH-RESULT " and the `Outcome` as JSON; on failure the script prints
"error: ..." on stderr and exits with status 1.

Timed parts, as for every client of the harness: a produce run from the first
send to the last delivery report; a consume run from the first record
received to the `messages`-th. Payloads are one template of `size` bytes that
the client copies per record; latency runs write the send time (nanoseconds
since the UNIX epoch, little-endian u64) into the first 8 bytes of a copy.
"""

import json
import struct
import sys
import threading
import time

RESULT_PREFIX = "KAFKIT-BENCH-RESULT "

# Seconds without any progress after which a run gives up.
STALL_SECONDS = 30.0


class PeerError(Exception):
    """A failure to report as the run's error message."""


def outcome(messages, nbytes, seconds, failed=0, latency=None, note=None):
    out = {"messages": messages, "bytes": nbytes, "seconds": seconds, "failed": failed}
    if latency is not None:
        out["latency"] = latency
    if note is not None:
        out["note"] = note
    return out


def percentiles(latencies_ns):
    """p50, p99, p99.9 and max in microseconds (nearest rank)."""
    if not latencies_ns:
        raise PeerError("no record came back: no latency to report")
    v = sorted(latencies_ns)
    n = len(v)

    def rank(q):
        i = max(0, min(n - 1, int(-(-q * n // 1)) - 1))
        return v[i] / 1000.0

    return {"p50_us": rank(0.50), "p99_us": rank(0.99), "p999_us": rank(0.999), "max_us": v[-1] / 1000.0}


def template(w):
    return bytes(w["size"])


def stamped(buf):
    """A copy of `buf` with the current time in its first 8 bytes."""
    struct.pack_into("<Q", buf, 0, time.time_ns())
    return bytes(buf)


def check_latency_size(w):
    if w["size"] < 8:
        raise PeerError(f"a latency run needs records of 8 bytes or more, not {w['size']}")


def paced_sends(w, send):
    """Calls send(payload) `messages` times at `rate` per second (by the clock,
    not by deliveries); returns the send loop's seconds."""
    rate = w["rate"]
    if rate <= 0:
        raise PeerError("a latency run needs a rate above 0")
    buf = bytearray(w["size"])
    start = time.perf_counter()
    for i in range(w["messages"]):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        send(stamped(buf))
    return time.perf_counter() - start


def arrival_ns(value):
    return time.time_ns() - struct.unpack_from("<Q", value, 0)[0]


class Collector:
    """Latencies gathered by a consumer thread of a latency run."""

    def __init__(self, expected):
        self.expected = expected
        self.latencies = []
        self.failed = 0
        self.error = None
        self.done = threading.Event()
        self.ready = threading.Event()

    def add(self, value):
        self.latencies.append(arrival_ns(value))
        if len(self.latencies) >= self.expected:
            self.done.set()

    def wait(self, produced_seconds):
        # Records still in flight when the sends end come back within the
        # stall limit, or the run reports how many did not.
        self.done.wait(STALL_SECONDS + produced_seconds * 0.1)
        if self.error is not None:
            raise PeerError(f"consumer: {self.error}")
        if len(self.latencies) < self.expected:
            raise PeerError(f"received {len(self.latencies)} of {self.expected} records")


def run_consumer_thread(collector, body):
    def target():
        try:
            body()
        except Exception as e:  # reported by Collector.wait on the main thread
            collector.error = f"{type(e).__name__}: {e}"
            collector.ready.set()
            collector.done.set()

    t = threading.Thread(target=target, name="latency-consumer", daemon=True)
    t.start()
    if not collector.ready.wait(STALL_SECONDS):
        raise PeerError("the consumer was not assigned its partitions in time")
    if collector.error is not None:
        raise PeerError(f"consumer: {collector.error}")
    return t


# --- confluent-kafka-python --------------------------------------------------


def confluent_note():
    import confluent_kafka

    version = confluent_kafka.version()
    if isinstance(version, tuple):
        version = version[0]
    return f"confluent-kafka {version} (librdkafka {confluent_kafka.libversion()[0]})"


def confluent_producer_conf(w):
    conf = {
        "bootstrap.servers": w["bootstrap"],
        "acks": str(w["acks"]),
        "enable.idempotence": w["idempotence"],
        "compression.type": w["compression"],
    }
    if w["tuned"]:
        conf["linger.ms"] = w["linger_ms"]
        conf["batch.size"] = w["batch_size"]
        conf["queue.buffering.max.messages"] = w["window"]
    return conf


def confluent_consumer_conf(w):
    return {
        "bootstrap.servers": w["bootstrap"],
        "group.id": w["group"],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }


def confluent_produce(w, variant):
    from confluent_kafka import Producer

    counts = {"ok": 0, "failed": 0}

    def on_delivery(err, _msg):
        if err is None:
            counts["ok"] += 1
        else:
            counts["failed"] += 1

    conf = confluent_producer_conf(w)
    conf["on_delivery"] = on_delivery
    p = Producer(conf)
    topic, payload, n = w["topic"], template(w), w["messages"]
    produce, poll = p.produce, p.poll
    # One record delivered before the clock starts, as for every client
    # (an idempotent producer first waits for its producer id).
    produce(topic, payload)
    if p.flush(STALL_SECONDS):
        raise PeerError("the warm-up record was not delivered")
    if counts["failed"]:
        raise PeerError("the warm-up record failed")
    counts["ok"] = 0
    start = time.perf_counter()
    for _ in range(n):
        while True:
            try:
                produce(topic, payload)
                break
            except BufferError:
                poll(0.1)
        poll(0)
    left = p.flush(STALL_SECONDS)
    seconds = time.perf_counter() - start
    if left:
        raise PeerError(f"{left} records still undelivered {STALL_SECONDS} s after the last send")
    return outcome(counts["ok"], counts["ok"] * w["size"], seconds, counts["failed"], note=confluent_note())


def confluent_consume(w, variant):
    from confluent_kafka import Consumer

    c = Consumer(confluent_consumer_conf(w))
    c.subscribe([w["topic"]])
    n = w["messages"]
    got = nbytes = failed = 0
    start = None
    last_progress = time.monotonic()
    try:
        while got < n:
            if variant == "consume":
                batch = c.consume(num_messages=min(10_000, n - got), timeout=1.0)
            else:
                m = c.poll(1.0)
                batch = [] if m is None else [m]
            if not batch:
                if time.monotonic() - last_progress > STALL_SECONDS:
                    raise PeerError(f"received {got} of {n} records, then nothing for {STALL_SECONDS} s")
                continue
            if start is None:
                start = time.perf_counter()
            last_progress = time.monotonic()
            for m in batch:
                if m.error() is not None:
                    failed += 1
                    continue
                got += 1
                nbytes += len(m.value())
        seconds = time.perf_counter() - start
    finally:
        c.close()
    return outcome(got, nbytes, seconds, failed, note=confluent_note())


def confluent_latency(w, variant):
    from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING

    check_latency_size(w)
    collector = Collector(w["messages"])
    c = Consumer(confluent_consumer_conf(w))

    def consume():
        c.assign([TopicPartition(w["topic"], p, OFFSET_BEGINNING) for p in range(w["partitions"])])
        # One empty round trip so that the fetchers run before the first send.
        c.consume(num_messages=1, timeout=0.5)
        collector.ready.set()
        # poll, not consume(num_messages): a batch call waits for a full
        # batch or its timeout, which would be timed as latency.
        while not collector.done.is_set():
            m = c.poll(0.1)
            if m is None:
                continue
            if m.error() is None:
                collector.add(m.value())
            else:
                collector.failed += 1

    failed = [0]

    def on_delivery(err, _msg):
        if err is not None:
            failed[0] += 1

    conf = confluent_producer_conf(w)
    conf["on_delivery"] = on_delivery
    p = Producer(conf)
    run_consumer_thread(collector, consume)

    def send(value):
        while True:
            try:
                p.produce(w["topic"], value)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)

    seconds = paced_sends(w, send)
    p.flush(STALL_SECONDS)
    try:
        collector.wait(seconds)
    finally:
        collector.done.set()
        c.close()
    n = len(collector.latencies)
    return outcome(n, n * w["size"], seconds, failed[0] + collector.failed, percentiles(collector.latencies), confluent_note())


# --- kafka-python ------------------------------------------------------------


def kafka_python_note():
    import kafka

    return f"kafka-python {kafka.__version__}"


def kafka_python_producer(w):
    from kafka import KafkaProducer

    kw = {
        "bootstrap_servers": w["bootstrap"].split(","),
        "acks": w["acks"],
        "enable_idempotence": w["idempotence"],
        "compression_type": None if w["compression"] == "none" else w["compression"],
    }
    if w["tuned"]:
        kw["linger_ms"] = w["linger_ms"]
        kw["batch_size"] = w["batch_size"]
    try:
        return KafkaProducer(**kw)
    except AssertionError as e:
        # kafka-python checks for its codec packages with asserts.
        raise PeerError(f"kafka-python cannot use compression {w['compression']}: {e}")


def kafka_python_consumer(w, subscribe):
    from kafka import KafkaConsumer

    kw = {
        "bootstrap_servers": w["bootstrap"].split(","),
        "group_id": w["group"],
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
        "consumer_timeout_ms": int(STALL_SECONDS * 1000),
    }
    return KafkaConsumer(w["topic"], **kw) if subscribe else KafkaConsumer(**kw)


def kafka_python_produce(w, variant):
    p = kafka_python_producer(w)
    failed = [0]

    def on_error(_exc):
        failed[0] += 1

    topic, payload, n = w["topic"], template(w), w["messages"]
    send = p.send
    # One record delivered before the clock starts, as for every client.
    send(topic, payload).get(timeout=STALL_SECONDS)
    start = time.perf_counter()
    for _ in range(n):
        send(topic, payload).add_errback(on_error)
    p.flush(timeout=STALL_SECONDS)
    seconds = time.perf_counter() - start
    p.close()
    ok = n - failed[0]
    return outcome(ok, ok * w["size"], seconds, failed[0], note=kafka_python_note())


def kafka_python_consume(w, variant):
    c = kafka_python_consumer(w, subscribe=True)
    n = w["messages"]
    got = nbytes = 0
    start = None
    try:
        if variant == "iter":
            for m in c:
                if start is None:
                    start = time.perf_counter()
                got += 1
                nbytes += len(m.value)
                if got >= n:
                    break
        else:
            last_progress = time.monotonic()
            while got < n:
                records = c.poll(timeout_ms=1000, max_records=min(10_000, n - got))
                if not records:
                    if time.monotonic() - last_progress > STALL_SECONDS:
                        break
                    continue
                if start is None:
                    start = time.perf_counter()
                last_progress = time.monotonic()
                for batch in records.values():
                    for m in batch:
                        got += 1
                        nbytes += len(m.value)
        if got < n:
            raise PeerError(f"received {got} of {n} records, then nothing for {STALL_SECONDS} s")
        seconds = time.perf_counter() - start
    finally:
        c.close(autocommit=False)
    return outcome(got, nbytes, seconds, note=kafka_python_note())


def kafka_python_latency(w, variant):
    from kafka import TopicPartition

    check_latency_size(w)
    collector = Collector(w["messages"])
    c = kafka_python_consumer(w, subscribe=False)

    def consume():
        parts = [TopicPartition(w["topic"], p) for p in range(w["partitions"])]
        c.assign(parts)
        c.seek_to_beginning(*parts)
        # Resolves the start offsets and sends the first fetches.
        c.poll(timeout_ms=500)
        collector.ready.set()
        while not collector.done.is_set():
            for batch in c.poll(timeout_ms=100).values():
                for m in batch:
                    collector.add(m.value)

    p = kafka_python_producer(w)
    run_consumer_thread(collector, consume)
    failed = [0]

    def on_error(_exc):
        failed[0] += 1

    seconds = paced_sends(w, lambda v: p.send(w["topic"], v).add_errback(on_error))
    p.flush(timeout=STALL_SECONDS)
    try:
        collector.wait(seconds)
    finally:
        collector.done.set()
    p.close()
    n = len(collector.latencies)
    return outcome(n, n * w["size"], seconds, failed[0], percentiles(collector.latencies), kafka_python_note())


# --- pykafka -----------------------------------------------------------------

# What Kafka 4.x no longer accepts from pykafka 2.8, found by running it
# against a Kafka 4.3 broker (the broker closes the connection).
PYKAFKA_ON_KAFKA_4 = (
    "Kafka 4.x accepts Fetch v4 and later, ListOffsets v1 and later and only message format "
    "v2 (record batches), while pykafka 2.8 (even with broker_version=\"2.0.0\") sends Fetch "
    "v2 at most, ListOffsets v0 and message sets of format v0/v1, so the broker closes its "
    "connections (SocketDisconnectedError)"
)


def pykafka_note():
    import pykafka

    return f"pykafka {pykafka.__version__}"


def pykafka_client(w):
    from pykafka import KafkaClient

    client = KafkaClient(hosts=w["bootstrap"], broker_version="2.0.0")
    for broker in client.brokers.values():
        fetch = (broker._api_versions or {}).get(1)
        if fetch is not None and fetch.min > 2:
            raise PeerError(
                f"pykafka cannot talk to this broker (its Fetch starts at v{fetch.min}): "
                + PYKAFKA_ON_KAFKA_4
            )
    return client, client.topics[w["topic"]]


def pykafka_producer(w, topic):
    from pykafka.common import CompressionType

    if w["idempotence"]:
        raise PeerError("pykafka has no idempotent producer (enable.idempotence=true)")
    codecs = {"none": CompressionType.NONE, "lz4": CompressionType.LZ4}
    if w["compression"] not in codecs:
        raise PeerError(f"pykafka does not support compression {w['compression']} (only none, gzip, snappy, lz4)")
    kw = {
        "delivery_reports": True,
        "required_acks": w["acks"],
        "compression": codecs[w["compression"]],
    }
    if w["tuned"]:
        # pykafka batches by record count, not bytes.
        kw["linger_ms"] = w["linger_ms"]
        kw["min_queued_messages"] = max(1, w["batch_size"] // max(1, w["size"]))
        kw["max_queued_messages"] = max(kw["min_queued_messages"], w["window"])
    return topic.get_producer(**kw)


def pykafka_check_report(exc):
    from pykafka.exceptions import SocketDisconnectedError

    if isinstance(exc, SocketDisconnectedError):
        raise PeerError(f"pykafka cannot produce to this broker: {exc!r}: " + PYKAFKA_ON_KAFKA_4)


def pykafka_produce(w, variant):
    import queue

    client, topic = pykafka_client(w)
    p = pykafka_producer(w, topic)
    payload, n = template(w), w["messages"]
    ok = failed = 0
    produce, report = p.produce, p.get_delivery_report

    def drain(block):
        nonlocal ok, failed
        while True:
            try:
                _msg, exc = report(block=block, timeout=STALL_SECONDS if block else None)
            except queue.Empty:
                if block:
                    raise PeerError(f"{n - ok - failed} records still undelivered after {STALL_SECONDS} s")
                return
            if exc is None:
                ok += 1
            else:
                pykafka_check_report(exc)
                failed += 1
            if block:
                return

    start = time.perf_counter()
    try:
        for i in range(n):
            produce(payload)
            if i % 1000 == 999:
                drain(block=False)
        while ok + failed < n:
            drain(block=True)
        seconds = time.perf_counter() - start
    finally:
        p.stop()
    return outcome(ok, ok * w["size"], seconds, failed, note=pykafka_note())


def pykafka_consumer(w, topic):
    from pykafka.common import OffsetType

    return topic.get_simple_consumer(
        auto_offset_reset=OffsetType.EARLIEST,
        reset_offset_on_start=True,
        auto_commit_enable=False,
        consumer_timeout_ms=int(STALL_SECONDS * 1000),
    )


def pykafka_consume(w, variant):
    client, topic = pykafka_client(w)
    c = pykafka_consumer(w, topic)
    n = w["messages"]
    got = nbytes = 0
    start = None
    try:
        for m in c:
            if start is None:
                start = time.perf_counter()
            got += 1
            nbytes += len(m.value)
            if got >= n:
                break
        if got < n:
            raise PeerError(f"received {got} of {n} records, then nothing for {STALL_SECONDS} s")
        seconds = time.perf_counter() - start
    finally:
        c.stop()
    return outcome(got, nbytes, seconds, note=pykafka_note())


def pykafka_latency(w, variant):
    check_latency_size(w)
    client, topic = pykafka_client(w)
    collector = Collector(w["messages"])

    def consume():
        c = pykafka_consumer(w, topic)
        collector.ready.set()
        try:
            while not collector.done.is_set():
                m = c.consume(block=False)
                if m is None:
                    time.sleep(0.0005)
                else:
                    collector.add(m.value)
        finally:
            c.stop()

    p = pykafka_producer(w, topic)
    run_consumer_thread(collector, consume)
    seconds = paced_sends(w, p.produce)
    try:
        collector.wait(seconds)
    finally:
        collector.done.set()
        p.stop()
    n = len(collector.latencies)
    return outcome(n, n * w["size"], seconds, 0, percentiles(collector.latencies), pykafka_note())


# --- dispatch ----------------------------------------------------------------

RUNS = {
    ("confluent-python", "produce", "produce"): confluent_produce,
    ("confluent-python", "consume", "consume"): confluent_consume,
    ("confluent-python", "consume", "poll"): confluent_consume,
    ("confluent-python", "latency", "produce"): confluent_latency,
    ("kafka-python", "produce", "send"): kafka_python_produce,
    ("kafka-python", "consume", "iter"): kafka_python_consume,
    ("kafka-python", "consume", "poll"): kafka_python_consume,
    ("kafka-python", "latency", "send"): kafka_python_latency,
    ("pykafka", "produce", "produce"): pykafka_produce,
    ("pykafka", "consume", "simple"): pykafka_consume,
    ("pykafka", "latency", "produce"): pykafka_latency,
}


def main(argv):
    if len(argv) != 4:
        print("usage: peer.py FAMILY VARIANT WORKLOAD_JSON (run by `kafkit-bench compare`)", file=sys.stderr)
        return 2
    family, variant, raw = argv[1:]
    try:
        w = json.loads(raw)
    except ValueError as e:
        print(f"error: bad workload {raw!r}: {e}", file=sys.stderr)
        return 2
    run = RUNS.get((family, w.get("kind"), variant))
    if run is None:
        print(f"error: no {family} variant {variant!r} for {w.get('kind')} runs", file=sys.stderr)
        return 2
    try:
        result = run(w, variant)
    except PeerError as e:
        print(f"error: {family} {variant}: {e}", file=sys.stderr)
        return 1
    except ImportError as e:
        print(f"error: {family}: the client is not installed in this Python ({sys.executable}): {e}", file=sys.stderr)
        return 1
    except Exception as e:
        print(f"error: {family} {variant}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
