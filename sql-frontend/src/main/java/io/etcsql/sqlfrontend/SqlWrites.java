package io.etcsql.sqlfrontend;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.grpc.Status;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Set;
import org.apache.calcite.sql.SqlBasicTypeNameSpec;
import org.apache.calcite.sql.SqlCall;
import org.apache.calcite.sql.SqlDataTypeSpec;
import org.apache.calcite.sql.SqlDelete;
import org.apache.calcite.sql.SqlDialect;
import org.apache.calcite.sql.SqlDynamicParam;
import org.apache.calcite.sql.SqlIdentifier;
import org.apache.calcite.sql.SqlInsert;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.SqlNodeList;
import org.apache.calcite.sql.SqlUpdate;
import org.apache.calcite.sql.dialect.CalciteSqlDialect;
import org.apache.calcite.sql.fun.SqlStdOperatorTable;
import org.apache.calcite.sql.parser.SqlParseException;
import org.apache.calcite.sql.parser.SqlParser;
import org.apache.calcite.sql.parser.SqlParserPos;
import org.apache.calcite.sql.type.SqlTypeName;

/**
 * INSERT, UPSERT, UPDATE and DELETE on {@code kv}, each as one etcd Txn (one revision). The rows a
 * statement touches are found with a query through Calcite (so WHERE and SET take any SQL
 * expression and use the same pushdown); the Txn then writes them, guarded by compares on what
 * was read: INSERT requires each key to be absent (else SQLState 23505), UPDATE and DELETE
 * require each row's mod_revision to be unchanged. A statement whose rows changed meanwhile is
 * run again (it then sees the newer rows), up to {@link #ATTEMPTS} times, then fails with SQLState
 * 40001. Inside a JDBC transaction a write is buffered in its {@link SqlTransaction} instead, and
 * {@link #commit} sends the transaction's writes as one Txn.
 */
final class SqlWrites {
  static final int ATTEMPTS = 5;
  /** The column of an UPDATE's query holding the first SET expression (after the row's own columns). */
  private static final int UPDATE_SET = 7;
  private static final Set<String> READ_ONLY = Set.of("revisions", "leases", "members");
  private static final SqlDialect DIALECT = CalciteSqlDialect.DEFAULT;

  private final EtcdClient etcd;

  SqlWrites(EtcdClient etcd) {
    this.etcd = etcd;
  }

  /** A parsed write: its kind and the query that finds the rows it writes. */
  record Plan(SqlKind kind, boolean upsert, String query, List<String> columns) {
  }

  /** A parsed statement; {@code upsert}: it was written UPSERT INTO. */
  record Parsed(SqlNode node, boolean upsert) {
  }

  private static final java.util.regex.Pattern UPSERT =
      java.util.regex.Pattern.compile("^(\\s*)upsert(\\s+into\\s)", java.util.regex.Pattern.CASE_INSENSITIVE);

  /**
   * The statement parsed as etcsql's parser does (UPSERT INTO is read as an INSERT that may
   * overwrite), or null if it does not parse (Calcite then reports the error).
   */
  static Parsed parse(String sql) {
    java.util.regex.Matcher m = UPSERT.matcher(sql);
    boolean upsert = m.find();
    String text = upsert ? m.replaceFirst("$1INSERT$2") : sql;
    try {
      SqlNode node = SqlParser.create(text, SqlServer.PARSER).parseStmt();
      return new Parsed(node, upsert);
    } catch (SqlParseException e) {
      return null;
    }
  }

  static boolean isWrite(Parsed p) {
    return p != null && isWrite(p.node());
  }

  private static boolean isWrite(SqlNode node) {
    return node != null && (node.getKind() == SqlKind.INSERT || node.getKind() == SqlKind.UPDATE
        || node.getKind() == SqlKind.DELETE || node.getKind() == SqlKind.MERGE);
  }

