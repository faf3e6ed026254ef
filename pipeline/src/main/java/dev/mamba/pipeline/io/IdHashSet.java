package dev.mamba.pipeline.io;

import java.nio.charset.StandardCharsets;

/**
 * A set of strings kept as 128-bit hashes in two open-addressing {@code long} arrays: ~32 bytes per id at
 * the worst load, against ~100 bytes plus the string itself in a {@code HashSet<String>}. It holds the ids
 * of every record a task has read from a file (a gzip FASTQ of tens of millions of reads is read whole by
 * one task). Two different 64-bit hashes of the UTF-8 bytes, each finished by splitmix64, make a false
 * "seen before" (two ids with equal 128-bit hashes) astronomically unlikely: ~n²/2^129 for n ids.
 */
final class IdHashSet {
    private long[] hi = new long[1024];
    private long[] lo = new long[1024];
    private boolean[] used = new boolean[1024];
    private int size;

    /** Adds {@code id}; true when it was not in the set. */
    boolean add(String id) {
        byte[] b = id.getBytes(StandardCharsets.UTF_8);
        long h1 = 0xcbf29ce484222325L, h2 = 0x6a09e667f3bcc909L;
        for (byte x : b) {
            h1 = (h1 ^ (x & 0xff)) * 0x100000001b3L;          // FNV-1a
            h2 = h2 * 0x9E3779B97F4A7C15L + (x & 0xff) + 1;     // a polynomial hash with a different multiplier
        }
        h1 = mix(h1 ^ b.length);
        h2 = mix(h2 + b.length);
        if (2 * (size + 1) > used.length) {
            grow();
        }
        return insert(h1, h2);
    }

    int size() {
        return size;
    }

    private boolean insert(long h1, long h2) {
        int mask = used.length - 1;
        for (int i = (int) h1 & mask; ; i = (i + 1) & mask) {
            if (!used[i]) {
                used[i] = true;
                hi[i] = h1;
                lo[i] = h2;
                size++;
                return true;
            }
            if (hi[i] == h1 && lo[i] == h2) {
                return false;
            }
        }
    }

    private void grow() {
        long[] oh = hi, ol = lo;
        boolean[] ou = used;
        hi = new long[ou.length * 2];
        lo = new long[ou.length * 2];
        used = new boolean[ou.length * 2];
        size = 0;
        for (int i = 0; i < ou.length; i++) {
            if (ou[i]) {
                insert(oh[i], ol[i]);
            }
        }
    }

    private static long mix(long z) {  // splitmix64's finaliser
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
