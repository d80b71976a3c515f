"""Word-level token streams shared by the language-modelling corpora (One Billion Word, Penn
Treebank): vocabularies (``vocabulary``), token ids in flat int32 files read through a memory map
(``id_files``), the layout of a stream into batch columns and BPTT windows (``columns``) and the
BPTT lengths of a training epoch (``bptt``)."""