  /** What to read for {@code node}; throws SQLException for writes etcsql does not take. */
  static Plan plan(Parsed parsed) throws SQLException {
    SqlNode node = parsed.node();
    if (node.getKind() == SqlKind.MERGE) {
      throw new SQLException("MERGE is not supported; use UPSERT INTO kv (key, value) VALUES (...)", "0A000");
    }
    SqlIdentifier target = switch (node.getKind()) {
      case INSERT -> (SqlIdentifier) ((SqlInsert) node).getTargetTable();
      case UPDATE -> (SqlIdentifier) ((SqlUpdate) node).getTargetTable();
      default -> (SqlIdentifier) ((SqlDelete) node).getTargetTable();
    };
    String table = target.names.get(target.names.size() - 1).toLowerCase(Locale.ROOT);
    if (READ_ONLY.contains(table)) {
      throw new SQLException("table '" + table + "' is read-only: only kv can be written", "42000");
    }
    if (!table.equals("kv")) {
      throw new SQLException("Object '" + target + "' not found", "42S02");
    }
    return switch (node.getKind()) {
      case INSERT -> insertPlan((SqlInsert) node, parsed.upsert());
      case UPDATE -> updatePlan((SqlUpdate) node);
      default -> deletePlan((SqlDelete) node);
    };
  }

  private static String column(SqlNode n) throws SQLException {
    String c = ((SqlIdentifier) n).getSimple().toLowerCase(Locale.ROOT);
    switch (c) {
      case "key", "key_bytes", "value", "value_bytes", "lease" -> {
        return c;
      }
      case "create_revision", "mod_revision", "version" -> throw new SQLException(
          "column " + c + " cannot be written: etcd sets it", "42000");
      default -> throw new SQLException("Column '" + c + "' not found in table 'kv'", "42S22");
    }
  }

  private static SqlTypeName typeOf(String column) {
    return switch (column) {
      case "key", "value" -> SqlTypeName.VARCHAR;
      case "key_bytes", "value_bytes" -> SqlTypeName.VARBINARY;
      default -> SqlTypeName.BIGINT;
    };
  }

  private static Plan insertPlan(SqlInsert ins, boolean upsert) throws SQLException {
    List<String> cols = new ArrayList<>();
    if (ins.getTargetColumnList() == null) {
      cols.addAll(List.of("key", "value"));
    } else {
      for (SqlNode n : ins.getTargetColumnList()) {
        cols.add(column(n));
      }
    }
    boolean hasKey = cols.contains("key") || cols.contains("key_bytes");
    boolean hasValue = cols.contains("value") || cols.contains("value_bytes");
    if (!hasKey || !hasValue || cols.contains("key") && cols.contains("key_bytes")
        || cols.contains("value") && cols.contains("value_bytes")) {
      throw new SQLException("an INSERT into kv gives key (or key_bytes) and value (or value_bytes), and may give lease",
          "42000");
    }
    SqlNode source = ins.getSource();
    if (source.getKind() == SqlKind.VALUES) {
      // a bare ? inside VALUES has no type: give it the target column's
      for (SqlNode row : ((SqlCall) source).getOperandList()) {
        SqlCall r = (SqlCall) row;
        if (r.operandCount() != cols.size()) {
          throw new SQLException("INSERT has " + cols.size() + " target columns but a row of " + r.operandCount()
              + " values", "21S01");
        }
        for (int i = 0; i < r.operandCount(); i++) {
          if (r.operand(i) instanceof SqlDynamicParam p) {
            r.setOperand(i, SqlStdOperatorTable.CAST.createCall(SqlParserPos.ZERO, p,
                new SqlDataTypeSpec(new SqlBasicTypeNameSpec(typeOf(cols.get(i)), SqlParserPos.ZERO), SqlParserPos.ZERO)));
          }
        }
      }
    }
    String query = "SELECT * FROM (" + source.toSqlString(DIALECT).getSql() + ")";
    return new Plan(SqlKind.INSERT, upsert || ins.isUpsert(), query, cols);
  }

