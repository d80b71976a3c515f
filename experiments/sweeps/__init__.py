"""What the suite's Hydra launcher does with a sweep's batches (``python -m experiments.train -m``):
compose and check, skip finished runs, launch, report, return objectives. See
``docs/architecture.md`` ("Sweeps").
"""
