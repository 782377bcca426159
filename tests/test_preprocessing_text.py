"""Text and lookup preprocessing layers: vocabulary order, OOV and mask indices, output
modes and tf-idf as Keras 3 documents them, with hand-computed values."""

import math

import numpy as np
import pytest

from numnet import Discretization, Hashing, IntegerLookup, StringLookup, TextVectorization
from numnet.layers.preprocessing import register_text_function
from numnet.layers.preprocessing._hash import hash_token

DOCS = ["The cat sat.", "the dog sat on the mat", "A cat!"]


# --- StringLookup ------------------------------------------------------------------------------
def test_string_lookup_puts_the_oov_index_first():
    layer = StringLookup(vocabulary=["a", "b", "c"])
    np.testing.assert_array_equal(layer(["a", "c", "z"]), [1, 3, 0])
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["a", "b", "c"]
    assert layer(np.array([["a", "b"], ["z", "c"]])).dtype == np.int64


def test_string_lookup_mask_token_is_index_zero_then_oov():
    layer = StringLookup(vocabulary=["a", "b", "c"], mask_token="")
    np.testing.assert_array_equal(layer(["a", "", "z", "c"]), [2, 0, 1, 4])
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b", "c"]
    assert layer.vocabulary_size() == 5


def test_adapt_orders_by_frequency_ties_by_token_descending():
    layer = StringLookup()
    layer.adapt(["b", "a", "c", "a", "d", "c", "e"])  # a:2 c:2, then e d b once each
    assert layer.get_vocabulary() == ["[UNK]", "c", "a", "e", "d", "b"]
    limited = StringLookup(max_tokens=3)
    limited.adapt(["b", "a", "c", "a", "d", "c", "e"])
    assert limited.get_vocabulary() == ["[UNK]", "c", "a"]


def test_adapt_never_learns_the_special_tokens():
    layer = StringLookup(mask_token="")
    layer.adapt([["x", "", "[UNK]"], ["x", "", "y"]])
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y"]


def test_several_oov_indices_hash_strings_stably_and_integers_by_floormod():
    layer = StringLookup(vocabulary=["a"], num_oov_indices=3)
    out = layer(["a", "zebra", "yak"])
    assert out[0] == 3
    assert out[1] == hash_token("zebra", 3, None) and out[2] == hash_token("yak", 3, None)
    ints = IntegerLookup(vocabulary=[5], num_oov_indices=3, mask_token=0)
    np.testing.assert_array_equal(ints([5, 0, 7, 9, -2]), [4, 0, 1 + 7 % 3, 1 + 9 % 3, 1 + (-2) % 3])


def test_num_oov_indices_zero_refuses_unknown_tokens():
    layer = StringLookup(vocabulary=["a", "b"], num_oov_indices=0)
    np.testing.assert_array_equal(layer(["b", "a"]), [1, 0])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layer(["c"])


def test_invert_maps_indices_back_and_unknown_to_the_oov_token():
    layer = StringLookup(vocabulary=["a", "b", "c"], invert=True)
    np.testing.assert_array_equal(layer([[1, 3], [0, 9]]), [["a", "c"], ["[UNK]", "[UNK]"]])
    masked = StringLookup(vocabulary=["a"], mask_token="", invert=True)
    np.testing.assert_array_equal(masked([0, 2, 1]), ["", "a", "[UNK]"])


def test_output_modes_one_hot_multi_hot_count():
    vocabulary = ["a", "b", "c"]
    one_hot = StringLookup(vocabulary=vocabulary, output_mode="one_hot")
    np.testing.assert_array_equal(one_hot(["a", "z"]), [[0, 1, 0, 0], [1, 0, 0, 0]])
    multi = StringLookup(vocabulary=vocabulary, output_mode="multi_hot")
    np.testing.assert_array_equal(multi([["a", "b", "a"], ["c", "z", "z"]]), [[0, 1, 1, 0], [1, 0, 0, 1]])
    count = StringLookup(vocabulary=vocabulary, output_mode="count")
    np.testing.assert_array_equal(count([["a", "b", "a"], ["c", "z", "z"]]), [[0, 2, 1, 0], [2, 0, 0, 1]])
    padded = StringLookup(vocabulary=vocabulary, output_mode="multi_hot", max_tokens=6, pad_to_max_tokens=True)
    assert padded([["a"]]).shape == (1, 6)


