"""Speed and accuracy-per-time benchmarks: ``python -m benchmarks.run --help``."""
