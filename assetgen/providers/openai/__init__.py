"""The ``openai`` provider: the OpenAI Images API, or any server that speaks it (see provider.py)."""
