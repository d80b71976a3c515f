"""The language-modelling numbers of docs/papers.md §3 that ``results/reference/`` must hold:
(paper, task, optimizer, metric, statistic, value, ±). The AdaBelief PTB rows are the test
perplexity at the best test perplexity (its "valid" pass reads the test set: ``at_best`` with the
recipes' test selection); its SGD is SGD with NT-ASGD (``ntasgd_adabelief``). AMSBound and RAdam
have no rerun number: rows of our own benchmark (value None)."""

PUBLISHED_LM = [
    ("radam", "lm1b_lstm", "adam", "test/ppl", "final", 36.92, None),
    ("radam", "lm1b_lstm", "radam", "test/ppl", "final", 35.70, None),
    ("reruns", "lm1b_lstm", "adam", "test/ppl", "final", 36.68, None),
    ("reruns", "lm1b_lstm", "radam", "test/ppl", "final", 36.20, None),
    *[
        ("reruns", f"ptb_lstm{layers}", optimizer, "test/ppl", "at_best", value, None)
        for layers, rows in {
            1: {"ntasgd_adabelief": 85.07, "adam": 84.28, "adabound": 84.78},
            2: {"ntasgd_adabelief": 67.42, "adam": 67.27, "adabound": 67.53},
            3: {"ntasgd_adabelief": 63.77, "adam": 64.28, "adabound": 63.58},
        }.items()
        for optimizer, value in {**rows, "amsbound": None, "radam": None}.items()
    ],
]
