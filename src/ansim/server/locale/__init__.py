"""The pages' message catalogues: Korean (the default) and English, read from ``.po`` files.

The catalogues ship as ``<lang>/LC_MESSAGES/messages.po`` beside this module and are read at
run time with Babel (no compile step on a fresh machine). Message ids are the English text;
the English catalogue may leave a translation empty (the id is shown). ``babel.cfg`` beside
this module tells ``pybabel extract`` where the messages are (its comment has the commands).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from ansim.errors import InvalidSpecError

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "catalogue_path", "language", "translations"]

LANGUAGES = ("ko", "en")
"""The languages the pages speak, the default first."""
DEFAULT_LANGUAGE = LANGUAGES[0]
_HERE = Path(__file__).parent


def catalogue_path(lang: str) -> Path:
    """The ``.po`` file of a language.

    Example:
        >>> catalogue_path("ko").name
        'messages.po'
    """
    return _HERE / language(lang) / "LC_MESSAGES" / "messages.po"


def language(value: str | None) -> str:
    """The language named, or the default for none.

    Raises:
        InvalidSpecError: A language the pages do not speak.

    Example:
        >>> language(None), language("en")
        ('ko', 'en')
    """
    if value is None or value == "":
        return DEFAULT_LANGUAGE
    if value not in LANGUAGES:
        raise InvalidSpecError(f"unknown language; the pages speak {', '.join(LANGUAGES)}")
    return value


@functools.cache
def translations(lang: str) -> Translations:
    """The gettext translations of a language, read once from its ``.po`` catalogue.

    Example:
        >>> translations("ko").gettext("Log in")
        '로그인'
        >>> translations("en").gettext("Log in")
        'Log in'
    """
    path = catalogue_path(lang)
    with path.open("rb") as source:
        catalog = read_po(source, locale=lang, domain="messages")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain="messages")
