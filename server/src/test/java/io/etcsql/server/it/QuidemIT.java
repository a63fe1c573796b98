package io.etcsql.server.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.List;
import java.util.stream.Stream;
import net.hydromatic.quidem.Quidem;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SQL scripts with their expected output (Quidem {@code .iq} files in {@code src/test/resources/sql}),
 * the reference for what etcsql's SQL answers. Each script runs against a fresh member, so its
 * revisions are the same on every run; connection {@code etcsql} ({@code !use etcsql}) is the JDBC driver on that
 * member. The actual output is written to {@code target/quidem/}; a script passes when it equals
 * the script itself. To accept new output after a deliberate change, review the diff and copy
 * the file back.
 */
class QuidemIT {
  private static final Path SCRIPTS = Path.of("src/test/resources/sql");

  static Stream<String> scripts() throws IOException {
    try (Stream<Path> s = Files.list(SCRIPTS)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".iq")).sorted().toList().stream();
    }
  }

  @ParameterizedTest
  @MethodSource("scripts")
  void scriptGivesItsExpectedOutput(String name) throws Exception {
    assumeFalse(ServerProcess.targetIsEtcd(), "etcsql serves SQL itself");
    Path in = SCRIPTS.resolve(name);
    Path out = Path.of("target/quidem").resolve(name);
    Files.createDirectories(out.getParent());
    try (Cluster cluster = Cluster.startWithSql(1);
        Reader r = Files.newBufferedReader(in, StandardCharsets.UTF_8);
        Writer w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
      String url = cluster.jdbcUrl();
      new Quidem(Quidem.configBuilder().withReader(r).withWriter(w)
          .withConnectionFactory((connection, reference) -> reference || !connection.equals("etcsql")
              ? null : DriverManager.getConnection(url))
          .build()).execute();
    }
    List<String> expected = Files.readAllLines(in, StandardCharsets.UTF_8);
    List<String> actual = Files.readAllLines(out, StandardCharsets.UTF_8);
    assertEquals(String.join("\n", expected), String.join("\n", actual),
        "output of " + name + " (see " + out.toAbsolutePath() + ")");
  }
}
