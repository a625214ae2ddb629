"""The free-text search's index on PostgreSQL: the character bigrams of a petition's title, content and location.

A search for a text (`admin_web.views.search`) matches petitions whose title, content or location contains it,
case-insensitively (ILIKE '%…%'): no B-tree can answer that, and over a million petitions the scan takes a second.
A trigram index (pg_trgm) cannot either for the words people search for: most Chinese words are two characters, of
which pg_trgm extracts no trigram. So the index holds every pair of adjacent characters (bigram) of the lower-cased
text, in a GIN index over an array; a text of two characters or more is first looked up there (every bigram of it
must be among the petition's: the petitions containing it are among those) and the ILIKE then decides, so the result
is exactly the ILIKE's. SQLite keeps the plain scan (its databases are a few hundred thousand petitions at most).

The function and the index are created by the migration on PostgreSQL and, for schemas made from the models
(`Base.metadata.create_all`, the tests), by the DDL events below; they are not in the models' metadata, so the
migration check leaves them out of its comparison (`DATABASE_ONLY_INDEXES`).
"""

from __future__ import annotations

from sqlalchemy import DDL, ColumnElement, event, func
from sqlalchemy.dialects.postgresql import array

from models.petition import Petition

BIGRAMS_FUNCTION = "qingsu_text_bigrams"
TEXT_INDEX = "ix_petition_text_bigrams"
# Indexes the database has that the models do not declare (the migration check skips them).
DATABASE_ONLY_INDEXES = frozenset({TEXT_INDEX})
# Splits the pairs of characters apart: a control character no petition text holds (a bigram containing it would
# only be left out of the index, and a search for it falls back to the scan).
SEPARATOR = "\x1f"

# Every bigram of s = the pairs at odd offsets plus the pairs at even offsets (a single last character or an empty
# string may come along; they do no harm). regexp_replace and string_to_array rather than a loop: ten times faster.
_TEXT = "lower(title || ' ' || content || ' ' || location)"
CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {BIGRAMS_FUNCTION}(title text, content text, location text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_remove(
        string_to_array(regexp_replace({_TEXT}, '(..)', E'\\\\1\\x1f', 'g'), E'\\x1f')
        || string_to_array(regexp_replace(substr({_TEXT}, 2), '(..)', E'\\\\1\\x1f', 'g'), E'\\x1f'),
        '')
$$
"""
CREATE_INDEX = (
    f"CREATE INDEX {TEXT_INDEX} ON petition USING gin ({BIGRAMS_FUNCTION}(title, content, location))"
)
DROP_FUNCTION = f"DROP FUNCTION IF EXISTS {BIGRAMS_FUNCTION}(text, text, text)"


def compared(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name`: whether the migration check compares this object (not the database-only
    indexes)."""
    return not (type_ == "index" and name in DATABASE_ONLY_INDEXES)


def bigrams(text: str) -> list[str]:
    """The distinct pairs of adjacent characters of `text` the index can hold (none with the separator)."""
    pairs = (text[i : i + 2] for i in range(len(text) - 1))
    return sorted({pair for pair in pairs if SEPARATOR not in pair})


def text_prefilter(text: str) -> ColumnElement[bool] | None:
    """On PostgreSQL, the indexed condition every petition whose title, content or location contains `text`
    (case-insensitively) meets, to AND with the ILIKE; None when `text` has no bigram to look up."""
    pairs = bigrams(text)
    if not pairs:
        return None
    lowered = array([func.lower(pair) for pair in pairs])
    return getattr(func, BIGRAMS_FUNCTION)(Petition.title, Petition.content, Petition.location).op("@>")(
        lowered
    )


for _event, _statement in (
    ("before_create", CREATE_FUNCTION),
    ("after_create", CREATE_INDEX),
    ("after_drop", DROP_FUNCTION),
):
    event.listen(Petition.__table__, _event, DDL(_statement).execute_if(dialect="postgresql"))
