"""The offline service: a replay server on 127.0.0.1 that answers the real SDKs from recorded fixtures.

A learner never needs to read this package; the client factories in `labs.clients` point the SDKs at it.
Its parts, each in its own module:

- `server`: routes, control endpoints (`/_labs/...`), paced playback and faults;
- `recording`: record mode, the proxy to the live service and the recorder that writes fixtures;
- `default`: the kernel's shared servers (`default_server()`, `fault_server()`, `reset_default_server()`,
  `replay_speed()`);
- `cassette` (the fixture format), `matching` (which recording answers a request), `sse` (the wire
  format), `loopback` (uvicorn on a free loopback port);
- `surfaces/`: one module per service surface (`openai`, `azure`) behind one protocol;
- `standins/`: the scripted services used to author fixtures, one per surface;
- `wire_schema`: the fields each service really sends, per event type, derived from real captures
  (`python -m labs.replay schema`), which every fixture is checked against;
- `importer`: a captured stream (`curl -N` output or a HAR file) made into a fixture (`python -m labs.replay import`).

It imports nothing from `labs` but `labs.config`. Run it on its own with `python -m labs.replay serve`.
"""

from .cassette import Cassette, FixtureError, FixtureProblem, FixtureSet, load_cassette, load_cassettes, load_fixtures
from .default import default_server, fault_server, replay_speed, reset_default_server
from .matching import ReplayMiss
from .server import DroppedConnection, ReplayServer
from .surfaces.azure import PROJECT as AZURE_PROJECT

__all__ = [
    "AZURE_PROJECT",
    "Cassette",
    "DroppedConnection",
    "FixtureError",
    "FixtureProblem",
    "FixtureSet",
    "ReplayMiss",
    "ReplayServer",
    "default_server",
    "fault_server",
    "load_cassette",
    "load_cassettes",
    "load_fixtures",
    "replay_speed",
    "reset_default_server",
]
