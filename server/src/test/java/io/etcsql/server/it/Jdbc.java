package io.etcsql.server.it;

import java.io.IOException;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** What the SQL tests share: rows as text, and waiting for an endpoint to listen. */
final class Jdbc {
  private Jdbc() {
  }

  /** The rows of {@code sql} on a fresh connection to {@code url}, each as "col1|col2|...". */
  static List<String> rows(String url, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      return rows(rs);
    }
  }

  /** The remaining rows of {@code rs}, each as "col1|col2|..." (NULL as "null"). */
  static List<String> rows(ResultSet rs) throws SQLException {
    List<String> out = new ArrayList<>();
    int n = rs.getMetaData().getColumnCount();
    while (rs.next()) {
      StringBuilder b = new StringBuilder();
      for (int i = 1; i <= n; i++) {
        b.append(i == 1 ? "" : "|").append(rs.getString(i));
      }
      out.add(b.toString());
    }
    return out;
  }

  /** Waits until something accepts connections on 127.0.0.1:{@code port}. */
  static void awaitPort(int port, Duration timeout) {
    long end = System.nanoTime() + timeout.toNanos();
    while (true) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        if (System.nanoTime() > end) {
          throw new IllegalStateException("nothing listens on 127.0.0.1:" + port, e);
        }
        ServerProcess.sleep(100);
      }
    }
  }
}
