"""Sweeps (``python -m experiments.train -m ...``): the jobs expanded as Hydra expands them
(``expansion``), checked before any run starts, finished runs skipped without a process, the rest
launched one process per run on this machine, in this process, or as a Slurm job array through
submitit (``launchers``), with a line per run as it ends and a closing report (``controller``,
``report``). Each job runs ``experiments.train.run_one`` (``job``)."""
