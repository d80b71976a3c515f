"""Tiny parallel corpora in the real on-disk formats, written here (not by the project's code) so
the real readers, preparations and batching run on them:

- the IWSLT'14 archive fairseq downloads (``de-en.tgz`` with ``de-en/train.tags.de-en.{de,en}``,
  the WIT3 tagged talk files, and ``IWSLT14.TED*.de-en.{de,en}.xml``, the evaluation sets);
- prepared text as ``prepare-iwslt14.sh`` leaves it (``{train,valid,test}.{de,en}``);
- the Scaling-NMT WMT'16 files (``train.tok.clean.bpe.32000.*``,
  ``newstest201{3,4}.tok.bpe.32000.*``);
- the hub's parquet shards (``de-en/{train,validation,test}-0000N-of-0000M.parquet`` with a
  ``translation`` struct column).
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GERMAN = ("das", "haus", "ist", "klein", "und", "der", "garten", "gross", "wir", "sehen",
          "einen", "baum", "im", "park", "heute", "morgen")  # fmt: skip
ENGLISH = ("the", "house", "is", "small", "and", "garden", "big", "we", "see", "a", "tree",
           "in", "park", "today", "tomorrow", "morning")  # fmt: skip
TEST_PARTS = ("TED.dev2010", "TEDX.dev2012", "TED.tst2010", "TED.tst2011", "TED.tst2012")


def sentence_pairs(count: int, seed: int = 0, max_len: int = 9) -> list[tuple[str, str]]:
    """Random capitalised sentences of 2..max_len words ending in '.', similar lengths."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(count):
        n = int(rng.integers(2, max_len + 1))
        de = " ".join(GERMAN[i] for i in rng.integers(0, len(GERMAN), n))
        en = " ".join(ENGLISH[i] for i in rng.integers(0, len(ENGLISH), n))
        pairs.append((de.capitalize() + ".", en.capitalize() + "."))
    return pairs


# Training lines of one talk: (de, en) pairs written verbatim into train.tags.de-en.*, with what
# fairseq's script keeps of them after tokenizing, cleaning and lowercasing (None: dropped).
TALK_HEADER = [
    ("<url>http://www.ted.com/talks/lang/de/alice_ideas.html</url>",
     "<url>http://www.ted.com/talks/alice_ideas.html</url>", None),
    ("<keywords>talks, ideas</keywords>", "<keywords>talks, ideas</keywords>", None),
    ("<speaker>Alice</speaker>", "<speaker>Alice</speaker>",  # a tag line is tokenized too
     ("&lt; speaker &gt; alice &lt; / speaker &gt;",) * 2),
    ("<talkid>7</talkid>", "<talkid>7</talkid>", None),
    ("<title>Alice: Über Ideen</title>", "<title>Alice: About ideas</title>",
     ("alice : über ideen", "alice : about ideas")),
    ("<description>Ein Vortrag, kurz.</description>", "<description>A talk, short.</description>",
     ("ein vortrag , kurz .", "a talk , short .")),
]  # fmt: skip
SPECIAL_LINES = [
    ("Geht's dir gut?", "It's fine, isn't it?",
     ("geht &apos; s dir gut ?", "it &apos;s fine , isn &apos;t it ?")),
    ("Ja, sehr gut und schön!", "Yes!", None),  # 6 tokens against 2: ratio 3 > 1.5
    ("", "", None),  # empty
    (" ".join(["wort"] * 176), " ".join(["word"] * 176), None),  # 176 tokens > 175
    ("Preis: 5,300 Euro [sic] & mehr", "Price: 5,300 euros [sic] & more",
     ("preis : 5,300 euro &#91; sic &#93; &amp; mehr",
      "price : 5,300 euros &#91; sic &#93; &amp; more")),
]  # fmt: skip


def training_talk(extra_pairs: int, seed: int = 0) -> list[tuple[str, str, tuple[str, str] | None]]:
    """A talk's lines (de, en, kept-or-None) with ``extra_pairs`` random sentences."""
    lines = list(TALK_HEADER) + list(SPECIAL_LINES)
    for de, en in sentence_pairs(extra_pairs, seed):
        lines.append((de, en, (de.lower()[:-1] + " .", en.lower()[:-1] + " .")))
    return lines


def evaluation_segments(part: str, count: int, seed: int) -> list[tuple[str, str]]:
    pairs = sentence_pairs(count, seed)
    tag = part.lower().replace(".", "")
    return [(f"{de[:-1]} {tag}.", f"{en[:-1]} {tag}.") for de, en in pairs]


def _xml(lang: str, part: str, segments: list[str]) -> str:
    kind = "srcset" if lang == "de" else "refset"
    rows = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<mteval>",
        f'<{kind} setid="iwslt2014-{part}" srclang="german" trglang="english">',
        '<doc docid="42" genre="lectures">',
        "<url>http://www.ted.com/talks/bob.html</url>",
        "<talkid>42</talkid>",
        "<title>Bob: A talk</title>",
    ]
    rows += [f'<seg id="{i}"> {segment} </seg>' for i, segment in enumerate(segments, 1)]
    rows += ["</doc>", f"</{kind}>", "</mteval>"]
    return "\n".join(rows) + "\n"


