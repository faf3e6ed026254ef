package dev.mamba.jobs.spark;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whether Spark's Hadoop client can run on a JVM, and what a user on one where it cannot is told. */
class SparkSessionsTest {
    @Test
    void aJvmWhereGetSubjectWorksRunsSpark() {
        for (int v : new int[]{17, 21, 23}) {
            assertNull(SparkSessions.unsupportedJdk(v, true), "JDK " + v);
        }
    }

    @Test
    void theTestJvmIsOneOfThem() {
        // the build runs on JDK 17, where Subject.getSubject still works (deprecated, not removed)
        assertEquals(Runtime.version().feature() < 24, SparkSessions.getSubjectWorks());
    }

    @Test
    void beforeJdk24TheSecurityManagerFlagIsTheWayOut() {
        for (int v : new int[]{21, 23}) {  // 21: reportedly, updates that backported JDK-8296244
            String why = SparkSessions.unsupportedJdk(v, false);
            assertNotNull(why);
            assertTrue(why.contains("(" + v + ")") && why.contains("-Djava.security.manager=allow"), why);
        }
    }

    @Test
    void jdk24AndLaterAreRefusedByName() {
        for (int v : new int[]{24, 25, 26}) {
            String why = SparkSessions.unsupportedJdk(v, false);
            assertNotNull(why, "JDK " + v);
            assertTrue(why.contains("JDK " + v) && why.contains("JDK 17 or 21"), why);
        }
    }
}
