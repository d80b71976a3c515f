"""The binarized cache of a prepared corpus: what ``fairseq-preprocess`` writes, built natively.

``<bin_dir>/dict.<lang>.txt`` and ``<bin_dir>/<split>.<src>-<tgt>.<lang>.{bin,idx}`` as fairseq
names them (``--trainpref/--validpref/--testpref``, separate dictionaries or
``--joined-dictionary``, ``--nwordssrc/--nwordstgt``, padding factor 8), plus ``manifest.json``:
the size and modification time of each text file it was built from (a changed file rebuilds the
cache) and its sha256 (hashed during the build's first read of it; the run's data checksums
name it ``text/<file>``: the text the arrays were made from), the sha256 of each dictionary and
array, and which dictionary each array was binarized with (a dictionary that no longer matches
is refused). A directory without a manifest and without the suite's build lock beside it is
taken as ``fairseq-preprocess`` output and read as it is; a cache the suite built whose manifest
is gone or damaged is rebuilt (one line says why, as for a missing member or changed text).

Concurrent loads (data-parallel ranks) build once: a file lock serialises them and the cache is
written to a temporary folder that replaces the old one in one rename. A cache is whole or
absent: one missing member makes it stale (rebuilt from the text, or one line naming the text
that would rebuild it), and the next build removes the folders of builds that were killed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from data import DataError, DataUnavailable
from data.text_lines import utf8_lines
from data.translation.binarized import TokenArray
from data.translation.corpus_types import SPLITS, CorpusSpec, TranslationCorpus
from data.translation.dictionary import Dictionary
from data.verified_files import DamagedCache, record_verified, verify

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


def dict_name(lang: str) -> str:
    return f"dict.{lang}.txt"


def array_name(split: str, source_lang: str, target_lang: str, lang: str) -> str:
    return f"{split}.{source_lang}-{target_lang}.{lang}"


def _lines(path: Path) -> Iterator[str]:
    return utf8_lines(path)


def _count_and_hash(path: Path) -> tuple[int, str]:
    """The file's lines (as ``_lines`` splits them) and its sha256, in one read: lines read
    with their endings untranslated re-encode to the file's bytes."""
    digest, count = hashlib.sha256(), 0
    for line in utf8_lines(path, newline=""):
        digest.update(line.encode("utf-8"))
        count += 1
    return count, digest.hexdigest()


def _stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _expected_files(source_lang: str, target_lang: str) -> list[str]:
    names = [dict_name(source_lang), dict_name(target_lang)]
    for split in SPLITS:
        for lang in (source_lang, target_lang):
            prefix = array_name(split, source_lang, target_lang, lang)
            names += [prefix + ".bin", prefix + ".idx"]
    return names


def read_manifest(bin_dir: Path) -> dict | None:
    """The cache's manifest; None when absent or damaged (not JSON, not UTF-8, not an object,
    another format): ``suite_built`` tells a damaged cache of the suite from fairseq's output."""
    path = bin_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    return manifest


def _lock_path(bin_dir: Path) -> Path:
    return bin_dir.with_name(bin_dir.name + ".lock")


def suite_built(bin_dir: Path) -> bool:
    """Whether ``bin_dir`` is a cache the suite built (its ``manifest.json``, whatever it now
    holds, or the build lock beside it), not a folder of ``fairseq-preprocess`` output, which has
    neither and is read as it is."""
    return (bin_dir / MANIFEST).exists() or _lock_path(bin_dir).exists()


def _text_paths(
    spec: CorpusSpec, data_dir: Path, source_lang: str, target_lang: str
) -> dict[tuple[str, str], Path]:
    return {
        (split, lang): spec.text_path(data_dir, split, lang)
        for split in SPLITS
        for lang in (source_lang, target_lang)
    }


def needs_binarizing(spec: CorpusSpec, data_dir: Path, source_lang: str, target_lang: str) -> bool:
    """Whether the cache must be (re)built from the prepared text (``rebuild_reason``)."""
    return rebuild_reason(spec, data_dir, source_lang, target_lang) is not None


