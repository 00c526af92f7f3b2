"""IBM watsonx text generation (``watsonx``) mapped onto Delta."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._delta import Delta
from ._common import int_or_none, text_or_none, usage

if TYPE_CHECKING:
    from ._state import FormatState

WATSONX_FINISH = {"eos_token": "stop", "stop_sequence": "stop", "max_tokens": "length",
                  "token_limit": "length", "time_limit": "length", "cancelled": "cancelled",
                  "error": "error"}


def decode(st: FormatState, event_type: str, obj: dict[str, Any], out: list[Any]) -> None:
    st.meta(obj.get("model_id"), None)
    results = obj.get("results")
    if type(results) is list and results and isinstance(results[0], dict):
        # input_token_count is only reported by the first event
        count = int_or_none(results[0].get("input_token_count"))
        if count:
            st.start_usage = (count, None)
    for pos, res in enumerate(results if type(results) is list else ()):
        if not isinstance(res, dict):
            continue
        reason = res.get("stop_reason")
        finish = st.finish(pos, reason, WATSONX_FINISH) if reason != "not_finished" else None
        text = text_or_none(res.get("generated_text"))
        counts = None
        if finish is not None:
            counts = usage(st.start_usage[0], int_or_none(res.get("generated_token_count")))
        if text is not None or finish is not None:
            out.append(Delta(pos, None, text, None, None, None, finish, counts))
