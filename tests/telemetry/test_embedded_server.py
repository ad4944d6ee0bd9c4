"""The embedded server speaks the wire protocol whatever the TCP reads look like, and no client's
session state, size of statement, crash or idle connection reaches another client."""
from __future__ import annotations

import io
import socket
import struct
import subprocess
import sys
import threading
import time

import psycopg2
import pytest

from rlm.telemetry import connect, embedded_status

SIZES = {"64KiB": 64 * 1024, "1MB": 1 << 20, "16MB": 16 << 20}


def _query(dsn: str, sql: str, args: tuple | None = None) -> list[tuple]:
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else []


# ---- raw protocol, for what psycopg2 never does (split writes, garbage lengths) ---------------
def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", 4 + len(body)) + body


def _startup() -> bytes:
    params = b"user\0postgres\0database\0postgres\0\0"
    return struct.pack("!ii", 8 + len(params), 196608) + params


def _read_until_ready(sock: socket.socket, replies: int = 1) -> list[tuple[bytes, bytes]]:
    """Messages up to and including the `replies`-th ReadyForQuery (or a FATAL error and close)."""
    buf, out = b"", []
    while True:
        while len(buf) >= 5 and len(buf) >= 1 + struct.unpack("!i", buf[1:5])[0]:
            n = 1 + struct.unpack("!i", buf[1:5])[0]
            out.append((buf[:1], buf[5:n]))
            buf = buf[n:]
            if out[-1][0] == b"Z":
                replies -= 1
                if not replies:
                    return out
        chunk = sock.recv(1 << 16)
        if not chunk:
            return out
        buf += chunk


def _raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(_startup())
    assert _read_until_ready(sock)[0] == (b"R", b"\0\0\0\0")
    return sock


@pytest.fixture
def port(tsdb_home, tsdb_dsn) -> int:
    return embedded_status(tsdb_home).port


@pytest.fixture
def embedded_dsn(tsdb_home, tsdb_dsn) -> str:
    return embedded_status(tsdb_home).dsn


