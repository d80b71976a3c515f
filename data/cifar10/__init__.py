"""CIFAR-10: the pickle-batch reader, download and checks (``files``), the crop/flip/normalize
augmentation (``augment``), and two training pipelines: device-resident (``device_pipeline``)
and DataLoader (``loader_pipeline``)."""
