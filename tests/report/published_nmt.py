"""The translation numbers of docs/papers.md §3 that ``results/reference/`` must hold:
(paper, task, optimizer, metric, statistic, value, ±). BLEU is the averaged model's
(``avg/test/bleu``: the last 10 epoch snapshots, as the RAdam repository's eval.sh); the one
row without a value is fairseq's own IWSLT recipe, a second reference of the suite's own."""

PUBLISHED_NMT = [
    ("radam", "iwslt14_de_en", "adamw_radam_paper", "train/ppl", "final", 500, None),
    ("radam", "iwslt14_de_en", "adamw_radam_paper", "avg/test/bleu", "final", 34.66, 0.014),
    ("radam", "iwslt14_de_en", "radam", "avg/test/bleu", "final", 34.76, 0.003),
    ("radam", "iwslt14_de_en", "adamw_radam_paper", "avg/test/bleu", "final", None, None),
    ("radam", "iwslt14_en_de", "adamw_radam_paper", "avg/test/bleu", "final", 28.56, 0.067),
    ("radam", "iwslt14_en_de", "radam", "avg/test/bleu", "final", 28.48, 0.054),
    ("radam", "wmt16_en_de", "adamw_radam_paper", "avg/test/bleu", "final", 27.03, None),
    ("radam", "wmt16_en_de", "radam", "avg/test/bleu", "final", 27.27, None),
    ("reruns", "apollo_nmt", "adamw_radam_paper", "test/bleu", "final", 27.84, None),
    ("reruns", "apollo_nmt", "radam", "test/bleu", "final", 28.15, None),
]