def rebuild_reason(
    spec: CorpusSpec, data_dir: Path, source_lang: str, target_lang: str
) -> str | None:
    """Why the cache must be (re)built from the prepared text (None: it need not be);
    ``DataUnavailable`` when it must but cannot be (the text is missing, or a fairseq-preprocess
    folder is incomplete). Only looks at which files exist and at the manifest: cheap enough to
    check a sweep."""
    bin_dir = spec.bin_dir(data_dir, source_lang, target_lang)
    texts = _text_paths(spec, data_dir, source_lang, target_lang)
    missing_text = [path for path in texts.values() if not path.is_file()]
    missing_bin = [name for name in _expected_files(source_lang, target_lang)
                   if not (bin_dir / name).is_file()]  # fmt: skip
    manifest = read_manifest(bin_dir)
    ours = suite_built(bin_dir)
    usable = manifest is not None and (missing_text or not _stale(manifest, texts))
    if not missing_bin and (usable or not ours):
        return None
    if missing_text and (missing_bin or manifest is None) and ours:
        lacking = missing_bin[0] if missing_bin else f"a readable {MANIFEST}"
        raise DataUnavailable(
            f"the cache {bin_dir} lacks {lacking}, and the prepared text that would "
            f"rebuild it is missing ({missing_text[0]}): run `{spec.prepare_command(data_dir)}`"
        )
    if missing_text:
        raise DataUnavailable(
            f"{spec.name} ({spec.source}) is not prepared: {missing_text[0]} is missing; "
            f"run `{spec.prepare_command(data_dir)}`"
        )
    if bin_dir.exists() and not ours:
        raise DataUnavailable(
            f"{bin_dir} lacks {missing_bin[0]} (a fairseq-preprocess folder?): complete it, "
            f"or delete it to binarize {spec.text_dir(data_dir)} again"
        )
    if not bin_dir.exists():
        return "no cache yet"
    if manifest is None:
        return f"the cache {bin_dir} has no readable {MANIFEST}"
    if missing_bin:
        return f"the cache {bin_dir} lacks {missing_bin[0]}"
    return f"the prepared text in {spec.text_dir(data_dir)} changed since the cache was built"


def open_corpus(
    spec: CorpusSpec, data_dir: Path, source_lang: str, target_lang: str
) -> TranslationCorpus:
    """The cached corpus, (re)built from the prepared text when needed; a cache whose arrays do
    not hold what it recorded is rebuilt from the text (one line says so), or refused in one
    line naming the command that prepares the text when there is none."""
    bin_dir = spec.bin_dir(data_dir, source_lang, target_lang)
    texts = _text_paths(spec, data_dir, source_lang, target_lang)
    reason = rebuild_reason(spec, data_dir, source_lang, target_lang)
    if reason is not None:
        if bin_dir.exists():  # a damaged or stale cache: say why it is rebuilt
            print(f"{reason}: binarizing {spec.text_dir(data_dir)} again", flush=True)
        _build_locked(spec, bin_dir, texts, source_lang, target_lang)
    manifest = read_manifest(bin_dir)
    try:
        return _open(spec, bin_dir, manifest, source_lang, target_lang)
    except DamagedCache as damaged:
        if not all(path.is_file() for path in texts.values()):
            raise DataError(
                f"{damaged}; the prepared text to rebuild it is missing: run "
                f"`{spec.prepare_command(data_dir)}`"
            ) from None
        print(f"{damaged}: binarizing {spec.text_dir(data_dir)} again", flush=True)
    _build_locked(spec, bin_dir, texts, source_lang, target_lang, damaged=manifest)
    return _open(spec, bin_dir, read_manifest(bin_dir), source_lang, target_lang)


def _stale(manifest: dict, texts: dict[tuple[str, str], Path]) -> bool:
    recorded = manifest.get("text", {})
    return any(recorded.get(path.name) != _stamp(path) for path in texts.values())


