"""The openai, openai-agents and semantic-kernel smoke scenarios (labs/fixtures/sdk_smoke/), for the unit tests."""
