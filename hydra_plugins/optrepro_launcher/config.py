"""The launcher's configs, registered as ``hydra/launcher`` options. They keep the keys of Hydra's
submitit launcher (``hydra.launcher.partition``, ``timeout_min``, ``array_parallelism``, …), so
the ``configs/launcher/`` files and a Slurm site file set them as documented for submitit."""

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_submitit_launcher.config import LocalQueueConf, SlurmQueueConf
from omegaconf import OmegaConf

TARGET = "hydra_plugins.optrepro_launcher.launcher.SuiteLauncher"


@dataclass
class InlineConf:
    """Runs one after another in the sweeping process."""

    _target_: str = TARGET
    kind: str = "inline"


@dataclass
class LocalConf(LocalQueueConf):
    """A process per run on this machine (submitit's local executor)."""

    _target_: str = TARGET
    kind: str = "local"


@dataclass
class SlurmConf(SlurmQueueConf):
    """One Slurm job array per batch (submitit's Slurm executor)."""

    _target_: str = TARGET
    kind: str = "slurm"


def path_name(sweep: str) -> str:
    """A sweep's folder name: ``radam/cifar10_sgd`` → ``radam_cifar10_sgd`` (as run directories
    name it), for ``hydra.sweep.dir``."""
    return str(sweep).replace("/", "_")


OmegaConf.register_new_resolver("optrepro_path_name", path_name, replace=True)
store = ConfigStore.instance()
for name, node in (("inline", InlineConf), ("local", LocalConf), ("slurm", SlurmConf)):
    store.store(group="hydra/launcher", name=f"optrepro_{name}", node=node, provider="optrepro")
