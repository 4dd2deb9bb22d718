"""The course's benchmarks: `python -m benchmarks` (every family on one test split, see
`coursekit.evaluation.suite`) and the single-purpose scripts beside it."""
