"""Client factories: the real SDK clients, pointed where the current mode says.

- replay (default): at the kernel's replay server on 127.0.0.1, with a placeholder key. No key needed.
- live: at the real service with the learner's credentials from `.env`.
- record: at the replay server acting as a proxy to the real service, which writes new fixtures.

The objects returned are the SDKs' own (`openai.OpenAI`, `azure.ai.agents.AgentsClient`,
`OpenAIChatCompletion`...), so the lesson code is exactly what a learner would write at work.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .config import require_env, settings
from .replay import ReplayServer, default_server
from .replay.surfaces import azure as azure_surface
from .replay.surfaces import openai as openai_surface

if TYPE_CHECKING:
    from azure.ai.agents import AgentsClient
    from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient
    from openai import AsyncOpenAI, OpenAI
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion

__all__ = [
    "async_azure_agents_client",
    "async_openai_client",
    "azure_agents_client",
    "azure_model",
    "configure_agents_sdk",
    "model",
    "openai_client",
    "sk_chat_completion",
]

# The models the fixtures were recorded with (each surface knows its own); replay requests must name them to match.
RECORDED_MODEL = openai_surface.RECORDED_MODEL
RECORDED_AZURE_MODEL = azure_surface.RECORDED_MODEL
_REPLAY_KEY = "replay-no-key-needed"


def model(*, server: ReplayServer | None = None) -> str:
    """The chat model name to use: the recorded one when replaying (or talking to `server`), `LABS_MODEL` live."""
    current = settings()
    if (server.mode if server is not None else current.mode) == "replay":
        return RECORDED_MODEL
    return current.model or RECORDED_MODEL


def azure_model() -> str:
    """The Azure model deployment: the recorded one when replaying, `MODEL_DEPLOYMENT_NAME` otherwise."""
    if settings().mode == "replay":
        return RECORDED_AZURE_MODEL
    return require_env("MODEL_DEPLOYMENT_NAME", "the name of your model deployment in Azure AI Foundry")


def _openai_kwargs(server: ReplayServer | None, overrides: dict[str, Any]) -> dict[str, Any]:
    current = settings()
    mode = server.mode if server is not None else current.mode
    if mode == "replay":
        kwargs: dict[str, Any] = {"base_url": (server or default_server()).openai_base_url, "api_key": _REPLAY_KEY}
    else:
        key = require_env(current.openai_key_variable, "your OpenAI key, or GITHUB_TOKEN for GitHub Models")
        kwargs = {"api_key": key}
        if mode == "record":
            kwargs["base_url"] = (server or default_server()).openai_base_url
        elif current.openai_base_url:
            kwargs["base_url"] = current.openai_base_url
    kwargs.update(overrides)
    return kwargs


def openai_client(*, server: ReplayServer | None = None, **overrides: Any) -> OpenAI:
    """A real `openai.OpenAI` client for the current mode, or for `server` (keyword arguments override the defaults)."""
    from openai import OpenAI

    return OpenAI(**_openai_kwargs(server, overrides))


def async_openai_client(*, server: ReplayServer | None = None, **overrides: Any) -> AsyncOpenAI:
    """A real `openai.AsyncOpenAI` client for the current mode, or for `server`."""
    from openai import AsyncOpenAI

    return AsyncOpenAI(**_openai_kwargs(server, overrides))


def configure_agents_sdk(*, server: ReplayServer | None = None, **overrides: Any) -> AsyncOpenAI:
    """Make openai-agents use our client and the Responses API; tracing is off unless live against OpenAI itself."""
    import agents

    client = async_openai_client(server=server, **overrides)
    agents.set_default_openai_client(client, use_for_tracing=False)
    agents.set_default_openai_api("responses")
    current = settings()
    # Traces go to OpenAI's platform: only worth sending live, with OpenAI itself as the service.
    agents.set_tracing_disabled(current.mode != "live" or current.openai_base_url is not None)
    return client


def sk_chat_completion(service_id: str = "chat", *, server: ReplayServer | None = None, **overrides: Any) -> OpenAIChatCompletion:
    """A semantic-kernel `OpenAIChatCompletion` service that talks through our `AsyncOpenAI` client."""
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion

    return OpenAIChatCompletion(ai_model_id=model(server=server), service_id=service_id, async_client=async_openai_client(server=server, **overrides))


class _ReplayCredential:
    """A token credential for the replay server, which checks no token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("replay", int(time.time()) + 3600)

    def close(self) -> None:
        return None


class _AsyncReplayCredential:
    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("replay", int(time.time()) + 3600)

    async def close(self) -> None:
        return None


def _replay_auth_policy() -> Any:
    # azure-core refuses bearer tokens over http (BearerTokenCredentialPolicy); a key policy has no such
    # check and sends the same header shape, so it is the one change replay needs.
    from azure.core.credentials import AzureKeyCredential
    from azure.core.pipeline.policies import AzureKeyCredentialPolicy

    return AzureKeyCredentialPolicy(AzureKeyCredential("replay"), "Authorization", prefix="Bearer")


def _record_auth_policy(credential: Any, asynchronous: bool) -> Any:
    # In record mode the real token goes to the loopback proxy, which forwards it over https.
    from azure.core.pipeline.policies import AsyncBearerTokenCredentialPolicy, BearerTokenCredentialPolicy

    base = AsyncBearerTokenCredentialPolicy if asynchronous else BearerTokenCredentialPolicy

    class LoopbackBearerPolicy(base):  # type: ignore[valid-type,misc]
        def on_request(self, request: Any) -> Any:
            request.context["enforce_https"] = False
            return super().on_request(request)

    return LoopbackBearerPolicy(credential, "https://ai.azure.com/.default")


def _azure_kwargs(asynchronous: bool, server: ReplayServer | None) -> dict[str, Any]:
    mode = server.mode if server is not None else settings().mode
    if mode == "replay":
        credential = _AsyncReplayCredential() if asynchronous else _ReplayCredential()
        return {"endpoint": (server or default_server()).azure_endpoint, "credential": credential, "authentication_policy": _replay_auth_policy()}
    endpoint = require_env("PROJECT_ENDPOINT", "your Azure AI Foundry project endpoint")
    if asynchronous:
        from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential

        credential: Any = AsyncDefaultAzureCredential()
    else:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    if mode == "live":
        return {"endpoint": endpoint, "credential": credential}
    return {
        "endpoint": (server or default_server()).azure_endpoint,
        "credential": credential,
        "authentication_policy": _record_auth_policy(credential, asynchronous),
    }


def azure_agents_client(*, server: ReplayServer | None = None, **overrides: Any) -> AgentsClient:
    """A real `azure.ai.agents.AgentsClient` for the current mode, or for `server`."""
    from azure.ai.agents import AgentsClient

    return AgentsClient(**{**_azure_kwargs(False, server), **overrides})


def async_azure_agents_client(*, server: ReplayServer | None = None, **overrides: Any) -> AsyncAgentsClient:
    """A real `azure.ai.agents.aio.AgentsClient` for the current mode, or for `server`."""
    from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient

    return AsyncAgentsClient(**{**_azure_kwargs(True, server), **overrides})
