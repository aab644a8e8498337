"""What schema `school` is, read from the catalog: tables and their columns, constraints,
indexes, triggers, views, types, functions (their whole definitions), policies and every
privilege, each as sorted text. Two databases with equal snapshots have the same schema,
whatever order it was made in (columns compare by position among the live ones: a dropped
column leaves a hole in attnum that a fresh table does not have).

Role names are written with the school's prefix replaced by `{prefix}`, so schools with
different prefixes compare too.
"""

from __future__ import annotations

import psycopg

QUERIES = {
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
               pg_get_userbyid(c.relowner), coalesce(array_to_string(c.reloptions, ','), '')
        FROM pg_class c WHERE c.relnamespace = 'school'::regnamespace
    """,
    "columns": """
        SELECT c.relname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod), a.attnotnull,
               coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity, a.attgenerated,
               coalesce(co.collname, '')
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
             AND co.collname <> 'default'
        WHERE c.relnamespace = 'school'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    """,
    "constraints": """
        SELECT coalesce(r.relname, t.typname), c.conname, pg_get_constraintdef(c.oid),
               c.convalidated, c.condeferrable, c.condeferred
        FROM pg_constraint c
        LEFT JOIN pg_class r ON r.oid = c.conrelid
        LEFT JOIN pg_type t ON t.oid = c.contypid
        WHERE c.connamespace = 'school'::regnamespace
    """,
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'school'
    """,
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'school'::regnamespace AND NOT t.tgisinternal
    """,
    "views": """
        SELECT viewname, definition FROM pg_views WHERE schemaname = 'school'
    """,
    "types": """
        SELECT t.typname, t.typtype, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_type t
        JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE t.typnamespace = 'school'::regnamespace
    """,
    "functions": """
        SELECT p.oid::regprocedure::text, pg_get_userbyid(p.proowner), pg_get_functiondef(p.oid)
        FROM pg_proc p WHERE p.pronamespace = 'school'::regnamespace
    """,
    "policies": """
        SELECT tablename, policyname, permissive, cmd,
               array_to_string(ARRAY(SELECT unnest(roles) ORDER BY 1), ','),
               coalesce(qual, ''), coalesce(with_check, '')
        FROM pg_policies WHERE schemaname = 'school'
    """,
    "privileges": """
        SELECT 'schema', n.nspname, '', pg_get_userbyid(a.grantor), pg_get_userbyid(a.grantee),
               a.privilege_type, a.is_grantable
        FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'school'
        UNION ALL
        SELECT 'relation', c.relname, '', pg_get_userbyid(a.grantor),
               pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable
        FROM pg_class c,
             aclexplode(coalesce(c.relacl, acldefault(
                 (CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) a
        WHERE c.relnamespace = 'school'::regnamespace
        UNION ALL
        SELECT 'column', c.relname, att.attname, pg_get_userbyid(a.grantor),
               pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable
        FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid AND NOT att.attisdropped,
             aclexplode(att.attacl) a
        WHERE c.relnamespace = 'school'::regnamespace
        UNION ALL
        SELECT 'function', p.oid::regprocedure::text, '', pg_get_userbyid(a.grantor),
               pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable
        FROM pg_proc p,
             aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
        WHERE p.pronamespace = 'school'::regnamespace
        UNION ALL
        SELECT 'type', t.typname, '', pg_get_userbyid(a.grantor), pg_get_userbyid(a.grantee),
               a.privilege_type, a.is_grantable
        FROM pg_type t, aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
        WHERE t.typnamespace = 'school'::regnamespace AND t.typelem = 0
    """,
    "database": """
        SELECT pg_get_userbyid(a.grantee), a.privilege_type
        FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database()
    """,
}


def snapshot(conn: psycopg.Connection, prefix: str) -> dict[str, list[str]]:
    """Each kind of object as a sorted list of lines, `prefix` written as `{prefix}`."""
    found = {}
    for kind, query in QUERIES.items():
        lines = [
            " | ".join("" if v is None else str(v) for v in row).replace(prefix, "{prefix}")
            for row in conn.execute(query)
        ]
        found[kind] = sorted(lines)
    return found


def differences(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, tuple]:
    """Per kind: (lines only in a, lines only in b), for the kinds that differ."""
    out = {}
    for kind in a.keys() | b.keys():
        left, right = set(a.get(kind, [])), set(b.get(kind, []))
        if left != right:
            out[kind] = (sorted(left - right), sorted(right - left))
    return out
