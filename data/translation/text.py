"""Text post-processing for evaluation: BPE removal as fairseq's ``--remove-bpe``
(``fairseq/data/data_utils.py``, ``post_process``) and Moses (de)tokenization through sacremoses,
as fairseq's ``--eval-bleu-detok moses`` does before sacrebleu."""

from __future__ import annotations

import re
from functools import lru_cache

from sacremoses import MosesDetokenizer, MosesTokenizer

SUBWORD_NMT = "@@ "
SENTENCEPIECE = "sentencepiece"


def remove_bpe(line: str, symbol: str | None = SUBWORD_NMT) -> str:
    """Undo subword segmentation. ``"@@ "`` (subword-nmt, also spelled ``"subword_nmt"`` or
    ``"@@"``): delete every ``"@@ "`` of the line with a space appended, then strip the right end,
    which also drops a dangling final ``@@``. ``"sentencepiece"``: join the pieces and turn ``▁``
    into spaces. ``None`` leaves the line as it is."""
    if symbol is None:
        return line
    if symbol == SENTENCEPIECE:
        return line.replace(" ", "").replace("\u2581", " ").strip()
    if symbol in ("subword_nmt", "@@"):
        symbol = SUBWORD_NMT
    return (line + " ").replace(symbol, "").rstrip()


FINAL_PERIOD = re.compile(r"^(\S+)\.$")


class PerlMosesTokenizer(MosesTokenizer):
    """sacremoses with the rule ``tokenizer.perl`` follows since November 2018 (mosesdecoder
    commit 9fc964d, "split final dots unconditionally"), which sacremoses 0.2 lacks: the period
    ending a line's last word is always split off, even after a non-breaking prefix (German
    ``... ist's.`` ends in ``s .``, not ``s.``). fairseq's script clones the current Moses."""

    def handles_nonbreaking_prefixes(self, text: str) -> str:
        tokens = text.split()
        if tokens:
            match = FINAL_PERIOD.match(tokens[-1])
            if match:
                tokens[-1] = match.group(1) + " ."
        return super().handles_nonbreaking_prefixes(" ".join(tokens))


@lru_cache(maxsize=8)
def _detokenizer(lang: str) -> MosesDetokenizer:
    return MosesDetokenizer(lang=lang)


@lru_cache(maxsize=8)
def _tokenizer(lang: str) -> MosesTokenizer:
    return PerlMosesTokenizer(lang=lang)


def detokenize(line: str, lang: str) -> str:
    """Moses detokenization of a whitespace-tokenized line (un-escaping ``&apos;`` etc.), the
    text sacrebleu scores."""
    return _detokenizer(lang).detokenize(line.split())


def tokenize(line: str, lang: str, escape: bool = True) -> str:
    """Moses tokenization as ``tokenizer.perl -l <lang>`` (no aggressive hyphen splitting,
    XML escaping unless ``escape`` is false)."""
    return _tokenizer(lang).tokenize(line, escape=escape, return_str=True)
