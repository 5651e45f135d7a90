"""SMS backends for real providers, each an adapter to the provider's own HTTP API.

They subclass ``unicommerce.messaging.backends.BaseBackend`` and are chosen by
``SMS_BACKEND`` (a dotted path), like the development backends.
"""
