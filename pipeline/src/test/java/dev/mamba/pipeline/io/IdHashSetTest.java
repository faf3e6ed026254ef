package dev.mamba.pipeline.io;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdHashSetTest {
    /** Agrees with a HashSet on many ids (growth included), near-identical ones and non-ASCII ones. */
    @Test
    void agreesWithAHashSet() {
        IdHashSet set = new IdHashSet();
        Set<String> ref = new HashSet<>();
        Random rnd = new Random(1);
        for (int i = 0; i < 300_000; i++) {
            // read names differ in a digit or two; a third of the draws repeat an earlier one
            String id = rnd.nextInt(3) == 0 && i > 0 ? "SRR1234." + rnd.nextInt(i) + "/1" : "SRR1234." + i + "/1";
            assertEquals(ref.add(id), set.add(id), id);
        }
        assertEquals(ref.size(), set.size());
        assertTrue(set.add("é"));
        assertFalse(set.add("é"));
        assertTrue(set.add(""));
        assertFalse(set.add(""));
        assertTrue(set.add("ab") && set.add("ba"), "order matters");
    }
}
