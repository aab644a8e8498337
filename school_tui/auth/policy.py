"""The password policy: NIST SP 800-63B for a password that is the only factor.

- at least 15 characters, and up to 256 (more than the 64 the guideline asks to allow), each
  Unicode character counting as one; nothing is cut off or changed;
- no composition rules (no "one digit, one capital"), and paste is allowed: a long phrase of
  ordinary words is the easiest strong password to remember;
- not a common or breached password, nor built from words a guesser would try first for this
  person: `zxcvbn` ships a frequency list of 30,000 common passwords from breach corpora
  (plus English words, names and keyboard patterns) and estimates how many guesses a
  password takes with those lists and the person's own names, email and the school's name as
  extra words. Scores below 3 (fewer than about 10^8 guesses) are refused.

`check_password` returns None for an acceptable password, otherwise one message that names
the field and the rule, ready to show. zxcvbn's cost grows with length (about a second for
256 characters of a repeated pattern), so call it from a worker thread, not the UI thread.
"""

from __future__ import annotations

import re

MIN_LENGTH = 15
MAX_LENGTH = 256
MIN_SCORE = 3  # zxcvbn: 0..4; 3 means "safely unguessable" online (>= 10^8 guesses)
SCHOOL_WORDS = ("school", "school-tui", "schooltui")

RULES = (
    f"At least {MIN_LENGTH} characters (up to {MAX_LENGTH}); any characters, spaces too. "
    "A phrase of several unrelated words is easy to remember and hard to guess. "
    "Not a common password, and not built from your name, your email or the school's name."
)


def context_words(first_name: str = "", last_name: str = "", email: str = "") -> list[str]:
    """The words a guesser tries first for this person: names, email and its parts, school."""
    words = [first_name, last_name, f"{first_name}{last_name}", email]
    local, _, domain = email.partition("@")
    words.append(local)
    words += re.split(r"[._+\-]+", local)
    words += domain.split(".")[:-1]  # "demo.school" -> "demo" (the top level is no word)
    words += SCHOOL_WORDS
    seen: dict[str, None] = {}
    for word in words:
        word = word.strip().lower()
        if len(word) >= 2:
            seen.setdefault(word, None)
    return list(seen)


def check_password(
    password: str,
    *,
    field: str = "New password",
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> str | None:
    """None if `password` meets the policy, else a message naming `field` and the rule.
    Checked in the form it is derived in (NFKC), which is what the key is made from."""
    from school_tui.auth.passwords import normalise

    password = normalise(password)
    length = len(password)
    if length < MIN_LENGTH:
        return f"{field}: at least {MIN_LENGTH} characters (you typed {length})."
    if length > MAX_LENGTH:
        return f"{field}: at most {MAX_LENGTH} characters (you typed {length})."

    from zxcvbn import zxcvbn

    words = context_words(first_name, last_name, email)
    result = zxcvbn(password, user_inputs=words, max_length=MAX_LENGTH)
    personal = any(
        match.get("dictionary_name") == "user_inputs" for match in result.get("sequence", ())
    )
    if result["score"] >= MIN_SCORE:
        # zxcvbn counts a name as one cheap word, then pays for what surrounds it: "AdaReyes"
        # plus a year and a "!" passes. What is left without the person's words must be
        # strong on its own.
        if not _strong_without(password, words, zxcvbn):
            personal = True
        else:
            return None
    if personal:
        return (
            f"{field}: too easy to guess: it is built from your name, your email or the "
            "school's name. Use a phrase of other words."
        )
    warning = (result.get("feedback") or {}).get("warning") or ""
    because = f" ({warning.rstrip('.')})" if warning else ""
    return (
        f"{field}: too easy to guess{because}: it is, or is close to, a common password. "
        "Use a longer phrase of unrelated words."
    )


def _strong_without(password: str, words: list[str], zxcvbn) -> bool:
    lowered = password.lower()
    found = [word for word in words if len(word) >= 3 and word in lowered]
    if not found:
        return True
    for word in sorted(found, key=len, reverse=True):
        lowered = lowered.replace(word, "")
    lowered = re.sub(r"[\W_]+", "", lowered)  # what separated the words is no strength
    if not lowered:
        return False
    return zxcvbn(lowered, user_inputs=words, max_length=MAX_LENGTH)["score"] >= MIN_SCORE
