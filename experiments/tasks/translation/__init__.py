"""Neural machine translation (the RAdam paper's §5.2 and Table 2): IWSLT'14 De-En / En-De and
WMT'16 En-De Transformers, label-smoothed cross entropy, incremental beam search and BLEU."""
