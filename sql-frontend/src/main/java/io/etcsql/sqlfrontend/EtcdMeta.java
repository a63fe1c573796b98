package io.etcsql.sqlfrontend;

import java.sql.ParameterMetaData;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Calendar;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.calcite.avatica.AvaticaParameter;
import java.util.Properties;
import org.apache.calcite.avatica.AvaticaSeverity;
import org.apache.calcite.avatica.MissingResultsException;
import org.apache.calcite.avatica.NoSuchStatementException;
import org.apache.calcite.avatica.jdbc.JdbcMeta;
import org.apache.calcite.avatica.remote.AvaticaRuntimeException;
import org.apache.calcite.avatica.remote.TypedValue;
import org.apache.calcite.runtime.CalciteContextException;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.sql.parser.SqlParseException;

/**
 * The server side of every SQL connection: Avatica's JDBC bridge to a Calcite connection, with
 * errors reported as a SQL client expects them: a SQLState and the message that says what went
 * wrong, not a chain of wrappers.
 */
final class EtcdMeta extends JdbcMeta {
  private final SqlWrites writes;
  /** Prepared writes, by connection id and statement id. */
  private final Map<String, SqlWrites.Plan> preparedWrites = new ConcurrentHashMap<>();
  /** Connections with auto-commit off, and their open transaction. */
  private final Map<String, SqlTransaction> transactions = new ConcurrentHashMap<>();

  EtcdMeta(String url, Properties info, SqlWrites writes) throws SQLException {
    super(url, info);
    this.writes = writes;
  }

  private static String id(StatementHandle h) {
    return h.connectionId + "/" + h.id;
  }

  private static StatementType typeOf(SqlKind kind) {
    return switch (kind) {
      case INSERT -> StatementType.INSERT;
      case UPDATE -> StatementType.UPDATE;
      default -> StatementType.DELETE;
    };
  }

  @Override
  public StatementHandle prepare(ConnectionHandle ch, String sql, long maxRowCount) {
    try {
      SqlWrites.Parsed node = SqlWrites.parse(sql);
      if (SqlWrites.isWrite(node)) {
        SqlWrites.Plan plan = SqlWrites.plan(node);
        List<AvaticaParameter> params = new ArrayList<>();
        try (PreparedStatement ps = getConnection(ch.id).prepareStatement(plan.query())) {
          ParameterMetaData pmd = ps.getParameterMetaData();
          for (int i = 1; i <= pmd.getParameterCount(); i++) {
            params.add(new AvaticaParameter(pmd.isSigned(i), pmd.getPrecision(i), pmd.getScale(i),
                pmd.getParameterType(i), pmd.getParameterTypeName(i), pmd.getParameterClassName(i), "?" + i));
          }
        }
        StatementHandle h = createStatement(ch);
        h.signature = Signature.create(List.of(), sql, params, CursorFactory.ARRAY, typeOf(plan.kind()));
        preparedWrites.put(id(h), plan);
        return h;
      }
      return super.prepare(ch, sql, maxRowCount);
    } catch (SQLException | RuntimeException | Error e) {
      throw sqlError(e);
    }
  }

  @Override
  public ExecuteResult prepareAndExecute(StatementHandle h, String sql, long maxRowCount, int maxRowsInFirstFrame,
      PrepareCallback callback) throws NoSuchStatementException {
    return inTransaction(h, tx -> {
      SqlWrites.Parsed node = SqlWrites.parse(sql);
      if (SqlWrites.isWrite(node)) {
        long n = writes.execute(getConnection(h.connectionId), SqlWrites.plan(node), List.of(), tx);
        return new ExecuteResult(List.of(MetaResultSet.count(h.connectionId, h.id, n)));
      }
      return super.prepareAndExecute(h, sql, maxRowCount, frameRows(maxRowsInFirstFrame), callback);
    });
  }

  /** What a statement does, in its connection's transaction (null with auto-commit). */
  private interface Work<T> {
    T run(SqlTransaction tx) throws SQLException, NoSuchStatementException;
  }

  /**
   * Runs a statement with its connection's transaction current on this thread (so that scans
   * of kv read and record through it); errors become the SQL errors a client gets.
   */
  private <T> T inTransaction(StatementHandle h, Work<T> work) throws NoSuchStatementException {
    SqlTransaction tx = transactions.get(h.connectionId);
    SqlTransaction before = SqlTransaction.enter(tx);
    try {
      return work.run(tx);
    } catch (SQLException | RuntimeException | Error e) {
      throw sqlError(e);
    } finally {
      SqlTransaction.enter(before);
    }
  }

