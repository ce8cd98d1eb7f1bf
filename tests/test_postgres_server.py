"""The test PostgreSQL server (tests/postgres.py): real, on loopback, each test's database fresh."""


def test_each_test_gets_a_fresh_empty_database_with_unaccent(postgres_server, postgres_url):
    import psycopg

    assert postgres_url.startswith("postgresql://postgres@127.0.0.1:")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables "
                              "WHERE table_schema = 'public'").fetchone()[0]
        assert tables == 0
        assert conn.execute("SELECT unaccent('Chuyển đổi số Đắk Lắk')").fetchone()[0] == "Chuyen doi so Dak Lak"
        conn.execute("CREATE TABLE t (x int)")
    other = postgres_server.new_database()
    try:
        with psycopg.connect(other) as conn:
            assert conn.execute("SELECT to_regclass('public.t')").fetchone()[0] is None
    finally:
        postgres_server.drop_database(other)
