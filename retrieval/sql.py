"""The search SQL. Every statement carries the caller's ACL predicate, so a chunk the caller may not
read is never a candidate: it cannot be returned, counted, highlighted, or shift another chunk's rank.

Filters arrive as fixed fragments with placeholders (retrieval.filters); nothing here formats a
caller's value into SQL text.
"""

import time
from contextlib import contextmanager

from django.db import connection, transaction

ACL = "acl_principals && %s::varchar[]"

# The caller's words as an OR of their English stems, so a chunk matching some of a natural-language
# question's terms still counts (an AND of every word rarely matches a whole question).
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
SELECT chunk.id::text, ts_rank_cd(chunk.search_vector, query.q, 1) AS score
FROM retrieval_chunk AS chunk, {tsquery} AS query(q)
WHERE chunk.search_vector @@ query.q AND embedding_model = %s AND {acl}{filters}
ORDER BY score DESC, chunk.id
LIMIT %s
"""

PASSAGES = """
SELECT id::text, document_id::text, version, ordinal, page, section, text, metadata, token_count{embedding}
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
    most neighbours, the scan goes on past ef_search until enough visible rows are found."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
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


def lexical_candidates(cursor, *, text: str, model: str, principals, filters, limit: int):
    clause, params = filters.sql()
    sql = LEXICAL.format(tsquery=TSQUERY, acl=ACL, filters=clause)
    return timed(cursor, sql, [text, model, principals, *params, limit])


def passages(cursor, *, ids: list[str], principals, with_embedding: bool = False) -> dict[str, tuple]:
    sql = PASSAGES.format(embedding=", embedding::real[]" if with_embedding else "", acl=ACL)
    cursor.execute(sql, [ids, principals])
    return {row[0]: row for row in cursor.fetchall()}


def highlights(cursor, *, ids: list[str], text: str, principals) -> dict[str, str]:
    if not ids:
        return {}
    cursor.execute(HIGHLIGHTS.format(tsquery=TSQUERY, acl=ACL), [text, HEADLINE_OPTIONS, ids, principals])
    return dict(cursor.fetchall())
