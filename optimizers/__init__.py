"""The optimizer library: torch only, no Hydra, no task code (see optimizers/README.md)."""

from optimizers.adabound import AdaBound, AMSBound
from optimizers.adam import Adam, AdamW, AMSGrad
from optimizers.adam2k import Adam2k
from optimizers.ntasgd import NTASGD
from optimizers.radam import RAdam
from optimizers.torch_optimizers import SGD, Adagrad, RMSprop

__all__ = [
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "AMSGrad",
    "RAdam",
    "AdaBound",
    "AMSBound",
    "Adam2k",
    "NTASGD",
]
