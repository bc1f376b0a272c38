"""Fault injection for agentsearch's long runs: ``kill -9`` and resume, and a misbehaving HTTP backend.

* :mod:`agentsearch.faults.kill`: run a command, ``SIGKILL`` it at chosen moments, rerun it to the end,
  and check what the kills left: JSONL logs (trees, episodes, demos) lose nothing that was complete,
  duplicate nothing and always parse; trainings resume and end on the loss of an uninterrupted run.
* :mod:`agentsearch.faults.server`: a real HTTP server (stdlib, one thread) that answers
  OpenAI-compatible requests with scheduled faults (429, 500, malformed JSON, truncated bodies, hangs)
  before passing them on to a real upstream server.

``tests/faults/`` runs a few kills of each; ``scripts/fault_suite.py`` runs the long version whose
figures are in BENCHMARKS.md ("Faults").
"""