def test_mask_token_is_dropped_in_multi_hot():
    layer = StringLookup(vocabulary=["a", "b"], mask_token="", output_mode="multi_hot")
    assert layer.get_vocabulary() == ["[UNK]", "a", "b"]
    np.testing.assert_array_equal(layer([["a", "", ""]]), [[0, 1, 0]])


def test_tf_idf_weights_as_keras_computes_them():
    layer = StringLookup(output_mode="tf_idf")
    data = [["a", "a", "b"], ["a", "c", "c"], ["b", "b", "b"]]  # a: 3 times, 2 docs; b: 4, 2 docs; c: 2, 1 doc
    layer.adapt(data)
    assert layer.get_vocabulary() == ["[UNK]", "b", "a", "c"]
    idf_b = idf_a = math.log(1 + 3 / (1 + 2))
    idf_c = math.log(1 + 3 / (1 + 1))
    oov = (idf_b + idf_a + idf_c) / 3  # the OOV slot gets the mean weight
    out = layer([["a", "a", "c"], ["z", "b", "b"]])
    np.testing.assert_allclose(out, [[0, 0, 2 * idf_a, idf_c], [oov, 2 * idf_b, 0, 0]], rtol=1e-6)


def test_tf_idf_with_a_given_vocabulary_pads_the_specials_with_the_mean():
    layer = StringLookup(vocabulary=["x", "y"], idf_weights=[1.0, 3.0], output_mode="tf_idf")
    np.testing.assert_allclose(layer([["x", "q", "y", "y"]]), [[2.0, 1.0, 6.0]])


def test_set_vocabulary_accepts_the_special_tokens_at_the_start():
    layer = StringLookup(mask_token="")
    layer.set_vocabulary(["", "[UNK]", "p", "q"])
    assert layer.get_vocabulary() == ["", "[UNK]", "p", "q"]
    np.testing.assert_array_equal(layer(["q"]), [3])


@pytest.mark.parametrize("kwargs, match", [
    ({"vocabulary": ["a", "b", "a"]}, "repeated tokens"),
    ({"vocabulary": ["a", "", "b"], "mask_token": ""}, "mask_token"),
    ({"output_mode": "bag"}, "output_mode"),
    ({"vocabulary": ["a", "b", "c"], "max_tokens": 2}, "max_tokens"),
    ({"vocabulary": ["a"], "output_mode": "tf_idf"}, "idf_weights"),
    ({"num_oov_indices": -1}, "num_oov_indices"),
    ({"invert": True, "output_mode": "multi_hot"}, "invert"),
    ({"sparse": True}, "sparse"),
])
def test_bad_lookup_arguments_are_value_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StringLookup(**kwargs)


def test_adapt_errors_leave_the_vocabulary_unchanged():
    layer = StringLookup()
    layer.adapt(["a", "b", "b"])
    with pytest.raises(ValueError, match="empty"):
        layer.adapt([])
    assert layer.get_vocabulary() == ["[UNK]", "b", "a"]
    fixed = StringLookup(vocabulary=["a"])
    with pytest.raises(ValueError, match="cannot also be adapted"):
        fixed.adapt(["b"])
    assert fixed.get_vocabulary() == ["[UNK]", "a"]
    with pytest.raises(ValueError, match="repeated"):
        layer.set_vocabulary(["q", "q"])
    assert layer.get_vocabulary() == ["[UNK]", "b", "a"]


def test_string_lookup_refuses_numbers():
    with pytest.raises(TypeError, match="strings"):
        StringLookup(vocabulary=["a"])(np.array([1.0, 2.0]))


