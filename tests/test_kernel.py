"""The predictor's C kernel: built wherever a C compiler is, exact where its hashes collide,
and a clear error, never a crash or a wrong answer, for arguments that do not fit."""

import shutil
import sysconfig

import numpy as np
import pytest

import train.runtime.predictor as predictor_module

kernel = predictor_module.kernel
needs_kernel = pytest.mark.skipif(kernel is None, reason="the C kernel is not built in this install")


def test_the_c_kernel_is_built_where_a_c_compiler_is():
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) here: the install takes the NumPy path")
    assert kernel is not None, "a C compiler is here, but train.runtime.kernel._tfidf was not built: reinstall the package"


def _thue_morse(length: int, letters: str) -> str:
    return "".join(letters[bin(i).count("1") % 2] for i in range(length))


def _term_hash(text: str) -> int:
    """The kernel's hash of a term: a polynomial in its code points, modulo 2**64."""
    h = 0
    for c in text:
        h = (h * 0x100000001B3 + ord(c) + 1) % 2**64
    return h


@needs_kernel
def test_terms_whose_hashes_collide_are_told_apart():
    # Thue-Morse words of 2**11 letters and their complements collide under any polynomial
    # hash with an odd base modulo 2**64: the table must check the term itself.
    term, other = _thue_morse(2048, "ab"), _thue_morse(2048, "ba")
    assert term != other and _term_hash(term) == _term_hash(other)
    table = kernel.TermTable([term, "c"])
    coef = np.array([[1.0, 0.0], [0.0, 1.0]])
    for text, expected in [(other, [0.0, 0.0]), (f"{other} c", [0.0, 1.0]), (f"{term} c", [2**-0.5, 2**-0.5])]:
        out = np.zeros((1, 2))
        kernel.add_text_decisions(table, [text], 1, (1, 1), _rows(coef), False, False, 2, out)
        np.testing.assert_allclose(out[0], expected, rtol=0, atol=1e-15)
        out = np.zeros((1, 2))
        kernel.add_token_decisions(table, text.split(), None, (1, 1), _rows(coef), False, False, 2, out)
        np.testing.assert_allclose(out[0], expected, rtol=0, atol=1e-15)


@needs_kernel
def test_tokens_are_the_runs_of_word_characters_that_python_regular_expressions_find():
    import re

    from train.runtime.analyzers import TOKEN_PATTERNS

    texts = ["état_civil 2024 x9 ab", "日本語 テキスト", "a-b c.d e'f ɡh ²³ ٣٤", "ß\u0301x", "_ __ a_", "\x00ab\tcd\x85ef"]
    for pattern, shortest in zip(TOKEN_PATTERNS, (2, 1)):
        terms = sorted({token for text in texts for token in re.findall(pattern, text)})
        table = kernel.TermTable(terms)
        coef = np.eye(len(terms))
        for text in texts:
            out = np.zeros((1, len(terms)))
            kernel.add_text_decisions(table, [text], shortest, (1, 1), _rows(coef), False, False, 0, out)
            counts = np.zeros(len(terms))
            for token in re.findall(pattern, text):
                counts[terms.index(token)] += 1
            np.testing.assert_array_equal(out[0], counts, err_msg=f"{pattern!r} on {text!r}")


def _rows(coef, idf=None):
    """The kernel's weights: per column its idf (or 1), then its coef row."""
    return np.column_stack([np.ones(len(coef)) if idf is None else idf, coef])


def _held(kernel, words):
    table = kernel.WordTable()
    table.add(words)
    return table


@needs_kernel
def test_the_word_table_returns_the_words_it_lacks_and_adds_nothing_until_it_has_them():
    table, coef = kernel.WordTable(), np.eye(3)
    bounds, flat = np.array([0, 2, 3, 3]), np.array([0, 1, 2], dtype=np.uint32)  # w: 0 1, x: 2, y: none
    texts = ["x w\tx", "", "y \u3000w"]  # str.split()'s white space: tabs, ideographic spaces
    out = np.zeros((3, 3))
    assert kernel.add_word_run_decisions(table, texts, bounds, flat, _rows(coef), False, False, 0, out) == ["x", "w", "y"]
    assert not out.any()
    table.add(["w", "x"])
    assert kernel.add_word_run_decisions(table, texts, bounds, flat, _rows(coef), False, False, 0, out) == ["y"]
    table.add(["y"])
    assert len(table) == 3
    assert kernel.add_word_run_decisions(table, texts, bounds, flat, _rows(coef), False, False, 0, out) is None
    np.testing.assert_array_equal(out, [[1, 1, 2], [0, 0, 0], [1, 1, 0]])
    table.clear()
    assert len(table) == 0
    assert kernel.add_word_run_decisions(table, ["w"], bounds, flat, _rows(coef), False, False, 0, out[:1]) == ["w"]


