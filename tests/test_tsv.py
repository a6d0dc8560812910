"""The TSV reader of the classifier, tagger and seq2seq commands
(data/tsv.py): the pairs, the line ends, and one line per bad input."""

import io
import sys

import pytest

from nnlab.data.text import TextError
from nnlab.data.tsv import TsvError, read_pairs, split_heldout


def tsv(tmp_path, body, name="p.tsv"):
    path = tmp_path / name
    path.write_bytes(body)
    return str(path)


def fails(path, kind, fragment, **kw):
    """The one-line message of the TsvError read_pairs raises."""
    with pytest.raises(TsvError) as e:
        read_pairs(path, kind, **kw)
    message = str(e.value)
    assert "\n" not in message and fragment in message, message
    return message


def test_pairs_in_file_order(tmp_path):
    path = tsv(tmp_path, b"hello\ten\nhallo\tde\nbonjour\tfr\n")
    assert read_pairs(path, "classifier") == [("hello", "en"), ("hallo", "de"),
                                              ("bonjour", "fr")]


def test_bom_and_crlf(tmp_path):
    path = tsv(tmp_path, b"\xef\xbb\xbfab\tx\r\ncd\ty\r\n")
    assert read_pairs(path, "classifier") == [("ab", "x"), ("cd", "y")]


def test_a_bom_only_at_the_start_is_dropped(tmp_path):
    path = tsv(tmp_path, "ab\tx\n\ufeffcd\ty\n".encode())
    assert read_pairs(path, "classifier") == [("ab", "x"), ("\ufeffcd", "y")]


def test_final_line_without_newline(tmp_path):
    assert read_pairs(tsv(tmp_path, b"ab\tx\ncd\ty"), "seq2seq") == [("ab", "x"), ("cd", "y")]
    assert read_pairs(tsv(tmp_path, b"ab\tx\r\ncd\ty\r"), "seq2seq") == [("ab", "x"),
                                                                        ("cd", "y")]


def test_only_one_carriage_return_is_a_line_end(tmp_path):
    # "a lone trailing \r" is dropped; a second one belongs to the field.
    assert read_pairs(tsv(tmp_path, b"ab\tx\r\r\n"), "seq2seq") == [("ab", "x\r")]


def test_blank_lines_are_skipped_and_lines_keep_their_numbers(tmp_path):
    path = tsv(tmp_path, b"\nab\tx\n\r\n\ncd\ty\n\n\nef\n")
    fails(path, "classifier", "p.tsv, line 8: no tab")
    assert read_pairs(tsv(tmp_path, b"\n\nab\tx\n\r\n"), "classifier") == [("ab", "x")]


def test_only_newline_splits_lines(tmp_path):
    # Not str.splitlines(): \v, \f, \x1c, \x85, \u2028 are characters of the text.
    text = "a\x0bb\x0cc\x1cd\x85e\u2028f"
    path = tsv(tmp_path, f"{text}\tx\n".encode())
    assert read_pairs(path, "classifier") == [(text, "x")]


def test_unicode_pairs(tmp_path):
    path = tsv(tmp_path, "naïve\tNAÏVE\n日本\tJP\n".encode())
    assert read_pairs(path, "seq2seq") == [("naïve", "NAÏVE"), ("日本", "JP")]


def test_spaces_are_kept(tmp_path):
    path = tsv(tmp_path, b" a b \t x \n")
    assert read_pairs(path, "classifier") == [(" a b ", " x ")]


@pytest.mark.parametrize("kind, form", [
    ("classifier", "text<TAB>label"),
    ("tagger", "text<TAB>tags"),
    ("seq2seq", "source<TAB>target"),
])
def test_no_tab(tmp_path, kind, form):
    path = tsv(tmp_path, b"ab\txy\nno tab here\n")
    message = fails(path, kind, f"line 2: no tab; each line is {form}")
    assert message == f"{path}, line 2: no tab; each line is {form}"


@pytest.mark.parametrize("kind, form", [
    ("classifier", "text<TAB>label"),
    ("tagger", "text<TAB>tags"),
    ("seq2seq", "source<TAB>target"),
])
def test_more_than_one_tab(tmp_path, kind, form):
    path = tsv(tmp_path, b"ab\txy\ncd\tx\ty\n")
    message = fails(path, kind, "line 2: 2 tabs")
    assert message == f"{path}, line 2: 2 tabs; each line is {form} with exactly one tab"
    fails(tsv(tmp_path, b"a\t\t\tb\n"), kind, "line 1: 3 tabs")