  private static Plan updatePlan(SqlUpdate upd) throws SQLException {
    List<String> cols = new ArrayList<>();
    StringBuilder select = new StringBuilder("SELECT key_bytes, mod_revision, value_bytes, lease, create_revision, version");
    SqlNodeList targets = upd.getTargetColumnList();
    SqlNodeList exprs = upd.getSourceExpressionList();
    for (int i = 0; i < targets.size(); i++) {
      String c = column(targets.get(i));
      if (c.equals("key") || c.equals("key_bytes")) {
        throw new SQLException("UPDATE cannot change a key: DELETE the row and INSERT another", "42000");
      }
      cols.add(c);
      SqlNode e = exprs.get(i);
      String text = e.toSqlString(DIALECT).getSql();
      if (e instanceof SqlDynamicParam) {
        text = "CAST(? AS " + typeOf(c) + ")";
      }
      select.append(", ").append(text);
    }
    select.append(" FROM kv");
    if (upd.getCondition() != null) {
      select.append(" WHERE ").append(upd.getCondition().toSqlString(DIALECT).getSql());
    }
    return new Plan(SqlKind.UPDATE, false, select.toString(), cols);
  }

  private static Plan deletePlan(SqlDelete del) {
    StringBuilder select = new StringBuilder("SELECT key_bytes, mod_revision FROM kv");
    if (del.getCondition() != null) {
      select.append(" WHERE ").append(del.getCondition().toSqlString(DIALECT).getSql());
    }
    return new Plan(SqlKind.DELETE, false, select.toString(), List.of());
  }

