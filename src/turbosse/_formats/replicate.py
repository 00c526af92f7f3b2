"""Replicate predictions (``replicate``) mapped onto Delta: ``event: output``
carries raw text (not JSON), ``event: done`` ends the stream, ``event: error``
carries the error (text or JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from .._delta import Delta
from .._errors import StreamError
from ._common import make_stream_error

if TYPE_CHECKING:
    from ._state import FormatState


def decode(st: FormatState, event_type: str, payload: bytes, out: list[Any]) -> None:
    if event_type == "output":
        text = payload.decode("utf-8", "replace")
        if text:
            out.append(Delta(0, content=text))
            st.started.add(0)
    elif event_type == "done":
        st.done = True
    elif event_type == "error":
        text = payload.decode("utf-8", "replace")
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            raise make_stream_error(obj if "error" in obj else {"error": obj}, out)
        raise StreamError(text, None, None, text, out)