  @Override
  public ExecuteResult execute(StatementHandle h, List<TypedValue> parameterValues, int maxRowsInFirstFrame)
      throws NoSuchStatementException {
    return inTransaction(h, tx -> {
      SqlWrites.Plan plan = preparedWrites.get(id(h));
      if (plan != null) {
        long n = writes.execute(getConnection(h.connectionId), plan, jdbcValues(parameterValues), tx);
        return new ExecuteResult(List.of(MetaResultSet.count(h.connectionId, h.id, n)));
      }
      return super.execute(h, parameterValues, frameRows(maxRowsInFirstFrame));
    });
  }

  /**
   * Rows per frame sent to the client: at least {@link #FRAME_ROWS}. Avatica's client asks for
   * its fetch size (100 by default), and each frame is one HTTP round trip; a frame of 10,000
   * rows of a few hundred bytes is a few MB, still one bounded piece of a large result.
   */
  static int frameRows(int requested) {
    return requested <= 0 ? FRAME_ROWS : Math.max(requested, FRAME_ROWS);
  }

  static final int FRAME_ROWS = 10_000;

  private static List<Object> jdbcValues(List<TypedValue> parameterValues) {
    Calendar utc = Calendar.getInstance(TimeZone.getTimeZone("UTC"), Locale.ROOT);
    List<Object> params = new ArrayList<>();
    for (TypedValue v : parameterValues) {
      params.add(v == null ? null : v.toJdbc(utc));
    }
    return params;
  }

  /**
   * A batch of a prepared write: each set of parameters runs as the statement would (with
   * auto-commit, each its own Txn; in a transaction, buffered). Stops at the first failure, as
   * JDBC allows; the sets before it stay done.
   */
  @Override
  public ExecuteBatchResult executeBatch(StatementHandle h, List<List<TypedValue>> parameterValues)
      throws NoSuchStatementException {
    SqlWrites.Plan plan = preparedWrites.get(id(h));
    if (plan == null) {
      return super.executeBatch(h, parameterValues);
    }
    return inTransaction(h, tx -> {
      long[] counts = new long[parameterValues.size()];
      for (int i = 0; i < counts.length; i++) {
        counts[i] = writes.execute(getConnection(h.connectionId), plan, jdbcValues(parameterValues.get(i)), tx);
      }
      return new ExecuteBatchResult(counts);
    });
  }

  /** The same, as the protobuf transport delivers it. */
  @Override
  public ExecuteBatchResult executeBatchProtobuf(StatementHandle h,
      List<org.apache.calcite.avatica.proto.Requests.UpdateBatch> updateBatches) throws NoSuchStatementException {
    if (!preparedWrites.containsKey(id(h))) {
      return super.executeBatchProtobuf(h, updateBatches);
    }
    List<List<TypedValue>> values = new ArrayList<>();
    for (org.apache.calcite.avatica.proto.Requests.UpdateBatch b : updateBatches) {
      values.add(b.getParameterValuesList().stream().map(TypedValue::fromProto).toList());
    }
    return executeBatch(h, values);
  }

  /** A batch of statements ({@code Statement.addBatch}): each runs as on its own. */
  @Override
  public ExecuteBatchResult prepareAndExecuteBatch(StatementHandle h, List<String> sqlCommands)
      throws NoSuchStatementException {
    return inTransaction(h, tx -> {
      long[] counts = new long[sqlCommands.size()];
      for (int i = 0; i < counts.length; i++) {
        SqlWrites.Parsed node = SqlWrites.parse(sqlCommands.get(i));
        if (!SqlWrites.isWrite(node)) {
          throw new SQLException("a batch holds only INSERT, UPSERT, UPDATE and DELETE statements", "42000");
        }
        counts[i] = writes.execute(getConnection(h.connectionId), SqlWrites.plan(node), List.of(), tx);
      }
      return new ExecuteBatchResult(counts);
    });
  }

  @Override
  public void closeConnection(ConnectionHandle ch) {
    transactions.remove(ch.id); // an open transaction is rolled back
    preparedWrites.keySet().removeIf(k -> k.startsWith(ch.id + "/"));
    super.closeConnection(ch);
  }

