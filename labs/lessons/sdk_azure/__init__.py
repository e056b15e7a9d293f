"""The azure-ai-agents smoke scenarios (labs/fixtures/sdk_smoke/azure_*), for the unit tests."""