# --- IntegerLookup ---------------------------------------------------------------------------------
def test_integer_lookup_as_keras_documents_it():
    layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
    np.testing.assert_array_equal(layer([[12, 1138, 42], [42, 1000, 36]]), [[1, 3, 4], [4, 0, 2]])
    assert layer.get_vocabulary() == [-1, 12, 36, 1138, 42]
    # A model casts its inputs to float: whole-number floats are accepted.
    np.testing.assert_array_equal(layer(np.array([[12.0], [5.0]])), [[1], [0]])
    with pytest.raises(ValueError, match="integers"):
        layer(np.array([1.5]))


def test_integer_lookup_adapt_and_invert():
    layer = IntegerLookup()
    layer.adapt([3, 3, 1, 7, 7, 7, 2])
    assert layer.get_vocabulary() == [-1, 7, 3, 2, 1]
    inverse = IntegerLookup(vocabulary=layer.get_vocabulary(), invert=True)
    np.testing.assert_array_equal(inverse([1, 4, 0, 9]), [7, 1, -1, -1])


# --- TextVectorization ---------------------------------------------------------------------------
def test_text_vectorization_vocabulary_and_int_output():
    layer = TextVectorization(output_sequence_length=5)
    layer.adapt(DOCS)
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "sat", "cat", "on", "mat", "dog", "a"]
    out = layer(["The CAT", "zebra on mat, and dog hat!"])
    np.testing.assert_array_equal(out, [[2, 4, 0, 0, 0], [1, 5, 6, 1, 7]])
    assert out.dtype == np.int64


def test_int_output_without_a_length_pads_to_the_longest_string():
    layer = TextVectorization(vocabulary=["a", "b"])
    np.testing.assert_array_equal(layer(["a", "b a b", ""]), [[2, 0, 0], [3, 2, 3], [0, 0, 0]])


def test_standardize_and_split_options():
    assert TextVectorization(standardize="lower", vocabulary=["x"])._tokens("Hi, YOU") == ["hi,", "you"]
    assert TextVectorization(standardize="strip_punctuation", vocabulary=["x"])._tokens("Hi, YOU") == ["Hi", "YOU"]
    assert TextVectorization(standardize=None, split=None, vocabulary=["x"])._tokens("Hi, YOU") == ["Hi, YOU"]
    assert TextVectorization(split="character", vocabulary=["x"])._tokens("ab c") == ["a", "b", " ", "c"]
    layer = TextVectorization(standardize=lambda s: s.replace("-", " "), split=lambda s: s.split(" "),
                              vocabulary=["x"])
    assert layer._tokens("a-b c") == ["a", "b", "c"]


def test_ngrams_follow_the_single_tokens_grouped_by_size():
    layer = TextVectorization(ngrams=2, vocabulary=["x"])
    assert layer._tokens("a b c") == ["a", "b", "c", "a b", "b c"]
    assert TextVectorization(ngrams=(3,), vocabulary=["x"])._tokens("a b c d") == ["a b c", "b c d"]
    adapted = TextVectorization(ngrams=2)
    adapted.adapt(["a b", "a b", "b"])
    assert adapted.get_vocabulary() == ["", "[UNK]", "b", "a b", "a"]


def test_multi_hot_count_and_tf_idf_outputs():
    multi = TextVectorization(output_mode="multi_hot")
    multi.adapt(DOCS)
    assert multi.get_vocabulary()[:3] == ["[UNK]", "the", "sat"]  # no mask index in these modes
    np.testing.assert_array_equal(multi(["the the zebra"]), [[1, 1, 0, 0, 0, 0, 0, 0]])
    count = TextVectorization(output_mode="count", vocabulary=["the", "cat"])
    np.testing.assert_array_equal(count(["the the zebra cat", ""]), [[1, 2, 1], [0, 0, 0]])
    tfidf = TextVectorization(output_mode="tf_idf")
    tfidf.adapt(DOCS)
    the = math.log(1 + 3 / (1 + 2))  # "the" is in 2 of the 3 documents
    mat = math.log(1 + 3 / (1 + 1))
    out = tfidf(["the mat the"])
    vocab = tfidf.get_vocabulary()
    np.testing.assert_allclose(out[0, vocab.index("the")], 2 * the, rtol=1e-6)
    np.testing.assert_allclose(out[0, vocab.index("mat")], mat, rtol=1e-6)
    assert out.sum() == pytest.approx(2 * the + mat, rel=1e-6)


