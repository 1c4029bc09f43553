"""Side-by-side benchmark: ``python -m tests.benchmarks [--quick] [--json PATH]``."""