def _build_locked(
    spec: CorpusSpec,
    bin_dir: Path,
    texts: dict[tuple[str, str], Path],
    source_lang: str,
    target_lang: str,
    damaged: dict | None = None,
) -> None:
    """Build the cache under its lock, unless another process built it meanwhile (``damaged``:
    the manifest of a cache found damaged, rebuilt unless it was replaced since)."""
    bin_dir.parent.mkdir(parents=True, exist_ok=True)
    with _lock_path(bin_dir).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = read_manifest(bin_dir)
        expected = _expected_files(source_lang, target_lang)
        whole = all((bin_dir / name).is_file() for name in expected)
        fresh = manifest is not None and whole and not _stale(manifest, texts)
        if fresh and (damaged is None or manifest != damaged):
            return  # another process built it while we waited
        _remove_leftovers(bin_dir)
        scratch = bin_dir.with_name(f".{bin_dir.name}.tmp-{os.getpid()}")
        try:
            _build_or_say_why(spec, scratch, texts, source_lang, target_lang, bin_dir)
            old = bin_dir.with_name(f".{bin_dir.name}.old-{os.getpid()}")
            if bin_dir.exists():
                bin_dir.rename(old)
            scratch.rename(bin_dir)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _build_or_say_why(
    spec: CorpusSpec,
    scratch: Path,
    texts: dict[tuple[str, str], Path],
    source_lang: str,
    target_lang: str,
    bin_dir: Path,
) -> None:
    """``build`` into ``scratch``; an unreadable text or a full disk is one line (the caller
    removes the scratch folder)."""
    try:
        build(spec, scratch, texts, source_lang, target_lang)
    except OSError as error:
        raise DataError(
            f"binarizing {spec.name} into {bin_dir} failed: {error.strerror} ({error.filename}); "
            "the partial build was removed, and the same command builds it once that is fixed"
        ) from None


