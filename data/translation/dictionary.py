"""fairseq's ``Dictionary`` conventions (``fairseq/data/dictionary.py``), written natively.

Indices: ``<s>`` = 0, ``<pad>`` = 1, ``</s>`` = 2, ``<unk>`` = 3, then the symbols by descending
count with ties in code-point order (``finalize``: a stable sort by count of the alphabetically
sorted symbols), then ``madeupword0000``, ``madeupword0001``, ... (count 0) until the size is a
multiple of the padding factor (8 in ``fairseq-preprocess``). The file format is fairseq's
``dict.<lang>.txt``: one ``symbol count`` line per non-special symbol, in index order, so a
dictionary written by ``fairseq-preprocess`` loads here with the same indices and vice versa.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from data.translation.text import remove_bpe

SPECIAL_SYMBOLS = ("<s>", "<pad>", "</s>", "<unk>")
OVERWRITE_FLAG = "#fairseq:overwrite"


class Dictionary:
    """A mapping between symbols and consecutive integer ids."""

    def __init__(self) -> None:
        self.symbols: list[str] = []
        self.counts: list[int] = []
        self.indices: dict[str, int] = {}
        for symbol in SPECIAL_SYMBOLS:
            self.add_symbol(symbol)
        self.nspecial = len(SPECIAL_SYMBOLS)

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.indices

    def __getitem__(self, index: int) -> str:
        """The symbol of ``index`` (``<unk>`` beyond the end, as fairseq)."""
        return self.symbols[index] if 0 <= index < len(self.symbols) else SPECIAL_SYMBOLS[3]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dictionary) and self.indices == other.indices

    def bos(self) -> int:
        return 0

    def pad(self) -> int:
        return 1

    def eos(self) -> int:
        return 2

    def unk(self) -> int:
        return 3

    def index(self, symbol: str) -> int:
        """The id of ``symbol``; ``unk()`` when it is not in the dictionary."""
        return self.indices.get(symbol, 3)

    def add_symbol(self, symbol: str, count: int = 1, overwrite: bool = False) -> int:
        if symbol in self.indices and not overwrite:
            index = self.indices[symbol]
            self.counts[index] += count
            return index
        index = len(self.symbols)
        self.indices[symbol] = index
        self.symbols.append(symbol)
        self.counts.append(count)
        return index

    # ----------------------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        texts: Iterable[Iterable[str]],
        *,
        threshold: int = -1,
        nwords: int = -1,
        padding_factor: int = 8,
    ) -> Dictionary:
        """fairseq-preprocess's dictionary of the given files (each an iterable of lines): every
        whitespace token counted, plus one ``</s>`` per line, then ``finalize``. Several texts
        make a joined dictionary (``--joined-dictionary``)."""
        dictionary = cls()
        for lines in texts:
            counter: Counter[str] = Counter()
            for line in lines:
                counter.update(line.split())
                counter[SPECIAL_SYMBOLS[2]] += 1
            for symbol, count in sorted(counter.items()):
                dictionary.add_symbol(symbol, count)
        dictionary.finalize(threshold=threshold, nwords=nwords, padding_factor=padding_factor)
        return dictionary

    def finalize(self, threshold: int = -1, nwords: int = -1, padding_factor: int = 8) -> None:
        """Keep the specials first, then at most ``nwords`` symbols in all (specials included) by
        descending count (ties alphabetically), dropping those below ``threshold``; then pad."""
        if nwords <= 0:
            nwords = len(self)
        pairs = sorted(
            zip(self.symbols[self.nspecial :], self.counts[self.nspecial :], strict=True)
        )
        ranked = sorted(pairs, key=lambda pair: -pair[1])[: max(nwords - self.nspecial, 0)]
        symbols = self.symbols[: self.nspecial]
        counts = self.counts[: self.nspecial]
        for symbol, count in ranked:
            if count < threshold:
                break
            symbols.append(symbol)
            counts.append(count)
        self.symbols, self.counts = symbols, counts
        self.indices = {symbol: index for index, symbol in enumerate(symbols)}
        self.pad_to_multiple(padding_factor)

    def pad_to_multiple(self, padding_factor: int) -> None:
        if padding_factor > 1:
            filler = 0
            while len(self) % padding_factor:
                self.add_symbol(f"madeupword{filler:04d}", count=0)
                filler += 1

    # ----------------------------------------------------------------------------- encoding
    def encode_line(self, line: str, append_eos: bool = True) -> np.ndarray:
        """The int64 ids of the whitespace tokens of ``line`` (unknown ones as ``unk()``), with
        ``</s>`` appended."""
        ids = [self.indices.get(token, 3) for token in line.split()]
        if append_eos:
            ids.append(2)
        return np.asarray(ids, dtype=np.int64)

    def string(
        self,
        ids: Sequence[int] | np.ndarray,
        bpe_symbol: str | None = None,
        escape_unk: bool = False,
    ) -> str:
        """The text of ``ids`` without pad, bos and eos; ``<unk>`` (``<<unk>>`` when
        ``escape_unk``, as fairseq-generate writes references) for unknown ids; BPE removed when
        ``bpe_symbol`` is given (``"@@ "`` or ``"sentencepiece"``). Host data only: call it on
        CPU arrays or lists."""
        values = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        unk = "<<unk>>" if escape_unk else SPECIAL_SYMBOLS[3]
        words = [unk if i == 3 else self[i] for i in values if i not in (0, 1, 2)]
        sentence = " ".join(words)
        return remove_bpe(sentence, bpe_symbol) if bpe_symbol is not None else sentence

    # ----------------------------------------------------------------------------- files
    def text(self) -> str:
        """The ``dict.<lang>.txt`` contents: ``symbol count`` per non-special symbol."""
        rows = zip(self.symbols[self.nspecial :], self.counts[self.nspecial :], strict=True)
        return "".join(f"{symbol} {count}\n" for symbol, count in rows)

    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text(), encoding="utf-8")

    def checksum(self) -> str:
        """sha256 of the saved file (equal to ``sha256sum dict.<lang>.txt``)."""
        return hashlib.sha256(self.text().encode("utf-8")).hexdigest()

    @classmethod
    def load(cls, path: Path | str) -> Dictionary:
        """Read a ``dict.<lang>.txt``; ``ValueError`` naming the file and line when malformed."""
        dictionary = cls()
        path = Path(path)
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                fields = line.rstrip().rsplit(" ", 1)
                overwrite = len(fields) == 2 and fields[1] == OVERWRITE_FLAG
                if overwrite:
                    fields = fields[0].rsplit(" ", 1)
                if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
                    raise ValueError(
                        f"{path}:{number}: expected 'symbol count', found {line.rstrip()!r}"
                    )
                symbol, count = fields[0], int(fields[1])
                if symbol in dictionary and not overwrite:
                    raise ValueError(f"{path}:{number}: duplicate symbol {symbol!r}")
                dictionary.add_symbol(symbol, count, overwrite=overwrite)
        return dictionary
