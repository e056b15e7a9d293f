"""What the SSE relay costs per event, and whether it keeps every event, in order, under load.

`python -m labs.web.bench [--streams 200] [--latency-streams 20] [--speed 1]` replays one recorded answer
(the chat backend's day-hike list: 60 backend events, 63 on the wire) at its recorded pace.

Added latency per event: the relay consumes the SDK directly (the chat backend's typed events) and notes
the instant it has each event (`StreamRecord.framed_at`); the client notes the instant httpx-sse hands it
the same event, by id. The difference is everything the web adds over reading the SDK in-process:
framing, sse-starlette, uvicorn, loopback TCP, httpx and the SSE parser. Both clocks are this process's
`perf_counter`. Reported as p50 and p99 over every event, first with `--latency-streams` at once, then
with `--streams` at once. The same answer is also read directly from the SDK that many times at once,
and the median stream durations compared (relay / direct), each timed from the moment its batch began.

Every relayed stream is checked: ids 1..n without a gap (else lost or out of order), the text deltas
spelling the recorded answer, and `response_complete` last. Results print as a table and one JSON line.

The app, the replay server and this client share one Python process, so the numbers are an upper bound
on what the relay adds. Replay mode only: 200 streams live would be 200 paid answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import asdict, dataclass

import httpx
from httpx_sse import aconnect_sse

from ..config import settings
from ..metrics import percentile
from ..recordings import chat_text, fixture
from ..replay import replay_speed
from .app import StreamRecord, WebServer, serve
from .backends import ChatBackend

__all__ = ["FIXTURE", "BenchResult", "RelayedStream", "main", "run", "tally"]

FIXTURE = "12_sse_to_the_browser/chat_pack_list"
BOOKKEEPING = 3  # session_update, typing_start and response_complete around the backend's own events


@dataclass
class RelayedStream:
    """One stream as the client saw it: session, event ids and arrival instants, text, duration."""

    session_id: str
    names: list[str]
    ids: list[int]
    arrived_at: list[float]  # perf_counter() as httpx-sse yielded each event
    text: str
    final: str | None
    seconds: float

    def added_ms(self, record: StreamRecord) -> list[float]:
        """Per event: arrival at the client minus the instant the relay had it from the SDK, in ms."""
        return [(arrived - record.framed_at[i - 1]) * 1000 for i, arrived in zip(self.ids, self.arrived_at, strict=True) if 0 < i <= len(record.framed_at)]


@dataclass(frozen=True)
class BenchResult:
    streams: int
    latency_streams: int
    events_per_stream: int
    latency_p50_ms: float | None  # None when no event could be timed: no stream got through
    latency_p99_ms: float | None
    loaded_latency_p50_ms: float | None
    loaded_latency_p99_ms: float | None
    duration_ratio: float  # median stream duration under load, relay / direct
    events_expected: int
    events_received: int
    lost: int
    reordered: int
    wrong_text: int

    def table(self) -> str:
        rows = [
            (f"added latency per event, p50 ({self.latency_streams} streams)", _ms(self.latency_p50_ms)),
            (f"added latency per event, p99 ({self.latency_streams} streams)", _ms(self.latency_p99_ms)),
            (f"added latency per event, p50 ({self.streams} streams)", _ms(self.loaded_latency_p50_ms)),
            (f"added latency per event, p99 ({self.streams} streams)", _ms(self.loaded_latency_p99_ms)),
            (f"stream duration, relay / direct ({self.streams} streams)", f"{self.duration_ratio:.3f}"),
            ("events received / expected", f"{self.events_received} / {self.events_expected}"),
            ("events lost", str(self.lost)),
            ("events out of order", str(self.reordered)),
            ("streams whose text is not the recording's", str(self.wrong_text)),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value:>13}" for name, value in rows)

    def json_line(self) -> str:
        return json.dumps({"bench": "sse_relay", **asdict(self)}, sort_keys=True)


def _ms(milliseconds: float | None) -> str:
    return "no events" if milliseconds is None else f"{milliseconds:.2f} ms"


def _percentile_ms(values: list[float], q: float) -> float | None:
    """The q-th percentile of `values` (in ms) to a microsecond; None for no values, rather than a latency of 0."""
    value = percentile(values, q)
    return None if value is None else round(value, 3)


async def relayed(client: httpx.AsyncClient, message: str, launched: float) -> RelayedStream:
    stream = RelayedStream("", [], [], [], "", None, 0.0)
    pieces: list[str] = []
    async with aconnect_sse(client, "GET", "/chat/stream", params={"message": message, "backend": "chat"}) as source:
        async for event in source.aiter_sse():
            if not event.data:
                continue  # a ping after an id: httpx-sse 0.4 yields an empty event for it (httpx-sse issue #35)
            stream.arrived_at.append(time.perf_counter())
            stream.names.append(event.event)
            stream.ids.append(int(event.id or 0))
            data = event.json()
            if event.event == "session_update":
                stream.session_id = data["session_id"]
            elif event.event == "text_delta":
                pieces.append(data["delta"])
            elif event.event == "response_complete":
                stream.final = data["final_response"]
    stream.text, stream.seconds = "".join(pieces), time.perf_counter() - launched
    return stream


async def direct(message: str, launched: float) -> tuple[int, float]:
    """Read the answer from the SDK in-process: how many events, and how long since the batch was launched."""
    count = sum([1 async for _ in ChatBackend().stream(message)])
    return count, time.perf_counter() - launched


async def _direct_many(message: str, count: int) -> list[tuple[int, float]]:
    launched = time.perf_counter()
    return list(await asyncio.gather(*(direct(message, launched) for _ in range(count))))


async def _relay_many(server: WebServer, message: str, count: int) -> list[RelayedStream]:
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:
        launched = time.perf_counter()
        return list(await asyncio.gather(*(relayed(client, message, launched) for _ in range(count))))


def tally(streams: list[RelayedStream], per_stream: int, expected_text: str) -> dict[str, int]:
    """Counts over relayed streams: events received, lost, out of order, and streams with the wrong text."""
    return {
        "events_expected": per_stream * len(streams),
        "events_received": sum(len(s.ids) for s in streams),
        "lost": sum(max(0, per_stream - len(s.ids)) for s in streams),
        "reordered": sum(1 for s in streams for n, event_id in enumerate(s.ids, start=1) if event_id != n),
        "wrong_text": sum(1 for s in streams if not (s.text == s.final == expected_text and s.names[-1:] == ["response_complete"])),
    }


def _added(server: WebServer, streams: list[RelayedStream]) -> list[float]:
    records = {r.session_id: r for r in server.streams.finished}
    return [ms for s in streams if s.session_id in records for ms in s.added_ms(records[s.session_id])]


async def run(streams: int = 200, latency_streams: int = 20, speed: float = 1.0) -> BenchResult:
    """Measure; the recorded answer plays at `speed` (1 = as recorded, 0 = no delay, for a quick check)."""
    if settings().mode != "replay":
        raise SystemExit("the relay bench replays recorded streams: run it with LABS_MODE=replay (the default)")
    message = ChatBackend().prompt_in(fixture(FIXTURE))
    if message is None:
        raise SystemExit(f"{FIXTURE} was not recorded through the chat backend: re-author it (python -m labs.lessons 09_)")
    expected_text = chat_text(FIXTURE)
    with serve() as server:
        with replay_speed(0):  # warm up: imports, the replay server's fixtures, first connections
            [(events_direct, _)] = await _direct_many(message, 1)
            await _relay_many(server, message, 1)
        with replay_speed(speed):
            few = _added(server, await _relay_many(server, message, latency_streams))
            baseline = await _direct_many(message, streams)
            many_streams = await _relay_many(server, message, streams)
            server.streams.wait_idle()
            many = _added(server, many_streams)
    per_stream = events_direct + BOOKKEEPING
    return BenchResult(
        streams=streams,
        latency_streams=latency_streams,
        events_per_stream=per_stream,
        latency_p50_ms=_percentile_ms(few, 50),
        latency_p99_ms=_percentile_ms(few, 99),
        loaded_latency_p50_ms=_percentile_ms(many, 50),
        loaded_latency_p99_ms=_percentile_ms(many, 99),
        duration_ratio=round(statistics.median(s.seconds for s in many_streams) / statistics.median(s for _, s in baseline), 4),
        **tally(many_streams, per_stream, expected_text),
    )


def main(argv: list[str] | None = None) -> BenchResult:
    parser = argparse.ArgumentParser(prog="python -m labs.web.bench", description="Measure the SSE relay of labs.web.")
    parser.add_argument("--streams", type=int, default=200, help="concurrent streams for the load test (default 200)")
    parser.add_argument("--latency-streams", type=int, default=20, help="concurrent streams for the latency test (default 20)")
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed: 1 as recorded (default), 0 no delay")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.streams, args.latency_streams, args.speed))
    print(f"SSE relay bench: {FIXTURE} at replay speed {args.speed:g}")
    print(result.table())
    print(result.json_line(), flush=True)
    return result


if __name__ == "__main__":
    main()
