package io.etcsql.sqlfrontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.util.List;
import org.apache.calcite.sql.SqlKind;
import org.junit.jupiter.api.Test;

/** How write statements are recognised and turned into the query that finds their rows. */
class SqlWritesTest {
  private static SqlWrites.Plan plan(String sql) throws SQLException {
    return SqlWrites.plan(SqlWrites.parse(sql));
  }

  @Test
  void writesAreRecognisedAndQueriesAreNot() {
    assertTrue(SqlWrites.isWrite(SqlWrites.parse("INSERT INTO kv (key, value) VALUES ('a', 'b')")));
    assertTrue(SqlWrites.isWrite(SqlWrites.parse("  upsert into kv (key, value) VALUES ('a', 'b')")));
    assertTrue(SqlWrites.isWrite(SqlWrites.parse("DELETE FROM kv WHERE key = 'a'")));
    assertFalse(SqlWrites.isWrite(SqlWrites.parse("SELECT * FROM kv")));
    assertNull(SqlWrites.parse("SELEC nonsense"), "Calcite reports the syntax error itself");
  }

  @Test
  void eachWriteReadsItsRowsWithAQuery() throws SQLException {
    SqlWrites.Plan up = plan("UPSERT INTO kv (key, value, lease) VALUES ('a', 'b', 0)");
    assertEquals(SqlKind.INSERT, up.kind());
    assertTrue(up.upsert());
    assertEquals(List.of("key", "value", "lease"), up.columns());
    SqlWrites.Plan upd = plan("UPDATE kv SET value = value || '!' WHERE key LIKE '/a/%'");
    assertEquals(SqlKind.UPDATE, upd.kind());
    assertTrue(upd.query().startsWith("SELECT key_bytes, mod_revision, value_bytes, lease, create_revision, version, "),
        upd.query());
    assertTrue(upd.query().endsWith("FROM kv WHERE \"key\" LIKE '/a/%'"), upd.query());
    assertEquals("SELECT key_bytes, mod_revision FROM kv", plan("DELETE FROM kv").query());
  }

  @Test
  void writesEtcsqlDoesNotTakeAreRefusedWithASqlState() {
    assertEquals("42000", assertThrows(SQLException.class, () -> plan("DELETE FROM revisions")).getSQLState());
    assertEquals("42S02", assertThrows(SQLException.class, () -> plan("DELETE FROM nosuch")).getSQLState());
    assertEquals("42000", assertThrows(SQLException.class, () -> plan("UPDATE kv SET version = 2")).getSQLState());
    assertEquals("42S22", assertThrows(SQLException.class, () -> plan("UPDATE kv SET colour = 'x'")).getSQLState());
    assertEquals("42000", assertThrows(SQLException.class, () -> plan("UPDATE kv SET key = 'x'")).getSQLState());
    assertEquals("42000", assertThrows(SQLException.class, () -> plan("INSERT INTO kv (key) VALUES ('x')")).getSQLState());
    assertEquals("21S01", assertThrows(SQLException.class,
        () -> plan("INSERT INTO kv (key, value) VALUES ('x')")).getSQLState());
  }

  @Test
  void momentsAreUtcTextOrIsoWithAnOffset() {
    assertEquals(0, EtcdSchema.parseMoment("1970-01-01 00:00:00"));
    assertEquals(1500, EtcdSchema.parseMoment("1970-01-01 00:00:01.5"));
    assertEquals(-3_600_000, EtcdSchema.parseMoment("1970-01-01T00:00:00+01:00"));
    assertThrows(IllegalArgumentException.class, () -> EtcdSchema.parseMoment("yesterday"));
  }
}
