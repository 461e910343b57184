"""Storage: raw mail in a content-addressed blob store, everything else in one SQL database.

SQLite (WAL, foreign keys on) by default; PostgreSQL through psycopg 3 with the same code.
"""
