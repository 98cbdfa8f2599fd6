"""Generated run names: "adjective-noun-NNN", at most 20 characters."""

from __future__ import annotations

import random
import re

from modelyard.registry.names import (
    ADJECTIVES,
    MAX_RUN_NAME_LENGTH,
    NOUNS,
    generate_run_name,
)

NAME_RE = re.compile(r"^[a-z]+-[a-z]+-\d{1,3}$")


def test_shape_and_length() -> None:
    rng = random.Random(0)
    for _ in range(2000):
        name = generate_run_name(rng)
        assert NAME_RE.match(name), name
        assert len(name) <= MAX_RUN_NAME_LENGTH
        adjective, noun, number = name.split("-")
        assert adjective in ADJECTIVES
        assert noun in NOUNS
        assert 0 <= int(number) <= 999


def test_every_combination_fits() -> None:
    longest = max(map(len, ADJECTIVES)) + max(map(len, NOUNS)) + len("--999")
    assert longest <= MAX_RUN_NAME_LENGTH


def test_word_lists_are_clean() -> None:
    for words in (ADJECTIVES, NOUNS):
        assert len(set(words)) == len(words)
        assert all(w.isalpha() and w.islower() for w in words)


def test_names_vary() -> None:
    names = {generate_run_name() for _ in range(200)}
    assert len(names) > 150


def test_seeded_generator_is_reproducible() -> None:
    assert generate_run_name(random.Random(42)) == generate_run_name(random.Random(42))
