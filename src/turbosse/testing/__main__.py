"""Entry point of a fake server process: ``python -m turbosse.testing CONFIG_JSON``.

CONFIG_JSON holds ``host``, ``port``, ``defaults``, ``corpus_dir``,
``lifetime`` and ``uvloop``. The process prints ``PORT <n>`` once it listens
and stops when its stdin closes (its parent went away), its lifetime runs out
or on SIGINT/SIGTERM. ``FakeLLMServer(process=True)`` starts it.
"""

from __future__ import annotations

import json
import sys

from ._runner import serve_forever


def main() -> None:
    config = json.loads(sys.argv[1])

    def ready(port: int) -> None:
        sys.stdout.write(f"PORT {port}\n")
        sys.stdout.flush()

    serve_forever(
        config["host"], config["port"], defaults=config["defaults"], corpus_dir=config["corpus_dir"],
        lifetime=config["lifetime"], use_uvloop=config["uvloop"], on_ready=ready, stop_on_stdin_eof=True,
    )  # fmt: skip


if __name__ == "__main__":
    main()
