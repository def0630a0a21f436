"""The search SQL. Every statement carries the caller's ACL predicate, so a chunk the caller may not
read is never a candidate: it cannot be returned, counted, highlighted, or shift another chunk's rank.

Filters arrive as fixed fragments with placeholders (retrieval.filters); nothing here formats a
caller's value into SQL text.
"""

import functools
import time
from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations

from django.db import connection, transaction

ACL = "acl_principals && %s::varchar[]"
MAX_QUERY_STEMS = 6
MATCH_STEMS = 5
MAX_RANKED = 500
FEW_VISIBLE = 1000
MIN_EF_SEARCH = 100

# The caller's words as English stems (the same analysis the stored search vectors had).
LEXEMES = "SELECT tsvector_to_array(to_tsvector('english', %s))"
# For highlights: any of those stems.
TSQUERY = (
    "(SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery"
    " FROM unnest(tsvector_to_array(to_tsvector('english', %s))) AS lexeme"
    " WHERE position(chr(92) in lexeme) = 0)"
)

DENSE = """
SELECT id::text, distance FROM (
    SELECT id, embedding <=> %s::vector AS distance
    FROM retrieval_chunk
    WHERE embedding_model = %s AND {acl}{filters}
    ORDER BY embedding <=> %s::vector
    LIMIT %s
) AS nearest
ORDER BY distance, id
"""

DENSE_EXACT = """
SELECT id::text, distance FROM (
    SELECT id, (embedding <=> %s::vector) + 0 AS distance
    FROM retrieval_chunk
    WHERE embedding_model = %s AND {acl}{filters}
    ORDER BY 2
    LIMIT %s
) AS nearest
ORDER BY distance, id
"""

LEXICAL = """
SELECT id::text, ts_rank_cd(search_vector, %s::tsquery, 1) AS score,
       (SELECT count(*) FROM unnest(%s::tsquery[]) AS stem WHERE search_vector @@ stem) AS matched
FROM (
    SELECT id, search_vector || ''::tsvector AS search_vector FROM retrieval_chunk
    WHERE {match} AND embedding_model = %s AND {acl}{filters}
    LIMIT %s
) AS matching
ORDER BY matched DESC, score DESC, id
LIMIT %s
"""
# Through the text's GIN index; or, for a caller who sees few rows, over just those rows (the
# expression is not indexable, so the ACL's index is used and no posting list is read).
MATCH_INDEXED = "search_vector @@ %s::tsquery"
MATCH_VISIBLE = "(search_vector || ''::tsvector) @@ %s::tsquery"

VISIBLE = """
SELECT count(*) FROM (
    SELECT 1 FROM retrieval_chunk WHERE embedding_model = %s AND {acl}{filters} LIMIT %s
) AS visible
"""

PASSAGES = """
SELECT id::text AS id, document_id::text AS document_id, version, ordinal, page, section, text, metadata,
       token_count, safety_flags{embedding}
FROM retrieval_chunk
WHERE id = ANY(%s::uuid[]) AND {acl}
"""

HIGHLIGHTS = """
SELECT chunk.id::text, ts_headline('english', chunk.text, query.q, %s)
FROM retrieval_chunk AS chunk, {tsquery} AS query(q)
WHERE chunk.id = ANY(%s::uuid[]) AND query.q IS NOT NULL AND {acl}
"""

MARK_START, MARK_END = "\x02", "\x03"
HEADLINE_OPTIONS = f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=35, MinWords=15, MaxFragments=2'


def vector_literal(vector) -> str:
    return "[" + ",".join(f"{float(value):.7g}" for value in vector) + "]"


