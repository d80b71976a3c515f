"""One Billion Word (Chelba et al. 2013): the two on-disk sources and what each split holds
(``files``), the vocabulary and token-id cache (``cache``), the evaluation protocols
(``protocols``) and ``python -m scripts.download_data lm1b`` (``download``)."""
