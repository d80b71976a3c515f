"""The suite's Hydra launcher (``hydra/launcher=optrepro_local|optrepro_inline|optrepro_slurm``,
chosen by ``launcher=local|inline|slurm``): Hydra's sweepers hand it batches of jobs, and it
composes and checks every job of a batch before any starts, skips finished runs, runs the rest
(``experiments.sweeps``) and returns each run's objective to the sweeper.

Hydra finds it by its plugin discovery (every module under the ``hydra_plugins`` namespace
package is imported and its ``ConfigStore`` entries registered)."""
