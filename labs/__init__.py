"""Helpers for the streaming-agents workbook: real SDK clients pointed at live, record or replay.

A learner needs only the names below; everything else lives in the submodules (`labs.replay`,
`labs.replay.cassette`, `labs.replay.sse`...).
"""

from .clients import (
    async_azure_agents_client,
    async_openai_client,
    azure_agents_client,
    azure_model,
    configure_agents_sdk,
    model,
    openai_client,
    sk_chat_completion,
)
from .checks import check, hint
from .config import ConfigError, MissingCredentialError, settings
from .demos import fault_server, only_in_replay, register_magics
from .errors import register_error_display
from .randomness import replay_random
from .replay import default_server as replay_server
from .replay import replay_speed

__all__ = [
    "ConfigError",
    "MissingCredentialError",
    "async_azure_agents_client",
    "async_openai_client",
    "azure_agents_client",
    "azure_model",
    "check",
    "configure_agents_sdk",
    "fault_server",
    "hint",
    "model",
    "only_in_replay",
    "openai_client",
    "replay_random",
    "replay_server",
    "replay_speed",
    "settings",
    "sk_chat_completion",
]

register_magics()  # %%only_in_replay in a notebook (nothing outside IPython)
register_error_display()  # a replay miss shows its message, not the SDK's traceback
