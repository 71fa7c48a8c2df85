"""Use cases: the one path from a request to an answer. CLI and web call these, nothing lower."""
