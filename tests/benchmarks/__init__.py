"""Side-by-side benchmark (issue 7): ``python -m tests.benchmarks [--quick] [--json PATH]``."""
