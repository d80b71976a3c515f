"""The language-modelling numbers of PAPERS.md §3 that ``results/reference/`` must hold:
(paper, task, optimizer, metric, statistic, value, ±)."""

PUBLISHED_LM = [
    ("radam", "lm1b_lstm", "adam", "test/ppl", "final", 36.92, None),
    ("radam", "lm1b_lstm", "radam", "test/ppl", "final", 35.70, None),
    ("reruns", "lm1b_lstm", "adam", "test/ppl", "final", 36.68, None),
    ("reruns", "lm1b_lstm", "radam", "test/ppl", "final", 36.20, None),
    *[
        ("reruns", f"ptb_lstm{layers}", optimizer, "test/ppl", "final", value, None)
        for layers, rows in {
            1: {"sgd": 85.07, "adam": 84.28, "adabound": 84.78},
            2: {"sgd": 67.42, "adam": 67.27, "adabound": 67.53},
            3: {"sgd": 63.77, "adam": 64.28, "adabound": 63.58},
        }.items()
        for optimizer, value in rows.items()
    ],
]
