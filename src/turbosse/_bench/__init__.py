"""The one benchmark harness behind ``turbosse bench`` and ``benchmarks/``.

- :mod:`.timing`: calibrated best-of timing, medians, the rotation of rounds,
  CPU clocks; :mod:`.env`: the version banner.
- In process, no I/O (``benchmarks/compare.py``, the pytest-benchmark files):
  :mod:`.workloads` (the byte streams), :mod:`.framing` (bytes to events) and
  :mod:`.decoding` (bytes to tokens, tool-call accumulation) contenders, and
  :mod:`.inprocess` (timing every row, the Markdown tables, the verdict).
- End to end (``turbosse bench``): :mod:`.clients` (the contenders, with
  :mod:`.transports` for the transport ones, :mod:`.rust_clients` for
  Rust-backed clients),
  :mod:`.e2e` (worker processes, rounds, the fake server in its own process),
  :mod:`.lockstep` (the clock-free scenario), :mod:`.parsing` (each client's
  parsing alone) and :mod:`.e2e_report` (tables and the verdict line).

Adding a contender is one self-contained function:

- end to end, in :mod:`.clients`: decorate ``async def make(url)`` (or a plain
  function with ``sync=True``) with ``@client(name, label, needs=(modules,),
  uvloop=..., parser=...)``; it returns ``(one, close)`` where ``one(fake,
  tick=None)`` reads one stream and returns ``(content tokens, text)``. The
  name becomes a ``--variants`` choice and a row of every table; ``parser``
  names its parsing pipeline in :data:`.parsing.PIPELINES` (``"none"`` if it
  has none), and ``needs`` makes the row say "not installed" instead of failing.
  A family of contenders can live in a module of its own, imported at the end
  of :mod:`.clients` (as :mod:`.transports` is).
- in process: add a factory to :data:`.framing.PARSER_FACTORIES` (a
  :class:`.framing.Competitor` with a collect and a stream run), or a row to
  :func:`.decoding.entries`; a new section is a provider registered with
  :func:`.inprocess.provider`.
"""
