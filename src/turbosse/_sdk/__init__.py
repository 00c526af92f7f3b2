"""Pieces the openai and anthropic integrations share: both SDKs are generated
from one template (the same ``_models``, ``_streaming`` and client base), so one
decoder, one model builder, one patcher and one direct route serve both.

The public faces are :mod:`turbosse.openai` and :mod:`turbosse.anthropic`.
"""