def write_iwslt_archive(folder: Path, extra_pairs: int = 60, segments: int = 3) -> dict:
    """``folder/de-en.tgz`` in the layout of fairseq's archive; returns what was written:
    ``archive``, ``train`` (the talk lines with their expected kept forms) and ``test`` (the
    evaluation segments per part, in fairseq's concatenation order)."""
    talk = training_talk(extra_pairs)
    root = folder / "archive-src" / "de-en"
    root.mkdir(parents=True, exist_ok=True)
    for position, lang in enumerate(("de", "en")):
        text = "".join(line[position] + "\n" for line in talk)
        (root / f"train.tags.de-en.{lang}").write_text(text, encoding="utf-8")
    test = {}
    for number, part in enumerate(TEST_PARTS):
        pairs = evaluation_segments(part, segments, seed=100 + number)
        if number == 0:
            pairs[0] = ("Es ist’s.", "It’s here.")  # the curly apostrophe becomes '
        test[part] = pairs
        for position, lang in enumerate(("de", "en")):
            xml = _xml(lang, part, [pair[position] for pair in pairs])
            (root / f"IWSLT14.{part}.de-en.{lang}.xml").write_text(xml, encoding="utf-8")
    archive = folder / "de-en.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="de-en")
    return {"archive": archive, "train": talk, "test": test}


def write_text_pairs(folder: Path, prefix: str, pairs: list[tuple[str, str]],
                     langs: tuple[str, str]) -> None:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    for position, lang in enumerate(langs):
        text = "".join(pair[position] + "\n" for pair in pairs)
        (folder / f"{prefix}.{lang}").write_text(text, encoding="utf-8")


def bpe_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """Lowercased tokenized pairs with some '@@ ' segmentation, as prepared text looks."""
    pairs = []
    for de, en in sentence_pairs(count, seed):
        de = de.lower()[:-1].replace("garten", "gar@@ ten") + " ."
        en = en.lower()[:-1].replace("garden", "gar@@ den") + " ."
        pairs.append((de, en))
    return pairs


def write_prepared_iwslt(data_dir: Path, sizes: tuple[int, int, int] = (40, 6, 5)) -> dict:
    """``<data_dir>/iwslt14/iwslt14.tokenized.de-en/{train,valid,test}.{de,en}``."""
    folder = data_dir / "iwslt14" / "iwslt14.tokenized.de-en"
    written = {}
    for split, size, seed in zip(("train", "valid", "test"), sizes, (1, 2, 3), strict=True):
        written[split] = bpe_pairs(size, seed)
        write_text_pairs(folder, split, written[split], ("de", "en"))
    return written


WMT_PREFIXES = {"train": "train.tok.clean.bpe.32000", "valid": "newstest2013.tok.bpe.32000",
                "test": "newstest2014.tok.bpe.32000"}  # fmt: skip


def write_wmt_files(data_dir: Path, sizes: tuple[int, int, int] = (30, 4, 5)) -> dict:
    """The Scaling-NMT files in ``<data_dir>/wmt16/wmt16_en_de_bpe32k/`` (en, de)."""
    folder = data_dir / "wmt16" / "wmt16_en_de_bpe32k"
    written = {}
    for (split, prefix), size, seed in zip(WMT_PREFIXES.items(), sizes, (4, 5, 6), strict=True):
        pairs = [(en, de) for de, en in bpe_pairs(size, seed)]
        written[split] = pairs
        write_text_pairs(folder, prefix, pairs, ("en", "de"))
    return written


def write_hub_parquet(data_dir: Path, sizes: tuple[int, int, int] = (40, 4, 5), shards: int = 2,
                      extra_train: tuple[tuple[str, str], ...] = ()) -> dict:  # fmt: skip
    """The hub's ``wmt/wmt16`` ``de-en`` train shards and ``wmt/wmt14`` ``de-en`` validation and
    test under ``<data_dir>/wmt16/hub/{wmt16,wmt14}/de-en/``; returns the raw pairs (de, en).
    The first training pair has a line break inside; ``extra_train`` pairs are appended."""
    plan = {"train": ("wmt16", "train", shards), "valid": ("wmt14", "validation", 1),
            "test": ("wmt14", "test", 1)}  # fmt: skip
    written = {}
    schema = pa.schema([("translation", pa.struct([("de", pa.string()), ("en", pa.string())]))])
    for (split, (repo, name, parts)), size, seed in zip(plan.items(), sizes, (7, 8, 9),
                                                        strict=True):  # fmt: skip
        pairs = sentence_pairs(size, seed)
        if split == "train":
            pairs[0] = ("Ein Satz\nmit Umbruch.", "A sentence\nwith a break.")
            pairs += list(extra_train)
        written[split] = pairs
        folder = data_dir / "wmt16" / "hub" / repo / "de-en"
        folder.mkdir(parents=True, exist_ok=True)
        for part, chunk in enumerate(np.array_split(np.arange(len(pairs)), parts)):
            rows = [{"de": pairs[i][0], "en": pairs[i][1]} for i in chunk]
            table = pa.table({"translation": rows}, schema=schema)
            pq.write_table(table, folder / f"{name}-{part:05d}-of-{parts:05d}.parquet")
    return written