@pytest.mark.parametrize("kind, body, problem", [
    ("classifier", b"\tx\n", "the text is empty"),
    ("classifier", b"ab\t\n", "the label is empty"),
    ("classifier", b"ab\t\r\n", "the label is empty"),
    ("classifier", b"\t\n", "the text is empty"),
    ("tagger", b"\tx\n", "the text is empty"),
    ("tagger", b"ab\t\n", "the tags are empty"),
    ("seq2seq", b"\tx\n", "the source is empty"),
    ("seq2seq", b"ab\t\n", "the target is empty"),
])
def test_an_empty_field(tmp_path, kind, body, problem):
    path = tsv(tmp_path, b"ok\tok\n" + body)
    assert fails(path, kind, problem) == f"{path}, line 2: {problem}"


def test_tagger_needs_one_tag_per_character(tmp_path):
    assert read_pairs(tsv(tmp_path, b"Hi you\tUl Ull\n"), "tagger") == [("Hi you", "Ul Ull")]
    path = tsv(tmp_path, b"ab\txy\nabcdefg\txxxxx\n")
    assert fails(path, "tagger", "5 tags for 7 characters") == (
        f"{path}, line 2: 5 tags for 7 characters; give one tag character per character of "
        f"the text")
    fails(tsv(tmp_path, b"ab\tx\n"), "tagger", "line 1: 1 tag for 2 characters")
    fails(tsv(tmp_path, b"a\txy\n"), "tagger", "line 1: 2 tags for 1 character;")


def test_tagger_counts_characters_not_bytes(tmp_path):
    path = tsv(tmp_path, "日本語\tNNN\n".encode())
    assert read_pairs(path, "tagger") == [("日本語", "NNN")]


def test_other_kinds_take_any_lengths(tmp_path):
    path = tsv(tmp_path, b"abcdefg\txy\n")
    assert read_pairs(path, "seq2seq") == [("abcdefg", "xy")]
    assert read_pairs(path, "classifier") == [("abcdefg", "xy")]


