package io.etcsql.sqlfrontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a JDBC transaction sends at COMMIT: compares on what it read, its writes. */
class SqlTransactionTest {
  private static ByteString b(String s) {
    return ByteString.copyFromUtf8(s);
  }

  @Test
  void aTransactionThatWroteNothingNeedsNoTxn() {
    SqlTransaction tx = new SqlTransaction();
    tx.pin(10);
    tx.readRow(b("a"), 7);
    assertNull(tx.commitTxn());
  }

  @Test
  void commitComparesEveryRowAndRangeReadAndWritesTheNewestStatePerKey() {
    SqlTransaction tx = new SqlTransaction();
    tx.pin(10);
    tx.pin(12); // the first read pins the revision
    assertEquals(10, tx.revision());
    tx.readRange(KvQuery.KeyRange.single(b("absent")));
    tx.readRange(new KvQuery.KeyRange(b("/app/"), b("/app0")));
    tx.readRange(KvQuery.KeyRange.single(b("/app/a")));
    tx.readRow(b("/app/a"), 7);
    Map<ByteString, SqlTransaction.Pending> first = new LinkedHashMap<>();
    first.put(b("/app/a"), new SqlTransaction.Pending(b("1"), 0, 5, 3));
    first.put(b("/app/b"), new SqlTransaction.Pending(b("x"), 0, 0, 1));
    tx.write(first);
    tx.write(Map.of(b("/app/b"), new SqlTransaction.Pending(null, 0, 0, 0)));

    TxnRequest txn = tx.commitTxn();
    assertEquals(3, txn.getCompareCount());
    Map<String, Compare> byKey = new java.util.HashMap<>();
    txn.getCompareList().forEach(c -> byKey.put(c.getKey().toStringUtf8(), c));
    assertEquals(0, byKey.get("absent").getModRevision(), "read as absent: mod_revision 0 (etcd's missing key)");
    assertEquals(Compare.CompareResult.EQUAL, byKey.get("absent").getResult());
    assertEquals(7, byKey.get("/app/a").getModRevision(), "the row read, with the mod_revision it had");
    Compare range = byKey.get("/app/");
    assertEquals("/app0", range.getRangeEnd().toStringUtf8());
    assertEquals(Compare.CompareResult.LESS, range.getResult());
    assertEquals(11, range.getModRevision(), "nothing in the scanned range changed after the pinned revision");

    assertEquals(2, txn.getSuccessCount(), "one operation per key");
    assertEquals("1", txn.getSuccess(0).getRequestPut().getValue().toStringUtf8());
    assertTrue(txn.getSuccess(1).hasRequestDeleteRange(), "the newest state of /app/b: deleted");
  }

  @Test
  void pendingWritesAreFoundByRange() {
    SqlTransaction tx = new SqlTransaction();
    tx.write(Map.of(b("/a/1"), new SqlTransaction.Pending(b("1"), 0, 0, 1), b("/b/1"),
        new SqlTransaction.Pending(b("2"), 0, 0, 1)));
    assertEquals(List.of(b("/a/1")), List.copyOf(tx.writesIn(new KvQuery.KeyRange(b("/a/"), b("/a0"))).keySet()));
    assertEquals(2, tx.writesIn(KvQuery.KeyRange.ALL).size());
    assertEquals(1, tx.writesIn(new KvQuery.KeyRange(b("/b"), EtcdClient.ZERO)).size(), "from a key to the end");
    assertEquals(0, tx.writesIn(KvQuery.KeyRange.single(b("/a"))).size());
  }
}
