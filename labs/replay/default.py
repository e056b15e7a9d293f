"""The kernel's shared replay servers: the only module-level state of the replay service.

A notebook never starts a server itself: the client factories ask `default_server()`, which starts one on
first use and follows `LABS_MODE`, `LABS_FIXTURES` and `LABS_REPLAY_SPEED` as they change.
`fault_server()` is a second one that replays whatever `LABS_MODE` says, for what only a recording can show
(a dropped connection, a stall, a slow first token). `replay_speed()` paces both; `reset_default_server()`
stops both (tests and authoring call it between runs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..config import settings
from .cassette import SURFACE_NAMES, SurfaceName
from .server import ReplayServer
from .surfaces import surface

__all__ = ["default_server", "fault_server", "replay_speed", "reset_default_server"]

_default: ReplayServer | None = None
_faults: ReplayServer | None = None
_lock = threading.Lock()
_speed_override: float | None = None


def _upstreams() -> dict[SurfaceName, str]:
    current = settings()
    found = {name: surface(name).upstream(current.openai_base_url, current.project_endpoint) for name in SURFACE_NAMES}
    return {name: url for name, url in found.items() if url}


def default_server() -> ReplayServer:
    """The kernel's replay server, started on first use; follows LABS_MODE and LABS_REPLAY_SPEED as they change."""
    global _default
    current = settings()
    with _lock:
        if _default is not None and (_default.mode != current.mode or _default.fixture_dirs != current.fixture_dirs):
            _default.stop()
            _default = None
        if _default is None:
            _default = ReplayServer(
                mode=current.mode,
                speed=current.speed,
                fixture_dirs=current.fixture_dirs,
                record_dir=current.record_dir,
                upstreams=_upstreams() if current.mode == "record" else None,
            ).start()
        _default.speed = _speed()
        return _default


def fault_server() -> ReplayServer:
    """The kernel's replay server for recorded faults: it replays in every mode, at the same speed as replay."""
    global _faults
    current = settings()
    with _lock:
        if _faults is not None and _faults.fixture_dirs != current.fixture_dirs:
            _faults.stop()
            _faults = None
        if _faults is None:
            _faults = ReplayServer(mode="replay", speed=_speed(), fixture_dirs=current.fixture_dirs).start()
        _faults.speed = _speed()
        return _faults


def _speed() -> float:
    return settings().speed if _speed_override is None else _speed_override


def reset_default_server() -> None:
    """Stop the shared servers that run; the next call of each starts a fresh one from the settings."""
    global _default, _faults
    with _lock:
        for server in (_default, _faults):
            if server is not None:
                server.stop()
        _default = _faults = None


@contextmanager
def replay_speed(speed: float) -> Iterator[None]:
    """Replay at `speed` inside the block, e.g. 1 to measure recorded timings even when CI runs at 0.

    Live and record modes are not affected: their timings are the service's own.
    """
    global _speed_override
    previous, _speed_override = _speed_override, speed
    try:
        _pace_running_servers()
        yield
    finally:
        _speed_override = previous
        _pace_running_servers()


def _pace_running_servers() -> None:
    default_server()
    if _faults is not None:
        fault_server()