def test_text_vectorization_takes_lists_bytes_and_column_arrays():
    layer = TextVectorization(vocabulary=["hi"], output_sequence_length=2)
    expected = [[2, 1], [1, 0]]
    np.testing.assert_array_equal(layer(["hi there", "yo"]), expected)
    np.testing.assert_array_equal(layer(np.array([[b"hi there"], [b"yo"]])), expected)
    np.testing.assert_array_equal(layer(np.array(["hi there", "yo"], dtype=object)), expected)


@pytest.mark.parametrize("kwargs, match", [
    ({"output_mode": "words"}, "output_mode"),
    ({"standardize": "upper"}, "standardize"),
    ({"split": "comma"}, "split"),
    ({"ngrams": 0}, "ngrams"),
    ({"output_mode": "multi_hot", "output_sequence_length": 4}, "output_sequence_length"),
    ({"vocabulary": ["a", "a"]}, "repeated"),
    ({"ragged": True}, "ragged"),
])
def test_bad_text_vectorization_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TextVectorization(**kwargs)


def test_text_vectorization_adapt_errors():
    layer = TextVectorization()
    with pytest.raises(ValueError, match="empty"):
        layer.adapt([])
    with pytest.raises(ValueError, match="no tokens"):
        layer.adapt(["...", "!"])
    assert layer.get_vocabulary() == ["", "[UNK]"]
    with pytest.raises(TypeError, match="strings"):
        layer.adapt([1, 2])
    with pytest.raises(ValueError, match=r"\(batch,\) or \(batch, 1\)"):
        layer(np.array([["a", "b"]]))


def test_a_registered_standardize_function_round_trips_through_the_config():
    @register_text_function
    def no_digits(text):
        return "".join(c for c in text if not c.isdigit())

    layer = TextVectorization(standardize=no_digits, vocabulary=["ab"])
    config = layer.get_config()
    assert config["standardize"] == {"registered_function": "no_digits"}
    again = TextVectorization.from_config(config)
    np.testing.assert_array_equal(again(["a1b"]), [[2]])
    unregistered = TextVectorization(standardize=lambda s: s, vocabulary=["ab"]).get_config()
    with pytest.raises(ValueError, match="not registered"):
        TextVectorization.from_config(unregistered)


# --- Hashing -------------------------------------------------------------------------------------
def test_hashing_is_blake2b_modulo_bins_and_stable():
    import hashlib

    expected = int.from_bytes(hashlib.blake2b(b"cat", digest_size=8).digest(), "little") % 7
    layer = Hashing(7)
    assert layer(["cat"])[0] == expected
    np.testing.assert_array_equal(layer([["cat"], ["dog"]]), [[expected], [hash_token("dog", 7, None)]])
    # integers hash through their decimal strings; floats holding whole numbers too
    np.testing.assert_array_equal(layer([12, 5]), layer(["12", "5"]))
    np.testing.assert_array_equal(layer(np.array([12.0, 5.0])), layer(["12", "5"]))


def test_hashing_mask_value_salt_and_output_modes():
    masked = Hashing(5, mask_value="")
    out = masked(["", "a", "b"])
    assert out[0] == 0 and out[1] == 1 + hash_token("a", 4, None)
    salted = Hashing(1000, salt=[1, 2])
    unsalted = Hashing(1000)
    words = [f"w{i}" for i in range(20)]
    assert not np.array_equal(salted(words), unsalted(words))
    one_hot = Hashing(3, output_mode="one_hot")(["x"])
    assert one_hot.shape == (1, 3) and one_hot.sum() == 1
    with pytest.raises(ValueError, match="num_bins"):
        Hashing(0)
    with pytest.raises(ValueError, match="output_mode"):
        Hashing(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="salt"):
        Hashing(3, salt=[1])


