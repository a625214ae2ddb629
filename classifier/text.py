"""Text normalisation and word segmentation: jieba with the Qingdao user dictionary and the stop-word list.

The tokenizer is a module-level function so a fitted scikit-learn pipeline that refers to it can be pickled;
the jieba dictionary behind it is built lazily, once per process, on the first call.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import unicodedata
import warnings
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
USER_DICT = DATA_DIR / "userdict.txt"
STOP_WORDS_FILE = DATA_DIR / "stopwords.txt"
NOT_TERMS_FILE = DATA_DIR / "not_terms.txt"

# Environment variable naming where jieba keeps its prefix-dictionary cache (default: the system temp dir).
CACHE_DIR_ENV = "QINGSU_JIEBA_CACHE_DIR"

with warnings.catch_warnings():
    # Some setuptools versions warn when jieba's compatibility module imports pkg_resources; it is harmless here.
    warnings.simplefilter("ignore", DeprecationWarning)
    import jieba

# jieba logs "Building prefix dict ..." to stderr at DEBUG level when the dictionary is first built.
jieba.setLogLevel(logging.WARNING)

_WHITESPACE = re.compile(r"\s+")
# Tokens that carry no meaning on their own: punctuation, symbols, lone digits and Latin letters.
_NOISE_TOKEN = re.compile(r"^[\W_]+$|^\d$|^[a-z]$")

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII), lower case, runs of whitespace become one space."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def _cache_dir() -> str:
    return os.environ.get(CACHE_DIR_ENV) or tempfile.gettempdir()


def get_tokenizer() -> jieba.Tokenizer:
    """The process-wide jieba tokenizer with the user dictionary loaded (built on first use, thread-safe)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                tokenizer = jieba.Tokenizer()
                tokenizer.tmp_dir = _cache_dir()
                tokenizer.cache_file = "qingsu-jieba.cache"
                tokenizer.initialize()
                # jieba leaves a file it opened itself unclosed (a ResourceWarning, an error under pytest).
                with USER_DICT.open("rb") as user_dict:
                    tokenizer.load_userdict(user_dict)
                _tokenizer = tokenizer
    return _tokenizer


def _word_list(path: Path) -> frozenset[str]:
    """A shipped word list: one word a line, `#` starts a comment."""
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.add(normalize(word))
    return frozenset(words)


@cache
def stop_words() -> frozenset[str]:
    """The stop-word list shipped in `classifier/data/stopwords.txt`, left out of the word features."""
    return _word_list(STOP_WORDS_FILE)


@cache
def not_terms() -> frozenset[str]:
    """Words never shown as the reason for a suggestion: the stop words and the function, time, place-relation and
    generic words of `classifier/data/not_terms.txt` (they stay in the features; they just explain nothing)."""
    return stop_words() | _word_list(NOT_TERMS_FILE)


def tokenize(text: str) -> list[str]:
    """Cut normalised text into words, dropping stop words and punctuation.

    Used as the word analyzer's tokenizer, so it must stay a module-level function (pickled by reference).
    """
    stop = stop_words()
    return [
        token
        for token in get_tokenizer().lcut(normalize(text))
        if token.strip() and token not in stop and not _NOISE_TOKEN.match(token)
    ]


# The opening of a text: its first OPENING_WORDS words (cut from its first OPENING_SPAN characters, which keeps
# the cost of a long letter down) and its first OPENING_CHARS characters.
OPENING_WORDS = 15
OPENING_SPAN = 60
OPENING_CHARS = 20


def opening(text: str) -> str:
    """The first OPENING_CHARS characters of the normalised text (the character n-grams of the opening)."""
    return normalize(text)[:OPENING_CHARS]


def opening_tokens(text: str) -> list[str]:
    """The first OPENING_WORDS words of the text, as `tokenize` cuts its first OPENING_SPAN characters.

    Module-level for the same reason as `tokenize`.
    """
    return tokenize(normalize(text)[:OPENING_SPAN])[:OPENING_WORDS]


def join_segmented(text: str) -> str:
    """Undo a previous segmentation: remove the spaces between the words of pre-cut Chinese text."""
    return _WHITESPACE.sub("", text)
