"""The scripted stand-ins that play the live services when fixtures are authored: one per surface.

`drill/` builds on them: services that answer any request themselves, for drill runs of the notebooks in live mode.
"""

from .azure import AzureStandIn
from .base import Reply, ScriptedServer, ToolCall, fragments, tokens
from .openai import OpenAIStandIn

STANDINS: dict[str, type[ScriptedServer]] = {"openai": OpenAIStandIn, "azure": AzureStandIn}  # one per surface

__all__ = ["STANDINS", "AzureStandIn", "OpenAIStandIn", "Reply", "ScriptedServer", "ToolCall", "fragments", "tokens"]
