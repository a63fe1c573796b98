package io.etcsql.server.it;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * When a test fails, prints the tail of every running member's log and keeps the clusters' directories (data dirs
 * and logs) instead of deleting them on close. Use with {@code @ExtendWith(DumpLogsOnFailure.class)}.
 */
public final class DumpLogsOnFailure implements TestWatcher {

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        for (Cluster c : Cluster.open()) {
            c.markFailed();
            System.err.println("===== " + context.getDisplayName() + " failed; cluster " + c.baseDir()
                    + " is kept =====");
            System.err.println(c.logTails(40));
        }
    }
}
