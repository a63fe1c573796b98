package io.etcsql.kvstore;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A fresh store in a temporary directory for every test, closed after it. */
abstract class StoreTestBase {
  @TempDir
  Path dir;
  KvStoreFixture s;

  @BeforeEach
  void open() throws Exception {
    s = new KvStoreFixture(dir);
  }

  @AfterEach
  void close() {
    s.close();
  }
}
