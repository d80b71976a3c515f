"""``python -m scripts.gpu_check.wheels [--python-version 3.12] [--out .gpu-wheels]``: the wheels a
bare GPU machine needs to run the GPU check (``experiments.bench.gpu_check.wheels``)."""

from experiments.bench.gpu_check.wheels import main

if __name__ == "__main__":
    main()
