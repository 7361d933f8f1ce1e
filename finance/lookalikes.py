"""Names that look like another name: Greek or Cyrillic letters inside a Latin name, and invisible characters.

"ΑCME Hosting" with a Greek capital alpha reads exactly like the registered "ACME Hosting" and is a different
string; a zero-width space or a direction override hides inside a name the same way. The registry compares names
on their skeleton (each letter mapped to the Latin letter it looks like, from the Unicode confusables data of
UTS #39), so a look-alike is recognised as the name it imitates; and a name that needs such mapping is itself
a warning, reported so that a person sees it before anything is paid.
"""

from __future__ import annotations

import unicodedata

from confusable_homoglyphs import categories, confusables

# Direction overrides, embeddings and isolates reorder what a reader sees.
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C))
_SCRIPTS_OF_NO_CONCERN = frozenset({"COMMON", "INHERITED"})  # digits, punctuation, combining accents
# A vendor name is short; a longer value is not a name, and mapping it character by character would cost time.
_MAX_NAME = 200


def _invisible(ch: str) -> bool:
    # Format characters (zero-width space and joiners, soft hyphen, bidi controls) print as nothing.
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) == "Cf"


def skeleton(name: str) -> str:
    """The name as it looks: invisible characters removed, and each letter of another script that has a Latin
    look-alike replaced by it ("Аcme" with a Cyrillic А becomes "Acme"). Latin names are unchanged."""
    name = "".join(ch for ch in name[:_MAX_NAME] if not _invisible(ch))
    if name.isascii():
        return name
    found = confusables.is_confusable(name, greedy=True, preferred_aliases=["latin"]) or []
    latin = {
        entry["character"]: entry["homoglyphs"][0]["c"]
        for entry in found
        if entry["alias"] not in ("LATIN", *_SCRIPTS_OF_NO_CONCERN) and entry["homoglyphs"]
    }
    return "".join(latin.get(ch, ch) for ch in name)


def _scripts(name: str) -> set[str]:
    return {categories.alias(ch) for ch in name if ch.isalpha()} - _SCRIPTS_OF_NO_CONCERN


def lookalike_problem(name: str | None) -> str | None:
    """Why a printed name may be imitating another, or None: invisible or direction-control characters in it,
    or letters of two scripts (a Greek 'Α' in a Latin name). A name written wholly in one script is fine."""
    if not name:
        return None
    name = name[:_MAX_NAME]
    hidden = sorted({f"U+{ord(ch):04X}" for ch in name if _invisible(ch)})
    if hidden:
        return f"the name {name!r} carries invisible or direction-control characters ({', '.join(hidden)})"
    if name.isascii():
        return None
    scripts = _scripts(name)
    if len(scripts) > 1:
        looks_like = skeleton(name)
        return f"the name {name!r} mixes {' and '.join(sorted(s.title() for s in scripts))} letters" + (
            f" and reads like {looks_like!r}" if looks_like != name else ""
        )
    return None
