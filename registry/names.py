"""Names compared as identities (SPEC R-R5, RMS 8.9.1.3).

A product claim's cap is per (beneficiary, product, reporting year); if two
spellings that look the same counted as different names, renaming would dodge
the cap. So every name a rule compares (participant names, beneficiaries,
products, lot references) goes through two functions:

- `check_name(field, text)` refuses a name a reader cannot tell apart from
  another one: invisible or bidirectional control characters, and a word
  that mixes scripts (UTS #39's *highly restrictive* level). It returns the
  name as stored and shown: as entered, surrounding white space stripped.
- `identity_key(text)` is what two names are compared by: NFKC, case folded,
  white space collapsed. "Société Générale", "SOCIÉTÉ GÉNÉRALE",
  "Société  Générale", "Ｓｏｃｉéｔé Ｇéｎéｒａｌｅ" and "Acme\u00a0Foods" vs
  "Acme Foods" give one key each. The key is stored next to the name
  (``retirement.beneficiary_key``, ``…product_key``) so searches and caps
  compare the same way on SQLite and PostgreSQL.

Pure standard library: the script of a letter is read from its Unicode name
(``CYRILLIC CAPITAL LETTER A`` -> Cyrillic), which is exact for the letters
NFKC leaves (it folds fullwidth, mathematical and other compatibility forms
into their ordinary letters first).
"""

from __future__ import annotations

import unicodedata

from registry.errors import InvalidInput

RULE = "R-R5"
CODE = "name_not_allowed"
# The stored key's column length (retirement.beneficiary_key, product_key):
# twice the longest name the API takes (200), room for "ß" -> "ss"; only a
# name of compatibility ligatures ("ﬃ" -> "ffi") can exceed it, and is refused.
MAX_KEY_LENGTH = 400

# Default-ignorable code points that are not format (Cf) characters: drawn as
# nothing, so a name containing one looks like the name without it.
_IGNORABLE = frozenset(
    ["\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u3164", "\uffa0"]  # CGJ, Hangul fillers, Khmer
    + [chr(c) for c in range(0x180B, 0x1810)]  # Mongolian variation selectors (U+180E is Cf)
    + [chr(c) for c in range(0xFE00, 0xFE10)]  # variation selectors
    + [chr(c) for c in range(0xE0100, 0xE01F0)]  # variation selectors supplement
)

# Character categories refused in a name: controls (Cc, tab and newline
# included: a name is one line), format characters (Cf: zero-width spaces and
# joiners, bidirectional controls such as U+202E, soft hyphen, tags),
# surrogates, private use and unassigned code points, line and paragraph
# separators. Space separators (Zs, e.g. U+00A0) are white space: allowed,
# NFKC turns them into ordinary spaces in the key.
_REFUSED_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))

# UTS #39 highly restrictive: one script per word, or Latin with the scripts
# of Japanese, Chinese or Korean writing.
_ALLOWED_MIXES = (
    frozenset(("LATIN", "HAN", "HIRAGANA", "KATAKANA")),
    frozenset(("LATIN", "HAN", "BOPOMOFO")),
    frozenset(("LATIN", "HAN", "HANGUL")),
)
# Unicode name prefixes that are not the script's name.
_SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN"}
_COMMON_PREFIXES = frozenset(("MODIFIER", "KATAKANA-HIRAGANA"))  # shared by several scripts


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in _IGNORABLE


def identity_key(text: str) -> str:
    """The key two names are compared by (R-R5): NFKC, invisible characters
    dropped (as Unicode's NFKC_Casefold does, so a name stored before the
    rule still meets its look-alike), case folded (NFKC again, since folding
    can denormalise), white space runs made one space, ends stripped."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or not _invisible(ch))
    text = unicodedata.normalize("NFKC", text.casefold())
    return " ".join(text.split())


def script_of(ch: str) -> str | None:
    """The script of a letter from its Unicode name ('LATIN', 'CYRILLIC',
    'GREEK', 'HAN', ...); None for anything else (digits, punctuation,
    combining marks and letters shared by scripts are 'Common' or
    'Inherited' and mix with any script)."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    prefix = unicodedata.name(ch, "").split(" ", 1)[0]
    if not prefix or prefix in _COMMON_PREFIXES:
        return None
    return _SCRIPT_ALIASES.get(prefix, prefix)


def _mixes_scripts(word: str) -> set[str] | None:
    scripts = {s for s in map(script_of, word) if s is not None}
    if len(scripts) <= 1 or any(scripts <= allowed for allowed in _ALLOWED_MIXES):
        return None
    return scripts


def check_name(field: str, text: str) -> str:
    """R-R5: refuse a name with invisible or bidirectional control
    characters, or with a word that mixes scripts; return it stripped.

    Raises InvalidInput ``name_not_allowed`` naming ``field``. Emptiness is
    the caller's to judge (each has its own ``…_required`` code)."""
    text = text.strip()
    for ch in text:
        if _invisible(ch):
            raise InvalidInput(
                f"{field} contains the invisible or control character U+{ord(ch):04X} "
                f"({unicodedata.name(ch, unicodedata.category(ch))}): it would look like another name",
                field=field, code=CODE, rule=RULE)
    for word in unicodedata.normalize("NFKC", text).split():
        scripts = _mixes_scripts(word)
        if scripts:
            raise InvalidInput(
                f"{field}: the word {word!r} mixes the {' and '.join(sorted(s.title() for s in scripts))} "
                f"scripts, so it could pass for another name",
                field=field, code=CODE, rule=RULE)
    if len(identity_key(text)) > MAX_KEY_LENGTH:
        raise InvalidInput(f"{field} is longer than {MAX_KEY_LENGTH} characters once normalised (NFKC)",
                           field=field, code=CODE, rule=RULE)
    return text
