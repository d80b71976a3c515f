"""Parallel text for translation, as fairseq reads and batches it.

- ``dictionary``: ``Dictionary`` (fairseq's symbol order and special ids, ``dict.<lang>.txt``).
- ``binarized``: ``TokenArray``, one language of one split as memory-mapped ids (fairseq's
  ``mmap`` ``.bin``/``.idx`` format).
- ``corpus_types``: ``CorpusSpec`` (a corpus's prepared files) and ``TranslationCorpus``.
- ``corpus``: ``load_corpus(name, source_lang, target_lang, data_dir)``.
- ``cache``: the fairseq-preprocess step (dictionaries, binarized splits, a manifest).
- ``batching``: ``ordered_indices``, ``filter_by_size``, ``batch_by_size``, ``EpochBatches``
  (per-epoch shuffled, rank-sharded batch order) and ``collate``.
- ``preparation``: the Moses/clean/subword-nmt steps shared by the corpus preparations.
- ``text``: BPE removal and Moses (de)tokenization for BLEU.
"""
