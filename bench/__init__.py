"""`make bench`: Antri measured against same-run baselines (the entry point is bench/run.py)."""
