package io.etcsql.sqlfrontend;

import java.sql.SQLException;
import java.util.List;
import java.util.Properties;
import org.apache.calcite.avatica.AvaticaSeverity;
import org.apache.calcite.avatica.MissingResultsException;
import org.apache.calcite.avatica.NoSuchStatementException;
import org.apache.calcite.avatica.jdbc.JdbcMeta;
import org.apache.calcite.avatica.remote.AvaticaRuntimeException;
import org.apache.calcite.avatica.remote.TypedValue;
import org.apache.calcite.runtime.CalciteContextException;
import org.apache.calcite.sql.parser.SqlParseException;

/**
 * The server side of every SQL connection: Avatica's JDBC bridge to a Calcite connection, with
 * errors reported as a SQL client expects them: a SQLState and the message that says what went
 * wrong, not a chain of wrappers.
 */
final class EtcdMeta extends JdbcMeta {
  EtcdMeta(String url, Properties info) throws SQLException {
    super(url, info);
  }

  @Override
  public StatementHandle prepare(ConnectionHandle ch, String sql, long maxRowCount) {
    try {
      return super.prepare(ch, sql, maxRowCount);
    } catch (RuntimeException | Error e) {
      throw sqlError(e);
    }
  }

  @Override
  public ExecuteResult prepareAndExecute(StatementHandle h, String sql, long maxRowCount, int maxRowsInFirstFrame,
      PrepareCallback callback) throws NoSuchStatementException {
    try {
      return super.prepareAndExecute(h, sql, maxRowCount, maxRowsInFirstFrame, callback);
    } catch (RuntimeException | Error e) {
      throw sqlError(e);
    }
  }

  @Override
  public ExecuteResult execute(StatementHandle h, List<TypedValue> parameterValues, int maxRowsInFirstFrame)
      throws NoSuchStatementException {
    try {
      return super.execute(h, parameterValues, maxRowsInFirstFrame);
    } catch (RuntimeException | Error e) {
      throw sqlError(e);
    }
  }

  @Override
  public Frame fetch(StatementHandle h, long offset, int fetchMaxRowCount)
      throws NoSuchStatementException, MissingResultsException {
    try {
      return super.fetch(h, offset, fetchMaxRowCount);
    } catch (RuntimeException | Error e) {
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
