"""anyio orchestration of creates, polls and deletes; emits events, knows nothing of rich."""
