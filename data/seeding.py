"""Seeds derived from (run seed, epoch, sample or batch index): the randomness of a data pipeline
as a pure function of where it is, so a run resumed mid-epoch, a DataLoader worker and the main
process all draw the same augmentation for the same sample without sharing any RNG state."""

from __future__ import annotations

import hashlib

import torch


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed from the given parts (BLAKE2b of their text): distinct tuples give
    independent-looking seeds, unlike arithmetic mixes such as ``seed * K + epoch``, which
    collide once an index exceeds ``K``."""
    text = ",".join(str(part) for part in parts).encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def derived_generator(*parts: int | str) -> torch.Generator:
    """A CPU generator seeded with ``derive_seed(*parts)``."""
    return torch.Generator().manual_seed(derive_seed(*parts))
