"""Feature extraction: scikit-learn vectorizers over our normalizer and segmenter.

The word branch feeds :class:`~civictext.segment.Segmenter` tokens (a picklable callable,
never a lambda; scikit-learn #6184) to a ``TfidfVectorizer``; the character branch reads
character n-grams of the normalized text, which catches words the dictionary splits and
typos. Both use :func:`civictext.normalize.normalize` as preprocessor, a module-level
function, so the fitted pipeline pickles and serving runs exactly the training
preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from .normalize import normalize
from .segment import Backend, CutMode, Segmenter


@dataclass(frozen=True)
class FeatureConfig:
    """Feature settings (every field is recorded in model metadata).

    ``word_ngram=None`` drops the word branch (character n-grams only);
    ``char_ngram=None`` drops the character branch.
    """

    backend: Backend = "auto"
    hmm: bool = False
    cut_mode: CutMode = "accurate"
    word_ngram: tuple[int, int] | None = (1, 2)
    char_ngram: tuple[int, int] | None = (1, 2)
    min_df: int = 2
    max_features: int | None = None
    sublinear_tf: bool = True


def build_segmenter(config: FeatureConfig) -> Segmenter:
    return Segmenter(backend=config.backend, hmm=config.hmm, mode=config.cut_mode)


def build_features(config: FeatureConfig) -> FeatureUnion:
    """The feature union (word n-grams over segmenter tokens + character n-grams)."""
    branches = []
    if config.word_ngram is not None:
        branches.append(
            (
                "word",
                TfidfVectorizer(
                    preprocessor=normalize,
                    tokenizer=build_segmenter(config),
                    token_pattern=None,
                    lowercase=False,
                    ngram_range=config.word_ngram,
                    min_df=config.min_df,
                    max_features=config.max_features,
                    sublinear_tf=config.sublinear_tf,
                    dtype=_float32(),
                ),
            )
        )
    if config.char_ngram is not None:
        branches.append(
            (
                "char",
                TfidfVectorizer(
                    preprocessor=normalize,
                    analyzer="char",
                    lowercase=False,
                    ngram_range=config.char_ngram,
                    min_df=config.min_df,
                    max_features=config.max_features,
                    sublinear_tf=config.sublinear_tf,
                    dtype=_float32(),
                ),
            )
        )
    if not branches:
        from .errors import ConfigError

        raise ConfigError("features: word_ngram and char_ngram cannot both be None")
    return FeatureUnion(branches)


def _float32() -> type:
    import numpy as np

    return np.float32
