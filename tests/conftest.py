"""Suite-wide test settings.

One intra-op thread: the suite runs on 2 cores next to the training subprocesses it launches,
and OpenMP threads spinning against each other make small CPU steps many times slower.
"""

import torch

torch.set_num_threads(1)
