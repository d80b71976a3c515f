"""ILSVRC2012 (ImageNet-1k) from local ImageFolder trees (``files``)."""
