"""clean_path: the one boundary check for client-supplied artifact paths."""

from __future__ import annotations

import pytest

from modelyard.artifacts.paths import MAX_PATH_LENGTH, PARTIAL_DIR, clean_path, join_path
from modelyard.errors import InvalidArgument

VALID = [
    "a",
    "model.pkl",
    "dir/sub/file.txt",
    "1/0123abcd/artifacts/plots/loss curve.png",
    "unicodé/データ.bin",
    ".hidden",
    "..more",  # a name starting with dots is not a '..' segment
    "a.../b",
    "x" * MAX_PATH_LENGTH,
    "dir/C/file",
    "run:1/ab:c",  # a colon after more than one character is not a drive letter
    f"{PARTIAL_DIR}x/f",
]

INVALID = [
    # category, value, a fragment the message must contain besides the value
    ("dotdot", "..", "'..' segment"),
    ("dotdot", "../etc/passwd", "'..' segment"),
    ("dotdot", "a/../../b", "'..' segment"),
    ("dotdot", "a/..", "'..' segment"),
    ("dot", "./a", "'.' segment"),
    ("dot", "a/./b", "'.' segment"),
    ("absolute", "/etc/passwd", "absolute"),
    ("absolute", "/", "absolute"),
    ("drive", "C:", "drive letter"),
    ("drive", "C:/Windows/x", "drive letter"),
    ("drive", "c:file", "drive letter"),
    ("drive", "a/D:/b", "drive letter"),
    ("drive", "a:b", "drive letter"),
    ("backslash", "a\\b", "backslash"),
    ("backslash", "..\\..\\etc", "backslash"),
    ("backslash", "\\\\server\\share", "backslash"),
    ("percent", "%2e%2e/etc", "'%'"),
    ("percent", "a%2fb", "'%'"),
    ("percent", "%252f", "'%'"),
    ("percent", "%252e%252e/x", "'%'"),
    ("percent", "100%", "'%'"),
    ("semicolon", "a;b", "';'"),
    ("semicolon", "file.txt;jsessionid=1", "';'"),
    ("semicolon", "..;/x", "';'"),
    ("nul", "a\x00b", "control character"),
    ("nul", "file.txt\x00.png", "control character"),
    ("control", "a\nb", "control character"),
    ("control", "a\rb", "control character"),
    ("control", "tab\there", "control character"),
    ("control", "del\x7f", "control character"),
    ("control", "c1\x85", "control character"),
    ("control", "esc\x1b[31m", "control character"),
    ("empty-segment", "a//b", "empty segment"),
    ("empty-segment", "a/", "empty segment"),
    ("empty-segment", "dir/sub/", "empty segment"),
    ("reserved", PARTIAL_DIR, "reserved"),
    ("reserved", f"{PARTIAL_DIR}/x.part", "reserved"),
    ("reserved", f"a/{PARTIAL_DIR}/b", "reserved"),
]


@pytest.mark.parametrize("path", VALID)
def test_valid_paths_are_returned_unchanged(path: str) -> None:
    assert clean_path(path) == path


@pytest.mark.parametrize(
    ("category", "path", "why"), INVALID, ids=[f"{c}:{p!r}" for c, p, _ in INVALID]
)
def test_invalid_paths_name_the_value(category: str, path: str, why: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        clean_path(path)
    message = str(info.value)
    assert repr(path) in message, message
    assert why in message, message
    assert info.value.details["path"] == path


def test_every_category_is_covered() -> None:
    categories = {c for c, _, _ in INVALID}
    assert categories >= {
        "dotdot",
        "absolute",
        "drive",
        "backslash",
        "percent",
        "semicolon",
        "nul",
        "control",
        "empty-segment",
        "reserved",
    }


def test_empty_path() -> None:
    with pytest.raises(InvalidArgument, match="must not be empty"):
        clean_path("")
    assert clean_path("", allow_empty=True) == ""


def test_too_long_path_names_its_start_and_length() -> None:
    path = "d/" * 600 + "f"
    with pytest.raises(InvalidArgument) as info:
        clean_path(path)
    message = str(info.value)
    assert f"longer than {MAX_PATH_LENGTH}" in message
    assert f"({len(path)})" in message
    assert repr(path[:80] + "...") in message


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="must be a string"):
        clean_path(b"a/b")  # type: ignore[arg-type]


def test_join_path() -> None:
    assert join_path("1", "abc/artifacts", "model.pkl") == "1/abc/artifacts/model.pkl"
    assert join_path("", "a", "") == "a"
    assert join_path() == ""
    with pytest.raises(InvalidArgument, match=r"'\.\.' segment"):
        join_path("a", "..", "b")
    with pytest.raises(InvalidArgument, match="empty segment"):
        join_path("a/", "b")