  @Override
  public void closeStatement(StatementHandle h) {
    preparedWrites.remove(id(h));
    super.closeStatement(h);
  }

  @Override
  public Frame fetch(StatementHandle h, long offset, int fetchMaxRowCount)
      throws NoSuchStatementException, MissingResultsException {
    SqlTransaction before = SqlTransaction.enter(transactions.get(h.connectionId));
    try {
      return super.fetch(h, offset, frameRows(fetchMaxRowCount));
    } catch (RuntimeException | Error e) {
      throw sqlError(e);
    } finally {
      SqlTransaction.enter(before);
    }
  }

  /**
   * Auto-commit off starts a transaction ({@link SqlTransaction}); turning it back on commits
   * the open one, as JDBC says. The Calcite connection underneath stays in auto-commit: etcsql
   * keeps the transaction itself.
   */
  @Override
  public ConnectionProperties connectionSync(ConnectionHandle ch, ConnectionProperties props) {
    Boolean autoCommit = props.isAutoCommit();
    if (autoCommit != null) {
      if (autoCommit) {
        SqlTransaction open = transactions.remove(ch.id);
        if (open != null) {
          commitOrFail(open);
        }
      } else {
        transactions.putIfAbsent(ch.id, new SqlTransaction());
      }
    }
    ConnectionProperties rest = props.isAutoCommit() == null ? props
        : new org.apache.calcite.avatica.ConnectionPropertiesImpl(null, props.isReadOnly(),
            props.getTransactionIsolation(), props.getCatalog(), props.getSchema());
    ConnectionProperties result = rest.isEmpty() ? rest : super.connectionSync(ch, rest);
    return result.setAutoCommit(!transactions.containsKey(ch.id));
  }

  /** COMMIT: the open transaction's writes as one Txn; a new transaction starts either way. */
  @Override
  public void commit(ConnectionHandle ch) {
    SqlTransaction tx = transactions.get(ch.id);
    if (tx == null) {
      return; // auto-commit: every statement was committed already
    }
    transactions.put(ch.id, new SqlTransaction());
    commitOrFail(tx);
  }

  /** ROLLBACK: the pending writes are dropped; nothing was sent to etcd. */
  @Override
  public void rollback(ConnectionHandle ch) {
    transactions.computeIfPresent(ch.id, (k, v) -> new SqlTransaction());
  }

  private void commitOrFail(SqlTransaction tx) {
    try {
      writes.commit(tx);
    } catch (SQLException | RuntimeException e) {
      throw sqlError(e);
    }
  }

  /** The error a client gets: SQLState by kind (syntax, unknown object, etcd's refusal...). */
  static AvaticaRuntimeException sqlError(Throwable e) {
    if (e instanceof VirtualMachineError vm) {
      throw vm;
    }
    if (e instanceof AvaticaRuntimeException a) {
      return a;
    }
    String state = "HY000";
    String message = null;
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException q && q.getSQLState() != null && !q.getSQLState().startsWith("HY")) {
        state = q.getSQLState(); // one of etcsql's own (writes, limits)
        message = q.getMessage();
        break;
      }
      if (t instanceof SqlParseException) {
        state = "42000";
        message = t.getMessage();
        break;
      }
      if (t instanceof CalciteContextException c) {
        String m = String.valueOf(c.getMessage());
        state = m.contains("Object '") && m.contains("not found") ? "42S02"
            : m.contains("Column '") && m.contains("not found") ? "42S22" : "42000";
        message = m;
        break;
      }
      if (t instanceof Errors.EtcdApiException x) {
        state = switch (x.code) {
          case OUT_OF_RANGE, INVALID_ARGUMENT -> "22023";
          case UNAVAILABLE -> "08006";
          case DEADLINE_EXCEEDED -> "HYT00";
          case PERMISSION_DENIED, UNAUTHENTICATED -> "28000";
          case UNIMPLEMENTED -> "0A000";
          default -> "HY000";
        };
        message = x.getMessage();
        break;
      }
      if (t instanceof ArithmeticException) {
        state = String.valueOf(t.getMessage()).contains("by zero") ? "22012" : "22003";
        message = t.getMessage();
        break;
      }
      if (t.getCause() == null) {
        message = t.getMessage() == null ? t.toString() : t.getMessage();
      }
    }
    // the client adds 'Error while executing SQL "..."' itself
    return new AvaticaRuntimeException(message, -1, state, AvaticaSeverity.ERROR);
  }
}
