"""Each core error arrives as the right Python exception, with its attributes."""

from __future__ import annotations

import pickle

import pytest

import vedette
from vedette.exceptions import FeedError, IndexFormatError, IndicatorError, VedetteError


def test_bad_value_names_value_and_kind() -> None:
    with pytest.raises(IndicatorError) as info:
        vedette.IndexBuilder().add("010.1.1.1")
    assert info.value.value == "010.1.1.1"
    assert info.value.kind == "ipv4"
    assert isinstance(info.value, ValueError) and isinstance(info.value, VedetteError)
    with pytest.raises(IndicatorError) as info:
        vedette.IndexBuilder().add("abc", kind="md5")
    assert info.value.kind == "md5"


def test_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(ValueError, match="ipv4, ipv6"):
        vedette.IndexBuilder().add("x", kind="ip")


def test_strict_load_raises_feed_error_with_line() -> None:
    with pytest.raises(FeedError) as info:
        vedette.IndexBuilder().load(b"1.2.3.4\n1.2.3.0/33\n", strict=True)
    assert info.value.line == 2
    assert info.value.source == "<bytes>"
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.line, again.source, str(again)) == (2, "<bytes>", str(info.value))


def test_missing_feed_file_is_os_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        vedette.IndexBuilder().load(tmp_path / "absent.txt")


def test_corrupt_index_is_index_format_error() -> None:
    with pytest.raises(IndexFormatError) as info:
        vedette.Index.from_bytes(b"not an index at all")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value.offset, int)


def test_bad_arguments_are_type_or_value_errors() -> None:
    index = vedette.compile(["1.2.3.4"])
    with pytest.raises(TypeError):
        index.find(12)  # type: ignore[arg-type]
    with pytest.raises(IndicatorError, match="confidence is 101, more than 100") as info:
        vedette.IndexBuilder().add("1.2.3.4", confidence=101)
    assert isinstance(info.value, ValueError) and info.value.value == "1.2.3.4"
    with pytest.raises(ValueError):
        vedette.IndexBuilder().add("1.2.3.4", tlp="purple")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        index.find("1.2.3.4", at="yesterday")


@pytest.mark.parametrize(
    "at",
    [float("nan"), float("inf"), -float("inf"), 1e300, -1e12],
    ids=["nan", "inf", "-inf", "huge", "before-year-1"],
)
def test_times_that_are_no_times_are_refused(at: float) -> None:
    index = vedette.compile(["evil.example"])
    with pytest.raises(ValueError, match="not Unix seconds"):
        index.find("evil.example", at=at)
    with pytest.raises(ValueError, match="not Unix seconds"):
        vedette.IndexBuilder().add("evil.example", valid_until=at)
