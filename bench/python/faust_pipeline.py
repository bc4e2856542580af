"""The consume-transform-produce pipeline of `kafkit-bench streams` in
faust-streaming: one agent reads the input topic, upper-cases each value
and sends it to the output topic, at least once. After BENCH_EVENTS events
it prints `RESULT {json}` (events, wall seconds and this process's CPU
seconds, both from the first event) and exits.

Run by the harness as `python faust_pipeline.py worker --loglevel warn`
with BENCH_BOOTSTRAP, BENCH_INPUT, BENCH_OUTPUT, BENCH_EVENTS,
BENCH_PARTITIONS, BENCH_APP and BENCH_DATADIR set.
"""

import json
import os
import sys
import time

import faust

EVENTS = int(os.environ["BENCH_EVENTS"])
PARTITIONS = int(os.environ["BENCH_PARTITIONS"])

app = faust.App(
    os.environ["BENCH_APP"],
    broker="kafka://" + os.environ["BENCH_BOOTSTRAP"],
    datadir=os.environ["BENCH_DATADIR"],
    store="memory://",
    value_serializer="raw",
    topic_partitions=PARTITIONS,
    processing_guarantee="at_least_once",
    broker_commit_every=10_000,
    broker_commit_interval=1.0,
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
)
source = app.topic(os.environ["BENCH_INPUT"], value_serializer="raw", partitions=PARTITIONS)
sink = app.topic(os.environ["BENCH_OUTPUT"], value_serializer="raw", partitions=PARTITIONS)

state = {"n": 0, "start": None}


@app.agent(source)
async def upper(stream):
    async for value in stream:
        if state["start"] is None:
            state["start"] = (time.perf_counter(), time.process_time())
        await sink.send(value=value.upper())
        state["n"] += 1
        if state["n"] == EVENTS:
            await app.producer.flush()
            wall0, cpu0 = state["start"]
            result = {
                "events": EVENTS,
                "secs": time.perf_counter() - wall0,
                "cpu_secs": time.process_time() - cpu0,
            }
            print("RESULT " + json.dumps(result), flush=True)
            sys.stdout.flush()
            os._exit(0)


if __name__ == "__main__":
    app.main()