  /**
   * Runs a write; returns the number of rows written. In a transaction ({@code tx} not null, and
   * current on this thread so that the statement's reads are recorded) the writes are buffered.
   */
  long execute(Connection calcite, Plan plan, List<Object> params, SqlTransaction tx) throws SQLException {
    if (tx != null) {
      return buffer(calcite, plan, params, tx);
    }
    for (int attempt = 1; ; attempt++) {
      TxnRequest.Builder txn = TxnRequest.newBuilder();
      List<ByteString> keys = new ArrayList<>();
      try (PreparedStatement ps = prepare(calcite, plan, params); ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          addRow(plan, rs, txn, keys);
        }
      }
      if (keys.isEmpty()) {
        return 0;
      }
      TxnResponse resp;
      try {
        resp = etcd.txn(txn.build());
      } catch (io.grpc.StatusRuntimeException e) {
        throw writeError(e, keys.size());
      }
      if (resp.getSucceeded()) {
        return keys.size();
      }
      if (plan.kind() == SqlKind.INSERT) {
        List<String> existing = new ArrayList<>();
        for (int i = 0; i < resp.getResponsesCount(); i++) {
          if (resp.getResponses(i).getResponseRange().getCount() > 0) {
            existing.add(keys.get(i).toStringUtf8());
          }
        }
        throw new SQLException("duplicate key: " + (existing.isEmpty() ? "a key" : String.join(", ", existing))
            + " already exists (use UPSERT INTO kv to overwrite)", "23505");
      }
      if (attempt >= ATTEMPTS) {
        throw new SQLException("the rows kept changing while the statement ran (" + ATTEMPTS
            + " attempts); nothing was written", "40001");
      }
    }
  }

  /** The query that finds a write's rows, with its parameters set. */
  private static PreparedStatement prepare(Connection calcite, Plan plan, List<Object> params) throws SQLException {
    PreparedStatement ps = calcite.prepareStatement(plan.query());
    for (int i = 0; i < params.size(); i++) {
      ps.setObject(i + 1, params.get(i));
    }
    return ps;
  }

  /** A write inside a transaction: its rows become pending writes, all of them or (on an error) none. */
  private long buffer(Connection calcite, Plan plan, List<Object> params, SqlTransaction tx) throws SQLException {
    Map<ByteString, SqlTransaction.Pending> writes = new LinkedHashMap<>();
    try (PreparedStatement ps = prepare(calcite, plan, params); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        switch (plan.kind()) {
          case INSERT -> {
            Inserted row = inserted(plan, rs, writes.keySet());
            ByteString key = row.key();
            SqlTransaction.Pending before = tx.pending(key);
            KeyValue stored = before != null || plan.upsert() ? null : readInTransaction(key, tx);
            boolean exists = before != null ? !before.deleted() : stored != null;
            if (exists && !plan.upsert()) {
              throw new SQLException("duplicate key: " + key.toStringUtf8()
                  + " already exists (use UPSERT INTO kv to overwrite)", "23505");
            }
            long create = before != null && !before.deleted() ? before.createRevision() : 0;
            long version = before != null && !before.deleted() ? before.version() + 1 : 1;
            writes.put(key, new SqlTransaction.Pending(row.value(), row.lease(), create, version));
          }
          case UPDATE -> {
            ByteString key = ByteString.copyFrom(rs.getBytes(1));
            ByteString value = ByteString.copyFrom(rs.getBytes(3));
            long lease = rs.getLong(4);
            for (int i = 0; i < plan.columns().size(); i++) {
              String c = plan.columns().get(i);
              switch (c) {
                case "value", "value_bytes" -> value = bytes(rs.getObject(i + UPDATE_SET), c);
                default -> lease = rs.getLong(i + UPDATE_SET);
              }
            }
            long mod = rs.getLong(2);
            long version = rs.getLong(6) + (mod == 0 ? 0 : 1); // a pending row is still one write
            writes.put(key, new SqlTransaction.Pending(value, lease, rs.getLong(5), version));
          }
          default -> writes.put(ByteString.copyFrom(rs.getBytes(1)), new SqlTransaction.Pending(null, 0, 0, 0));
        }
      }
    }
    tx.write(writes);
    return writes.size();
  }

  /** {@code key} at the transaction's revision (recorded as read), or null when absent. */
  private KeyValue readInTransaction(ByteString key, SqlTransaction tx) {
    RangeResponse resp = Errors.call(() -> etcd.range(RangeRequest.newBuilder().setKey(key)
        .setRevision(tx.revision()).build()), tx.revision(), etcd);
    tx.pin(resp.getHeader().getRevision());
    tx.readRange(KvQuery.KeyRange.single(key));
    if (resp.getKvsCount() == 0) {
      return null;
    }
    KeyValue kv = resp.getKvs(0);
    tx.readRow(key, kv.getModRevision());
    return kv;
  }

  /**
   * Commits a transaction: one Txn of its writes, guarded by what it read. A read-only
   * transaction needs none. Fails with 40001 when another client changed what it read.
   */
  void commit(SqlTransaction tx) throws SQLException {
    TxnRequest txn = tx.commitTxn();
    if (txn == null) {
      return;
    }
    TxnResponse resp;
    try {
      resp = etcd.txn(txn);
    } catch (io.grpc.StatusRuntimeException e) {
      String msg = e.getStatus().getDescription();
      if ("etcdserver: too many operations in txn request".equals(msg)) {
        throw new SQLException("the transaction read " + txn.getCompareCount() + " rows or ranges and wrote "
            + txn.getSuccessCount() + " keys; etcd takes at most --max-txn-ops of each in one Txn (" + msg
            + "); nothing was written", "54000", e);
      }
      throw writeError(e, txn.getSuccessCount());
    }
    if (!resp.getSucceeded()) {
      throw new SQLException("could not serialize the transaction: rows it read were changed by another client"
          + " after revision " + tx.revision() + "; nothing was written, run it again", "40001");
    }
  }

  private static ByteString bytes(Object v, String column) throws SQLException {
    if (v == null) {
      throw new SQLException(column + " cannot be NULL", "23502");
    }
    if (v instanceof String s) {
      return ByteString.copyFromUtf8(s);
    }
    if (v instanceof byte[] b) {
      return ByteString.copyFrom(b);
    }
    return ByteString.copyFromUtf8(v.toString());
  }

  /** One row an INSERT writes. */
  private record Inserted(ByteString key, ByteString value, long lease) {
  }

  /** The row of an INSERT's query at {@code rs}, checked (not empty, not already in {@code written}). */
  private static Inserted inserted(Plan plan, ResultSet rs, java.util.Collection<ByteString> written)
      throws SQLException {
    ByteString key = null;
    ByteString value = null;
    long lease = 0;
    for (int i = 0; i < plan.columns().size(); i++) {
      String c = plan.columns().get(i);
      switch (c) {
        case "key", "key_bytes" -> key = bytes(rs.getObject(i + 1), c);
        case "value", "value_bytes" -> value = bytes(rs.getObject(i + 1), c);
        default -> lease = rs.getLong(i + 1);
      }
    }
    if (key.isEmpty()) {
      throw new SQLException("key cannot be empty (etcdserver: key is not provided)", "22023");
    }
    if (written.contains(key)) {
      throw new SQLException("the statement writes key " + key.toStringUtf8() + " twice", "21000");
    }
    return new Inserted(key, value, lease);
  }

  private static void addRow(Plan plan, ResultSet rs, TxnRequest.Builder txn, List<ByteString> keys)
      throws SQLException {
    switch (plan.kind()) {
      case INSERT -> {
        Inserted row = inserted(plan, rs, keys);
        ByteString key = row.key();
        keys.add(key);
        if (!plan.upsert()) {
          txn.addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
              .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0));
          txn.addFailure(RequestOp.newBuilder().setRequestRange(
              RangeRequest.newBuilder().setKey(key).setCountOnly(true)));
        }
        txn.addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key).setValue(row.value())
            .setLease(row.lease())));
      }
      case UPDATE -> {
        ByteString key = ByteString.copyFrom(rs.getBytes(1));
        long mod = rs.getLong(2);
        PutRequest.Builder put = PutRequest.newBuilder().setKey(key).setIgnoreValue(true).setIgnoreLease(true);
        for (int i = 0; i < plan.columns().size(); i++) {
          String c = plan.columns().get(i);
          switch (c) {
            case "value", "value_bytes" -> put.setIgnoreValue(false).setValue(bytes(rs.getObject(i + UPDATE_SET), c));
            default -> put.setIgnoreLease(false).setLease(rs.getLong(i + UPDATE_SET));
          }
        }
        keys.add(key);
        txn.addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.MOD)
            .setResult(Compare.CompareResult.EQUAL).setModRevision(mod));
        txn.addSuccess(RequestOp.newBuilder().setRequestPut(put));
      }
      default -> {
        ByteString key = ByteString.copyFrom(rs.getBytes(1));
        long mod = rs.getLong(2);
        keys.add(key);
        txn.addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.MOD)
            .setResult(Compare.CompareResult.EQUAL).setModRevision(mod));
        txn.addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)));
      }
    }
  }

  /** etcd's refusal of the Txn as a SQL error. */
  private static SQLException writeError(io.grpc.StatusRuntimeException e, int rows) {
    String msg = e.getStatus().getDescription();
    if ("etcdserver: too many operations in txn request".equals(msg)) {
      return new SQLException("the statement writes " + rows + " rows, more than etcd takes in one transaction"
          + " (--max-txn-ops; " + msg + ")", "54000", e);
    }
    if ("etcdserver: request is too large".equals(msg)) {
      return new SQLException("the statement's transaction is larger than etcd takes (--max-request-bytes; " + msg
          + ")", "54000", e);
    }
    if (e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT || e.getStatus().getCode() == Status.Code.NOT_FOUND) {
      return new SQLException(msg, "22023", e);
    }
    if (e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED) {
      return new SQLException(msg, "53100", e);
    }
    return new SQLException("etcd: " + e.getStatus().getCode() + (msg == null ? "" : ": " + msg),
        e.getStatus().getCode() == Status.Code.UNAVAILABLE ? "08006" : "HY000", e);
  }
}