@contextmanager
def search_transaction(*, ef_search: int, max_scan_tuples: int):
    """A read transaction with pgvector's iterative HNSW scan on: when the ACL or a filter rejects
    most neighbours, the scan goes on past ef_search until enough visible rows are found.

    Sequential scans are off: the planner underestimates evaluating a many-clause tsquery on every
    row, and each search predicate has an index (HNSW, GIN on the text, GIN on the ACL)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
            " set_config('enable_seqscan', 'off', true),"
            " set_config('hnsw.ef_search', %s, true), set_config('hnsw.max_scan_tuples', %s, true)",
            [str(ef_search), str(max_scan_tuples)],
        )
        yield cursor


def timed(cursor, sql: str, params: list) -> tuple[list, float]:
    started = time.perf_counter()
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    return rows, (time.perf_counter() - started) * 1000


def dense_candidates(cursor, *, vector: str, model: str, principals, filters, limit: int, exact: bool = False):
    clause, params = filters.sql()
    if exact:
        sql = DENSE_EXACT.format(acl=ACL, filters=clause)
        return timed(cursor, sql, [vector, model, principals, *params, limit])
    sql = DENSE.format(acl=ACL, filters=clause)
    return timed(cursor, sql, [vector, model, principals, *params, vector, limit])


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class LexicalQuery:
    stems: list[str]  # each a one-stem tsquery
    any_stem: str
    levels: list[str]  # tsqueries to try, strictest first


def lexical_query(lexemes: list[str]) -> LexicalQuery | None:
    """The query's stems as tsqueries: its MAX_QUERY_STEMS longest (longer words are rarer, as a rule)
    for ranking, its MATCH_STEMS longest for narrowing.

    Rows are ordered by how many of the stems they hold, then by cover density. An OR of a
    question's stems matches most of a large tenant, so first only rows holding at least three
    quarters, then half of the narrowing stems are tried: when those give half a pool or more, the
    best rows are among them as a rule, and the GIN index has done the narrowing.
    """
    by_length = sorted(set(lexemes), key=lambda stem: (-len(stem), stem))
    stems = [_quoted(stem) for stem in sorted(by_length[:MAX_QUERY_STEMS])]
    if not stems:
        return None
    narrowing = [_quoted(stem) for stem in sorted(by_length[:MATCH_STEMS])]
    any_stem = " | ".join(stems)
    levels = []
    for needed in sorted({-(-len(narrowing) * 3 // 4), -(-len(narrowing) // 2)} - {1}, reverse=True):
        levels.append(" | ".join(f"({' & '.join(group)})" for group in combinations(narrowing, needed)))
    return LexicalQuery(stems=stems, any_stem=any_stem, levels=[*levels, any_stem])


def lexical_candidates(cursor, *, text: str, model: str, principals, filters, limit: int):
    """Full-text matches, most stems held first.

    A caller who sees at most FEW_VISIBLE rows gets all of them checked directly. Otherwise the
    levels of lexical_query go through the GIN index, and at most MAX_RANKED matching rows (all
    visible to the caller) are ranked per level. Both give the same order when nothing is capped
    (the indexed path may stop before the rows holding fewer stems); which one runs depends only
    on rows the caller may read."""
    started = time.perf_counter()
    cursor.execute(LEXEMES, [text])
    query = lexical_query(cursor.fetchone()[0] or [])
    if query is None:
        return [], (time.perf_counter() - started) * 1000
    clause, params = filters.sql()
    cursor.execute(VISIBLE.format(acl=ACL, filters=clause), [model, principals, *params, FEW_VISIBLE + 1])
    if cursor.fetchone()[0] <= FEW_VISIBLE:
        match, levels, cap = MATCH_VISIBLE, [query.any_stem], FEW_VISIBLE
    else:
        match, levels, cap = MATCH_INDEXED, query.levels, MAX_RANKED
    sql = LEXICAL.format(match=match, acl=ACL, filters=clause)
    rows = []
    for level in levels:
        cursor.execute(sql, [query.any_stem, query.stems, level, model, principals, *params, cap, limit])
        rows = [(chunk_id, score) for chunk_id, score, _matched in cursor.fetchall()]
        if len(rows) >= limit // 2:
            break  # enough strong matches; looser levels would only add rows holding fewer stems
    return rows, (time.perf_counter() - started) * 1000


@functools.cache
def _row_type(columns: tuple[str, ...]) -> type:
    return namedtuple("Row", columns)  # made once per column list, not on every search


def _named_rows(cursor) -> list:
    """The fetched rows as named tuples, named by the statement's own columns."""
    row = _row_type(tuple(column.name for column in cursor.description))
    return [row(*values) for values in cursor.fetchall()]


def passages(cursor, *, ids: list[str], principals, with_embedding: bool = False) -> dict[str, tuple]:
    """Rows of PASSAGES by chunk id, named as its columns (`embedding` only when asked for)."""
    sql = PASSAGES.format(embedding=", embedding::real[] AS embedding" if with_embedding else "", acl=ACL)
    cursor.execute(sql, [ids, principals])
    return {row.id: row for row in _named_rows(cursor)}


def highlights(cursor, *, ids: list[str], text: str, principals) -> dict[str, str]:
    if not ids:
        return {}
    cursor.execute(HIGHLIGHTS.format(tsquery=TSQUERY, acl=ACL), [HEADLINE_OPTIONS, text, ids, principals])
    return dict(cursor.fetchall())