@needs_kernel
@pytest.mark.parametrize("call, message", [
    (lambda k, coef, out: k.add_decisions(None, np.array([0, 3]), coef, False, False, 2, out),
     "out of range"),
    (lambda k, coef, out: k.add_decisions(np.array([0, 1]), np.array([0]), coef, False, False, 2, out),
     "differ in length"),
    (lambda k, coef, out: k.add_decisions(None, np.array([0.5]), coef, False, False, 2, out),
     "int64 or uint32"),
    (lambda k, coef, out: k.add_decisions(None, np.array([0]), np.ones((3, 5)), False, False, 2, out),
     "do not fit"),
    (lambda k, coef, out: k.add_decisions(None, np.array([0]), coef, False, False, 3, out),
     "norm must be"),
    (lambda k, coef, out: k.add_decisions(None, np.array([0]), coef.T, False, False, 2, out),
     "C-contiguous"),
    (lambda k, coef, out: k.add_word_run_decisions(_held(k, ["w"]), ["w"], np.array([0]), np.zeros(0, np.uint32),
                                                   coef, False, False, 2, out), "out of range"),
    (lambda k, coef, out: k.add_word_run_decisions(_held(k, ["w"]), ["w"], np.array([0, 9]), np.zeros(1, np.uint32),
                                                   coef, False, False, 2, out), "out of range"),
    (lambda k, coef, out: k.add_word_run_decisions(_held(k, ["w"]), ["w"], np.array([0, 1]), np.array([7], np.uint32),
                                                   coef, False, False, 2, out), "out of range"),
    (lambda k, coef, out: k.add_word_run_decisions(_held(k, ["w"]), ["w", "w"], np.array([0, 1]),
                                                   np.array([0], np.uint32), coef, False, False, 2, out),
     "one row per text"),
    (lambda k, coef, out: _held(k, ["w", "x", "w"]), "held already"),
    (lambda k, coef, out: k.add_word_run_decisions(_held(k, ["w"]), ["w"], np.array([0, 2000]),
                                                   np.full(2000, -1, np.int64), coef, False, False, 2, out),
     "out of range"),
    (lambda k, coef, out: k.add_token_decisions(k.TermTable(["a"]), ["a", 1], None, (1, 1), coef[:1], False,
                                                False, 2, out), "not a str"),
    (lambda k, coef, out: k.add_token_decisions(k.TermTable(["a"]), ["a"], np.array([2]), (1, 1), coef[:1],
                                                False, False, 2, out), "does not add up"),
    (lambda k, coef, out: k.add_token_decisions(k.TermTable(["a", "b", "c", "a b"]), ["a", "b"], None, (1, 2), coef,
                                                False, False, 2, out), "column is out of range"),
    (lambda k, coef, out: k.add_text_decisions(k.TermTable(["a"]), ["a"], 1, (2, 1), coef[:1], False, False,
                                               2, out), "ngram_range"),
    (lambda k, coef, out: k.add_text_decisions(k.TermTable(["a"]), ["a", "b"], 1, (1, 1), coef[:1], False,
                                               False, 2, out), "one row per text"),
])
def test_arguments_that_do_not_fit_are_one_clear_error(call, message):
    coef, out = np.ones((3, 3)), np.zeros((1, 2))  # coef: the kernel's weights, an idf column and two themes
    with pytest.raises((ValueError, TypeError), match=message):
        call(kernel, coef, out)


@needs_kernel
def test_a_huge_ngram_range_allocates_for_the_n_grams_a_text_has():
    out = np.zeros((1, 2))
    kernel.add_text_decisions(kernel.TermTable(["a"]), [" ".join(["a"] * 64)], 1, (1, 2**58), np.ones((1, 3)),
                              False, False, 2, out)
    np.testing.assert_allclose(out, [[1.0, 1.0]], rtol=0, atol=1e-15)
