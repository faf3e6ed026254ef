package dev.mamba.jobs.spark;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which JDKs Spark's Hadoop client runs on, and what a user on another one is told. */
class SparkSessionsTest {
    @Test
    void jdk17To22RunSpark() {
        for (int v = 17; v <= 22; v++) {
            assertNull(SparkSessions.unsupportedJdk(v, null), "JDK " + v);
        }
    }

    @Test
    void jdk23NeedsTheSecurityManagerAllowed() {
        String why = SparkSessions.unsupportedJdk(23, null);
        assertNotNull(why);
        assertTrue(why.contains("-Djava.security.manager=allow") && why.contains("JDK 17 or 21"), why);
        assertNull(SparkSessions.unsupportedJdk(23, "allow"));
    }

    @Test
    void jdk24AndLaterAreRefusedByName() {
        for (int v : new int[]{24, 25, 26}) {
            String why = SparkSessions.unsupportedJdk(v, "allow");  // the flag no longer helps
            assertNotNull(why, "JDK " + v);
            assertTrue(why.contains("JDK " + v) && why.contains("JDK 17 or 21"), why);
        }
    }
}
