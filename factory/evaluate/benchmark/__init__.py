"""The `benchmark` kind: a benchmark's files (the user's) published as a dataset, one split per input."""
