"""Generated run names: "adjective-noun-NNN", at most 20 characters."""

from __future__ import annotations

import random

MAX_RUN_NAME_LENGTH = 20

# Adjectives and nouns of at most 7 letters, so "adj-noun-999" fits in 20.
ADJECTIVES: tuple[str, ...] = (
    "able", "agile", "amber", "ample", "aqua", "bold", "brave", "brisk", "bright", "calm",
    "candid", "casual", "clever", "cosmic", "crisp", "curious", "daring", "dapper", "deft",
    "eager", "early", "earnest", "easy", "elegant", "epic", "fair", "fancy", "fast", "festive",
    "fine", "fluent", "fond", "fresh", "gentle", "giddy", "glad", "golden", "grand", "happy",
    "hardy", "honest", "humble", "jolly", "jovial", "keen", "kind", "lively", "loyal", "lucid",
    "lucky", "mellow", "merry", "mighty", "modest", "neat", "nimble", "noble", "patient",
    "placid", "plucky", "polite", "proud", "quick", "quiet", "rapid", "ready", "regal", "robust",
    "rosy", "rustic", "serene", "sharp", "shiny", "silent", "silver", "sincere", "sleek",
    "smart", "snappy", "solid", "sunny", "superb", "swift", "tidy", "tender", "trusty",
    "upbeat", "valiant", "vast", "vivid", "warm", "wise", "witty", "zany", "zesty",
)  # fmt: skip

NOUNS: tuple[str, ...] = (
    "ant", "badger", "bat", "bear", "bee", "bison", "boar", "carp", "cat", "cheetah", "cod",
    "colt", "crab", "crane", "crow", "deer", "doe", "dove", "duck", "eagle", "eel", "elk",
    "falcon", "ferret", "finch", "fox", "frog", "gazelle", "gnu", "goat", "goose", "grouse",
    "gull", "hare", "hawk", "hen", "heron", "horse", "hound", "ibis", "jay", "koala", "lark",
    "lemur", "lion", "lynx", "mink", "mole", "moose", "moth", "mouse", "newt", "otter", "owl",
    "panda", "parrot", "pig", "pony", "puma", "quail", "rabbit", "ram", "raven", "robin",
    "salmon", "seal", "shark", "sheep", "shrew", "skink", "sloth", "snail", "sparrow", "squid",
    "stag", "stork", "swan", "tapir", "tern", "tiger", "toad", "trout", "turtle", "vole",
    "wasp", "whale", "wolf", "wombat", "wren", "yak", "zebra",
)  # fmt: skip


def generate_run_name(rng: random.Random | None = None) -> str:
    """A random "adjective-noun-NNN" name of at most 20 characters (NNN is 0-999)."""
    pick = rng or random
    while True:
        name = f"{pick.choice(ADJECTIVES)}-{pick.choice(NOUNS)}-{pick.randint(0, 999)}"
        if len(name) <= MAX_RUN_NAME_LENGTH:
            return name