# --- Discretization ------------------------------------------------------------------------------
def test_discretization_with_boundaries_as_keras_documents_it():
    layer = Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    np.testing.assert_array_equal(layer(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, -10.0, 1.5]])),
                                  [[0, 2, 3, 1], [1, 3, 0, 2]])
    one_hot = Discretization(bin_boundaries=[0.0], output_mode="one_hot")
    np.testing.assert_array_equal(one_hot(np.array([[-1.0], [2.0]])), [[1, 0], [0, 1]])


def test_discretization_adapt_takes_quantiles():
    layer = Discretization(num_bins=4, epsilon=0.01)
    layer.adapt(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, -10.0, 1.5]]))
    # 8 values, fewer than 1/epsilon: the summary is the sorted data, weight 1 each; boundaries at
    # the cumulative fractions 1/4, 2/4, 3/4 interpolated over (1/8, 2/8, ... 1).
    assert layer.bin_boundaries == pytest.approx([-1.5, 0.5, 1.5])
    big = Discretization(num_bins=4)
    big.adapt(np.arange(1000, dtype=float))
    assert big.bin_boundaries == pytest.approx([249.0, 499.0, 749.0], abs=1.0)


def test_discretization_errors():
    with pytest.raises(ValueError, match="bin_boundaries or num_bins"):
        Discretization()
    with pytest.raises(ValueError, match="sorted"):
        Discretization(bin_boundaries=[1.0, 0.0])
    with pytest.raises(ValueError, match="not both"):
        Discretization(bin_boundaries=[0.0], num_bins=2)
    layer = Discretization(num_bins=2)
    with pytest.raises(RuntimeError, match="adapt it first"):
        layer(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="empty"):
        layer.adapt(np.zeros((0, 3)))
    assert layer.bin_boundaries is None
    with pytest.raises(ValueError, match="was given bin_boundaries"):
        Discretization(bin_boundaries=[0.0]).adapt(np.ones((3, 1)))


def test_adapt_takes_generators_and_py_datasets_of_batches():
    from numnet.utils.dataset import PyDataset

    class Batches(PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return (np.array(DOCS[:2]) if i == 0 else np.array(DOCS[2:]), np.zeros(2))

    whole = TextVectorization()
    whole.adapt(DOCS)
    from_dataset = TextVectorization()
    from_dataset.adapt(Batches())
    from_generator = TextVectorization(output_mode="tf_idf")
    from_generator.adapt(iter([DOCS[:1], DOCS[1:]]))
    assert from_dataset.get_vocabulary() == whole.get_vocabulary()
    assert from_generator.get_vocabulary(include_special_tokens=False) == whole.get_vocabulary(False)
    lookup = IntegerLookup()
    lookup.adapt(b for b in ([1, 2, 2], [3, 3, 3]))
    assert lookup.get_vocabulary() == [-1, 3, 2, 1]
    bins = Discretization(num_bins=2)
    bins.adapt(iter([np.array([1.0, 2.0]), np.array([3.0, 4.0])]))
    assert bins.bin_boundaries == pytest.approx([2.0])


def test_invert_keeps_long_special_tokens_whole():
    layer = StringLookup(vocabulary=["a", "b"], mask_token="[MASK]", oov_token="[UNKNOWN]", invert=True)
    np.testing.assert_array_equal(layer([0, 1, 2, 7]), ["[MASK]", "[UNKNOWN]", "a", "[UNKNOWN]"])


def test_keras_documented_text_vectorization_example():
    # The example of Keras 3's TextVectorization docstring, with its printed values.
    layer = TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo", "bar", "baz"])
    np.testing.assert_array_equal(layer([["foo qux bar"], ["qux baz"]]), [[2, 1, 4, 0], [1, 3, 0, 0]])
    given = TextVectorization(max_tokens=5000, output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"])
    assert given.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
