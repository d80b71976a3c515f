"""Word-level language modelling through the task contract: One Billion Word (``lm1b``) and Penn
Treebank (``ptb``) on one task class (``task``) with their batch plans (``plans``)."""