def _remove_leftovers(bin_dir: Path) -> None:
    """The scratch and replaced folders of builds that died (killed mid-build): each is a full
    binarized copy. Called under the build lock, so no live build owns one."""
    for pattern in (f".{bin_dir.name}.tmp-*", f".{bin_dir.name}.old-*"):
        for leftover in bin_dir.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def build(
    spec: CorpusSpec,
    bin_dir: Path,
    texts: dict[tuple[str, str], Path],
    source_lang: str,
    target_lang: str,
) -> dict:
    """fairseq-preprocess into ``bin_dir``: dictionaries from the training text, every split
    binarized through them; returns the manifest it writes."""
    text_sha256: dict[str, str] = {}
    for split in SPLITS:
        source, target = texts[split, source_lang], texts[split, target_lang]
        counts = []
        for path in (source, target):
            lines, text_sha256[path.name] = _count_and_hash(path)
            counts.append(lines)
        if counts[0] != counts[1]:
            raise DataError(
                f"{source} has {counts[0]} lines but {target} has {counts[1]}: "
                "a parallel corpus needs one target line per source line"
            )
    bin_dir.mkdir(parents=True)
    train = [texts["train", source_lang], texts["train", target_lang]]
    if spec.joined_dictionary:
        joined = Dictionary.build([_lines(path) for path in train], nwords=spec.nwords)
        dictionaries = {source_lang: joined, target_lang: joined}
    else:
        dictionaries = {
            lang: Dictionary.build([_lines(path)], nwords=spec.nwords)
            for lang, path in zip((source_lang, target_lang), train, strict=True)
        }
    manifest: dict = {
        "format": MANIFEST_FORMAT,
        "corpus": spec.name,
        "source": spec.source,
        "text": {path.name: _stamp(path) for path in texts.values()},
        "text_sha256": text_sha256,
        "dictionaries": {},
        "arrays": {},
    }
    for lang, dictionary in dictionaries.items():
        dictionary.save(bin_dir / dict_name(lang))
        manifest["dictionaries"][dict_name(lang)] = dictionary.checksum()
    written: dict[str, tuple[TokenArray, str]] = {}
    for (split, lang), path in texts.items():
        name = array_name(split, source_lang, target_lang, lang)
        array, counts = TokenArray.write(bin_dir / name, _lines(path), dictionaries[lang])
        written[name] = (array, array.checksum())
        manifest["arrays"][name] = {
            **counts,
            "sha256": written[name][1],
            "dictionary": dictionaries[lang].checksum(),
        }
    (bin_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    stamped = {
        name: (array.paths(array.prefix), digest) for name, (array, digest) in written.items()
    }
    record_verified(bin_dir, stamped)  # hashed as written: the first start needs no re-read
    return manifest


def _open(
    spec: CorpusSpec, bin_dir: Path, manifest: dict | None, source_lang: str, target_lang: str
) -> TranslationCorpus:
    dictionaries: dict[str, Dictionary] = {}
    checksums: dict[str, str] = {}
    for lang in (source_lang, target_lang):
        path = bin_dir / dict_name(lang)
        try:
            dictionaries[lang] = Dictionary.load(path)
        except (ValueError, UnicodeDecodeError) as error:
            raise DataError(f"dictionary {path} is malformed: {error}") from None
        checksums[dict_name(lang)] = dictionaries[lang].checksum()
    splits: dict[str, tuple[TokenArray, TokenArray]] = {}
    counts: dict[str, dict[str, int]] = {}
    arrays: dict[str, TokenArray] = {}
    for split in SPLITS:
        pair = []
        for lang in (source_lang, target_lang):
            name = array_name(split, source_lang, target_lang, lang)
            try:
                array = TokenArray(bin_dir / name)
            except ValueError as error:
                raise DataError(f"{error}; delete {bin_dir} to binarize again") from None
            _check_dictionary(array, dictionaries[lang], bin_dir / dict_name(lang), manifest, name)
            recorded = (manifest or {}).get("arrays", {}).get(name)
            if recorded:
                counts[name] = {key: recorded[key] for key in ("sentences", "tokens", "unknown")}
            arrays[name] = array
            pair.append(array)
        source, target = pair
        if len(source) != len(target):
            raise DataError(
                f"{source.prefix} has {len(source)} sentences but {target.prefix} has "
                f"{len(target)}: delete {bin_dir} to binarize again"
            )
        splits[split] = (source, target)
    if manifest is None:  # a fairseq-preprocess folder: nothing recorded to verify against
        checksums.update({name: array.checksum() for name, array in arrays.items()})
    else:
        checksums.update(
            {f"text/{name}": sha for name, sha in manifest.get("text_sha256", {}).items()}
        )
        recorded = {name: manifest["arrays"][name]["sha256"] for name in arrays}
        files = {name: array.paths(array.prefix) for name, array in arrays.items()}
        checksums.update(verify(bin_dir, files, recorded, lambda name: arrays[name].checksum()))
    return TranslationCorpus(
        source_lang=source_lang,
        target_lang=target_lang,
        src_dict=dictionaries[source_lang],
        tgt_dict=dictionaries[target_lang],
        splits=splits,
        checksums=checksums,
        test_set=spec.test_set,
        valid_set=spec.valid_set,
        name=spec.name,
        source=spec.source,
        bpe=spec.bpe,
        directory=bin_dir,
        counts=counts,
    )


def _check_dictionary(
    array: TokenArray, dictionary: Dictionary, path: Path, manifest: dict | None, name: str
) -> None:
    """A dictionary that is not the one the ids were written with: refused, one line."""
    recorded = (manifest or {}).get("arrays", {}).get(name, {}).get("dictionary")
    if recorded is not None and recorded != dictionary.checksum():
        raise DataError(
            f"{path} (sha256 {dictionary.checksum()[:12]}) does not match the dictionary "
            f"{name}.bin was binarized with (sha256 {recorded[:12]}): restore it, or delete "
            f"{path.parent} to binarize again"
        )
    largest = array.max_id()
    if largest >= len(dictionary):
        raise DataError(
            f"{name}.bin holds id {largest} but {path} has only {len(dictionary)} symbols: the "
            f"dictionary does not match the binarized data; delete {path.parent} to binarize again"
        )