@pytest.mark.parametrize("kind, form", [
    ("classifier", "text<TAB>label"),
    ("tagger", "text<TAB>tags"),
    ("seq2seq", "source<TAB>target"),
])
@pytest.mark.parametrize("body", [b"", b"\n\n\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_no_pairs_at_all(tmp_path, kind, form, body):
    path = tsv(tmp_path, body)
    message = fails(path, kind, f"{path} holds no lines of {form}")
    assert message.endswith("to learn from")
    assert fails(path, kind, "", purpose="to evaluate on").endswith("to evaluate on")


def test_text_alone_when_the_target_is_not_required(tmp_path):
    path = tsv(tmp_path, b"hello\nab\tx\n\r\nworld\r\n")
    assert read_pairs(path, "classifier", require_target=False) == [
        ("hello", None), ("ab", "x"), ("world", None)]
    path = tsv(tmp_path, b"hello\nab\txy\n")
    assert read_pairs(path, "tagger", require_target=False) == [("hello", None), ("ab", "xy")]


@pytest.mark.parametrize("body, fragment", [
    (b"hello\nab\tx\ty\n", "line 2: 2 tabs"),
    (b"hello\nab\t\n", "line 2: the label is empty"),
    (b"hello\n\tx\n", "line 2: the text is empty"),
])
def test_a_line_with_a_tab_is_still_checked_when_the_target_is_not_required(
        tmp_path, body, fragment):
    fails(tsv(tmp_path, body), "classifier", fragment, require_target=False)


def test_tags_are_still_checked_when_the_target_is_not_required(tmp_path):
    path = tsv(tmp_path, b"abc\nabc\txy\n")
    fails(path, "tagger", "line 2: 2 tags for 3 characters", require_target=False)


def test_no_lines_when_the_target_is_not_required(tmp_path):
    fails(tsv(tmp_path, b"\n\n"), "seq2seq", "holds no lines of source<TAB>target",
          require_target=False)


class Stdin:
    """sys.stdin as a pipe: read_bytes reads its .buffer."""

    def __init__(self, data):
        self.buffer = io.BytesIO(data)

    def isatty(self):
        return False


def test_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", Stdin(b"\xef\xbb\xbfab\tx\r\ncd\ty\n"))
    assert read_pairs("-", "classifier") == [("ab", "x"), ("cd", "y")]


def test_stdin_is_named_in_errors(monkeypatch):
    monkeypatch.setattr(sys, "stdin", Stdin(b"ab\tx\n\ncd\n"))
    assert fails("-", "classifier", "") == "stdin, line 3: no tab; each line is text<TAB>label"
    monkeypatch.setattr(sys, "stdin", Stdin(b""))
    assert fails("-", "seq2seq", "").startswith("stdin holds no lines of source<TAB>target")


def test_a_terminal_on_stdin_is_refused(monkeypatch):
    class Terminal(Stdin):
        def isatty(self):
            return True
    monkeypatch.setattr(sys, "stdin", Terminal(b"ab\tx\n"))
    with pytest.raises(TextError, match="stdin is a terminal"):
        read_pairs("-", "classifier")


def test_tsv_errors_are_text_errors_with_exit_code_1():
    assert issubclass(TsvError, TextError)
    assert TsvError("x").exit_code == 1


@pytest.mark.parametrize("body, fragment", [
    (b"ab\tx\n\xff\xfe\tz\n", "is not UTF-8 text (byte 0xff at offset 5)"),
    (b"ab\tx\x00\n", "looks binary"),
])
def test_not_text_is_one_line(tmp_path, body, fragment):
    path = tsv(tmp_path, body)
    with pytest.raises(TextError) as e:
        read_pairs(path, "classifier")
    assert str(e.value).startswith(path) and fragment in str(e.value)


def test_missing_file_and_folder_are_one_line(tmp_path):
    with pytest.raises(TextError, match="no such file"):
        read_pairs(str(tmp_path / "nope.tsv"), "classifier")
    with pytest.raises(TextError, match="is a folder"):
        read_pairs(str(tmp_path), "classifier")


def test_reads_are_bounded(tmp_path, monkeypatch):
    from nnlab.data import text

    monkeypatch.setattr(text, "text_limit", lambda: (10, "the limit given"))
    with pytest.raises(TextError, match="holds more than"):
        read_pairs(tsv(tmp_path, b"abcdef\tx\n" * 3), "classifier")


PAIRS = [(f"t{i}", f"l{i % 3}") for i in range(20)]


def test_split_sizes():
    train, held = split_heldout(PAIRS, 0.25, 0)
    assert (len(train), len(held)) == (15, 5)
    assert sorted(train + held) == sorted(PAIRS)
    assert len(split_heldout(PAIRS, 0.1, 0)[1]) == 2
    assert len(split_heldout(PAIRS[:7], 0.3, 0)[1]) == round(7 * 0.3) == 2


def test_split_is_deterministic_per_seed():
    assert split_heldout(PAIRS, 0.25, 3) == split_heldout(list(PAIRS), 0.25, 3)
    assert split_heldout(PAIRS, 0.25, 3) != split_heldout(PAIRS, 0.25, 4)
    train, held = split_heldout(PAIRS, 0.25, 3)
    assert train + held != PAIRS  # shuffled, not the file's last lines


def test_split_is_the_generator_shuffle():
    import numpy as np

    order = np.random.Generator(np.random.PCG64(7)).permutation(len(PAIRS))
    shuffled = [PAIRS[i] for i in order]
    assert split_heldout(PAIRS, 0.25, 7) == (shuffled[:15], shuffled[15:])


def test_nothing_held_out():
    assert split_heldout(PAIRS, 0, 0) == (PAIRS, [])
    assert split_heldout(PAIRS, 0.0, 5)[1] == []
    assert split_heldout(PAIRS, 0.01, 0) == (PAIRS, [])  # round(0.2) == 0
    train, held = split_heldout(PAIRS, 0, 0)
    assert train is not PAIRS  # a new list


def test_split_keeps_a_pair_to_train_on():
    assert split_heldout(PAIRS[:1], 0.5, 0) == (PAIRS[:1], [])
    assert split_heldout(PAIRS[:2], 0.9, 0) == (PAIRS[:2], [])
    assert split_heldout([], 0.5, 0) == ([], [])
    train, held = split_heldout(PAIRS[:2], 0.5, 0)
    assert (len(train), len(held)) == (1, 1)