@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
def test_statements_and_rows_of_any_size(dsn, size):
    text = "ab\u00e9" * (size // 4)  # multibyte, so byte and character counts differ
    assert _query(dsn, "SELECT length(%s), md5(%s)", (text, text))[0][0] == len(text)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE big (id int, body text)")
        cur.execute("INSERT INTO big VALUES (1, %s)", (text,))
        cur.execute("SELECT body, repeat('z', %s) FROM big", (size,))
        body, generated = cur.fetchone()
    assert body == text and len(generated) == size
    assert _query(dsn, "SELECT 1") == [(1,)]  # the next client is served too


def test_a_statement_split_into_one_byte_writes(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    for byte in _startup():  # even the startup packet arrives a byte at a time
        sock.send(bytes([byte]))
    assert _read_until_ready(sock)[-1] == (b"Z", b"I")
    sql = "SELECT 'split' || %d" % 7
    msg = _message(b"Q", sql.encode() + b"\0")
    for byte in msg:
        sock.send(bytes([byte]))
        time.sleep(0.0005)
    reply = dict(_read_until_ready(sock))
    assert reply[b"D"].endswith(b"split7") and reply[b"Z"] == b"I"
    two = _message(b"Q", b"SELECT 1\0") + _message(b"Q", b"SELECT 2\0")  # two messages in one write
    sock.sendall(two)
    rows = [body for kind, body in _read_until_ready(sock, replies=2) if kind == b"D"]
    assert [row[-1:] for row in rows] == [b"1", b"2"]
    sock.close()


def test_an_impossible_message_length_closes_only_that_client(port, embedded_dsn):
    dsn = embedded_dsn
    sock = _raw(port)
    sock.sendall(b"Q" + struct.pack("!i", 2_000_000_000))  # 2 GB announced, never sent
    reply = _read_until_ready(sock)
    assert reply and reply[0][0] == b"E" and b"exceeds" in reply[0][1]
    sock.close()
    assert _query(dsn, "SELECT 2") == [(2,)]


def test_ten_thousand_clients_one_after_another(port, tsdb_home):
    for i in range(10_000):
        sock = _raw(port)
        sock.sendall(_message(b"Q", b"SELECT %d\0" % i) + _message(b"X", b""))
        assert dict(_read_until_ready(sock))[b"D"].endswith(str(i).encode())
        sock.close()
    assert embedded_status(tsdb_home).running
    dsn = embedded_status(tsdb_home).dsn
    assert _query(dsn, "SELECT 42") == [(42,)]


def test_copy_from_stdin_stores_its_rows_and_follows_the_transaction(embedded_dsn, tsdb_home):
    dsn = embedded_dsn
    rows = [(i, f"row {i}, with \"quotes\"\nand a newline" if i % 3 else None) for i in range(20_000)]
    data = "".join(f'{a},{"" if b is None else chr(34) + b.replace(chr(34), chr(34) * 2) + chr(34)}\n'
                   for a, b in rows).encode()
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE copy_target (a int PRIMARY KEY, b text)")
        cur.copy_expert("COPY copy_target (a, b) FROM STDIN (FORMAT csv)", io.BytesIO(data), size=8192)
        assert cur.rowcount == len(rows)
        cur.execute("SELECT a, b FROM copy_target ORDER BY a")
        assert cur.fetchall() == rows
        cur.execute("SAVEPOINT s")  # a failing COPY fails the transaction; a savepoint recovers it
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.copy_expert("COPY copy_target FROM STDIN (FORMAT csv)", io.BytesIO(b"1,dup\n"))
        cur.execute("ROLLBACK TO SAVEPOINT s")
        cur.copy_from(io.StringIO("-1\ttext format\n-2\t\\N\n"), "copy_target", columns=("a", "b"))
        conn.rollback()  # nothing of the transaction stays
    assert _query(dsn, "SELECT to_regclass('copy_target') IS NULL") == [(True,)]
    # the words inside a literal or a comment are data, not a COPY
    assert _query(dsn, "/* copy t from stdin */ SELECT 'COPY t FROM STDIN'") == [("COPY t FROM STDIN",)]
    assert embedded_status(tsdb_home).running


def test_a_copy_of_16mb_in_small_writes_then_copyfail_and_a_cut_client_leave_others_clean(port, embedded_dsn):
    dsn = embedded_dsn
    _query(dsn, "CREATE TABLE IF NOT EXISTS copy_big (body text)")
    body = "x" * (16 << 20)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.copy_expert("COPY copy_big FROM STDIN", io.BytesIO(body.encode() + b"\n"), size=1 << 16)
    assert _query(dsn, "SELECT length(body) FROM copy_big") == [(len(body),)]

    sock = _raw(port)  # the raw protocol: CopyInResponse, then CopyFail fails the statement
    sock.sendall(_message(b"Q", b"BEGIN\0"))
    assert _read_until_ready(sock)[-1] == (b"Z", b"T")
    sock.sendall(_message(b"Q", b"COPY copy_big (body) FROM STDIN\0"))
    response = sock.recv(1 << 16)
    assert response[:1] == b"G" and struct.unpack("!bh", response[5:8]) == (0, 1)  # text, one column
    sock.sendall(_message(b"d", b"kept?\n") + _message(b"f", b"client gave up\0"))
    reply = _read_until_ready(sock)
    assert reply[0][0] == b"E" and b"client gave up" in reply[0][1] and reply[-1] == (b"Z", b"E")
    sock.sendall(_message(b"Q", b"ROLLBACK\0"))
    assert _read_until_ready(sock)[-1] == (b"Z", b"I")
    sock.sendall(_message(b"Q", b"COPY copy_big FROM STDIN\0") + _message(b"d", b"half sent\n"))
    sock.close()  # cut mid-COPY: nothing it sent is stored
    assert _query(dsn, "SELECT count(*) FROM copy_big") == [(1,)]

    with connect(dsn) as conn, conn.cursor() as cur:  # not alone in its message: refused, no harm
        with pytest.raises(psycopg2.errors.FeatureNotSupported, match="COPY FROM STDIN"):
            cur.execute("SELECT 1; COPY copy_big FROM STDIN")
    _query(dsn, "DROP TABLE copy_big")
    assert _query(dsn, "SELECT 3") == [(3,)]


def test_a_waiting_client_connects_at_once_and_is_served_after_the_holder(embedded_dsn):
    dsn = embedded_dsn
    holding = threading.Event()

    def hold():
        with connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            holding.set()
            time.sleep(3)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(30)
    started = time.monotonic()
    conn = psycopg2.connect(dsn, connect_timeout=1)  # the greeting does not wait for the backend
    connected = time.monotonic() - started
    with conn.cursor() as cur:
        cur.execute("SELECT 2")
        assert cur.fetchone() == (2,)
    served = time.monotonic() - started
    conn.close()
    holder.join()
    assert connected < 1.0 and served > 1.0


# ---- one client's session never reaches another (both backends) ----------------------------
def test_set_search_path_stays_in_its_connection(dsn):
    conn = connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET search_path TO pg_catalog")
        cur.execute("SET statement_timeout = 1234")
        cur.execute("SHOW search_path")
        assert cur.fetchone() == ("pg_catalog",)
    conn.close()
    path = _query(dsn, "SHOW search_path")[0][0]
    assert "public" in path
    assert _query(dsn, "SHOW statement_timeout") == [("0",)]
    assert _query(dsn, "SELECT count(*) FROM runs")[0][0] >= 0  # the schema is found again


def test_an_open_transaction_of_a_killed_client_is_rolled_back(dsn):
    _query(dsn, "CREATE TABLE IF NOT EXISTS isolation_probe (who text)")
    _query(dsn, "DELETE FROM isolation_probe")
    code = (f"import os, psycopg2\nc = psycopg2.connect({dsn!r})\ncur = c.cursor()\n"
            "cur.execute(\"INSERT INTO isolation_probe VALUES ('killed')\")\n"
            "cur.execute('SELECT 1')\nprint('inserted', flush=True)\nos.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "inserted" and proc.returncode == -9
    assert _query(dsn, "SELECT count(*) FROM isolation_probe") == [(0,)]
    conn = connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:  # a statement of its own, not one inside the killed transaction
        cur.execute("SELECT now() = statement_timestamp()")
        assert cur.fetchone() == (True,)
    conn.close()
    _query(dsn, "INSERT INTO isolation_probe VALUES ('next')")
    assert _query(dsn, "SELECT who FROM isolation_probe") == [("next",)]


def test_an_extended_query_without_sync_is_not_committed(port, embedded_dsn):
    dsn = embedded_dsn
    _query(dsn, "CREATE TABLE IF NOT EXISTS isolation_probe (who text)")
    _query(dsn, "DELETE FROM isolation_probe")
    sock = _raw(port)
    sock.sendall(_message(b"P", b"\0INSERT INTO isolation_probe VALUES ('unsynced')\0\0\0")
                 + _message(b"B", b"\0\0\0\0\0\0\0\0") + _message(b"E", b"\0\0\0\0\0") + _message(b"H", b""))
    time.sleep(0.5)
    sock.close()
    assert _query(dsn, "SELECT count(*) FROM isolation_probe") == [(0,)]


def test_a_temp_table_is_private_to_its_connection(dsn):
    conn = connect(dsn)
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE scratch (a int)")
        cur.execute("PREPARE probe AS SELECT 1")
    conn.commit()
    conn.close()
    assert _query(dsn, "SELECT to_regclass('pg_temp.scratch')") == [(None,)]
    assert _query(dsn, "SELECT count(*) FROM pg_prepared_statements") == [(0,)]
    _query(dsn, "CREATE TEMP TABLE scratch (a int)")  # the name is free again
