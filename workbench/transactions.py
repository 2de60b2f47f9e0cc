"""Writing transactions that behave the same on SQLite and PostgreSQL.

Python's sqlite3 module (3.11) opens a transaction only before INSERT,
UPDATE or DELETE.  Two things follow: a SAVEPOINT issued before any of
those runs outside a transaction (so releasing it would commit at once), and
a transaction that upgrades to writing late may find another writer holding
the lock.  :func:`begin_write` fixes both by opening the transaction with
``BEGIN IMMEDIATE``: the writer waits its turn (up to the busy timeout) and
every savepoint after it nests inside a real transaction.  Reads keep the
driver's default, so each statement sees what others committed, as on
PostgreSQL under READ COMMITTED.
"""

from __future__ import annotations

from sqlalchemy.orm import Session


def begin_write(session: Session) -> None:
    """Make sure ``session`` has a real, writing transaction open (SQLite: ``BEGIN IMMEDIATE``).

    Safe to call more than once; a no-op on PostgreSQL, where every
    transaction is real from its first statement.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
