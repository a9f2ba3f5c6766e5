"""A simulator run by hand (its management command) shows its log, one line per call and per push, as it goes."""

from __future__ import annotations

import logging


def log_to(stream, *, logger: str) -> None:
    """Write the records of `logger` (a simulator package's name) to `stream`, timed, and only there."""
    log = logging.getLogger(logger)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
