"""The Moses + subword-nmt preparation steps of fairseq's ``prepare-iwslt14.sh`` and of the
Scaling-NMT WMT'16 data (google/seq2seq ``bin/data/wmt16_en_de.sh``), native in Python:

- ``tokenize_lines``: ``tokenizer.perl -l <lang> -threads N`` through sacremoses (XML escaping on,
  no aggressive hyphen splitting, the Perl script's unconditional split of a line's final period:
  ``data.translation.text.PerlMosesTokenizer``); whitespace-only lines pass through untouched, as
  the threaded Perl tokenizer passes them.
- ``clean_corpus``: ``clean-corpus-n.perl [-ratio R] corpus l1 l2 out MIN MAX``: whitespace
  collapsed and stripped, ``|`` removed unless the first pair is factored, a pair dropped when a
  side is empty, has fewer than MIN or more than MAX tokens, a token longer than 1000 characters,
  or a token-count ratio above R either way.
- ``lowercase``: ``lowercase.perl``.
- ``learn_bpe`` / ``apply_bpe``: subword-nmt's ``learn_bpe.py -s N`` (min frequency 2) and
  ``apply_bpe.py -c codes`` (separator ``@@``).

Line-wise steps run in a process pool over chunks of lines (``workers``), output in input order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from multiprocessing import Pool
from pathlib import Path

from subword_nmt.apply_bpe import BPE
from subword_nmt.learn_bpe import learn_bpe as subword_learn_bpe

from data.line_chunks import line_chunks
from data.translation.text import PerlMosesTokenizer

CHUNK_LINES = 20_000
MAX_WORD_LENGTH = 1000


def default_workers() -> int:
    return max(os.cpu_count() or 1, 1)


def map_lines(
    function: Callable[[list[str]], list[str]],
    lines: Iterable[str],
    workers: int = 1,
    chunk_lines: int = CHUNK_LINES,
) -> Iterator[str]:
    """``function`` (a picklable chunk -> chunk function) over ``lines``, in order."""
    if workers <= 1:
        for chunk in line_chunks(lines, chunk_lines):
            yield from function(chunk)
        return
    with Pool(workers) as pool:
        for chunk in pool.imap(function, line_chunks(lines, chunk_lines)):
            yield from chunk


_TOKENIZERS: dict[str, PerlMosesTokenizer] = {}


def _tokenize_chunk(lang: str, chunk: list[str]) -> list[str]:
    tokenizer = _TOKENIZERS.get(lang)
    if tokenizer is None:
        tokenizer = _TOKENIZERS[lang] = PerlMosesTokenizer(lang=lang)
    out = []
    for line in chunk:
        text = line.rstrip("\n")
        if not text.strip():
            out.append(text)  # tokenizer.perl prints blank lines as they are
        else:
            out.append(tokenizer.tokenize(text, escape=True, return_str=True))
    return out


def tokenize_lines(
    lines: Iterable[str], lang: str, workers: int = 1, chunk_lines: int = CHUNK_LINES
) -> Iterator[str]:
    """Moses-tokenized lines (without newline) of ``lines``."""
    return map_lines(partial(_tokenize_chunk, lang), lines, workers, chunk_lines)


def lowercase(lines: Iterable[str]) -> Iterator[str]:
    return (line.lower() for line in lines)


def _normalise(line: str, factored: bool) -> str:
    if not factored:
        line = line.replace("|", "")
    return " ".join(line.split())


def clean_corpus(
    source: Iterable[str],
    target: Iterable[str],
    min_length: int,
    max_length: int,
    ratio: float = 9.0,
) -> Iterator[tuple[str, str]]:
    """The kept (normalised source, normalised target) pairs, in order; ``ValueError`` when the
    two sides have different lengths (as the Perl script dies)."""
    sentinel = object()
    factored: bool | None = None
    source_iter, target_iter = iter(source), iter(target)
    while True:
        f, e = next(source_iter, sentinel), next(target_iter, sentinel)
        if f is sentinel or e is sentinel:
            if f is not e:
                raise ValueError("clean_corpus: the source and target have different lengths")
            return
        assert isinstance(f, str) and isinstance(e, str)
        f, e = f.rstrip("\n"), e.rstrip("\n")
        if factored is None:
            factored = "|" in f or "|" in e
        f, e = _normalise(f, factored), _normalise(e, factored)
        if not f or not e:
            continue
        fc, ec = len(f.split(" ")), len(e.split(" "))
        if not (min_length <= fc <= max_length and min_length <= ec <= max_length):
            continue
        if ec / fc > ratio or fc / ec > ratio:
            continue
        if any(len(word) > MAX_WORD_LENGTH for word in f.split(" ") + e.split(" ")):
            continue
        yield f, e


def learn_bpe(texts: Sequence[Path], codes: Path, symbols: int, work_dir: Path) -> None:
    """Learn ``symbols`` joint merges on the concatenation of ``texts`` (in that order, as
    ``cat train.de train.en``) into ``codes``."""
    joined = work_dir / "bpe-train.txt"
    with joined.open("w", encoding="utf-8") as out:
        for path in texts:
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    out.write(line)
    codes.parent.mkdir(parents=True, exist_ok=True)
    with joined.open(encoding="utf-8") as infile, codes.open("w", encoding="utf-8") as outfile:
        subword_learn_bpe(infile, outfile, symbols, min_frequency=2)
    joined.unlink()


_BPES: dict[str, BPE] = {}


def _bpe_chunk(codes: str, chunk: list[str]) -> list[str]:
    bpe = _BPES.get(codes)
    if bpe is None:
        with open(codes, encoding="utf-8") as stream:
            bpe = _BPES[codes] = BPE(stream, separator="@@")
    return [bpe.process_line(line) for line in chunk]


def apply_bpe(codes: Path, lines: Iterable[str], workers: int = 1) -> Iterator[str]:
    """``apply_bpe.py -c codes`` on lines (without newline)."""
    return map_lines(partial(_bpe_chunk, str(codes)), lines, workers)


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write lines (without newline), one per line; the count written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
            count += 1
    return count


def read_lines(path: Path) -> Iterator[str]:
    """The lines of a UTF-8 text file without their newline."""
    with path.open(encoding="utf-8", newline="\n") as stream:
        for line in stream:
            yield line.rstrip("\n")
