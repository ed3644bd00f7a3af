"""The clinical world: regimens in words, scores, policies, patients. Converts to core arrays at one boundary."""
