"""The benchmark suite (`make bench`, `python -m bench.run`): issue 7's six figures, side by side."""
