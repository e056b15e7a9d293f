"""The drill services: an OpenAI and an Azure AI Agents service on 127.0.0.1 that play the live services.

A drill run executes the notebooks with `LABS_MODE=live`, so every call takes the live code path of
`labs.clients` unchanged, and points it at these services instead of the real ones. They answer any
well-formed request on their own, never from a fixture: other wording, other lengths (a sentence, a
paragraph, a Markdown heading with a list), other pacing, other ids, and tool calls with arguments drawn
from each tool's schema. A cell that passes only with the recorded wording, length, timing or arguments
fails in a drill run, as it would against the real service.

- `DrillOpenAI` (`openai.py`): Chat Completions and Responses, as the live service streams them.
- `DrillAzure` (`azure.py`): the Azure AI Agents REST API: runs streamed or polled, tool rounds through
  `requires_action`, paced like the service (scaled by `pace`; the default 0.1 keeps a notebook run short).
- `drill_services()` (`services.py`): both, over https, and the environment a live run needs.
- `model.py` decides each answer; `text.py` writes it.

The one substitution in the live code path is identity. `DefaultAzureCredential` runs as in production and
finds a managed identity through `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, an App Service style token endpoint
that `DrillAzure` serves itself, and the clients trust the drill's freshly made certificate authority
(`REQUESTS_CA_BUNDLE` for the sync client's requests, `SSL_CERT_FILE` for the async client's aiohttp and for
httpx); the OpenAI key is a dummy the drill accepts. Nothing else differs from a run against Azure and OpenAI.

Serve them in the foreground with `python -m labs.replay.standins.drill`, which prints the environment.
"""

from .azure import DrillAzure
from .model import Conversation, DrillModel, DrillReply, Pace
from .openai import DrillOpenAI
from .services import DrillServices, drill_services

__all__ = ["Conversation", "DrillAzure", "DrillModel", "DrillOpenAI", "DrillReply", "DrillServices", "Pace", "drill_services"]
