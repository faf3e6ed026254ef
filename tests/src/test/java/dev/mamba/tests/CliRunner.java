package dev.mamba.tests;

import dev.mamba.jobs.cli.Main;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the CLI in-process and captures what it prints on stderr. */
final class CliRunner {
    final int exit;
    final String err;

    private CliRunner(int exit, String err) {
        this.exit = exit;
        this.err = err;
    }

    static synchronized CliRunner run(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream tee = new PrintStream(buf, true, StandardCharsets.UTF_8);
        System.setErr(tee);
        int rc;
        try {
            rc = Main.run(args);
        } finally {
            System.setErr(old);
        }
        String s = buf.toString(StandardCharsets.UTF_8);
        old.print(s);
        return new CliRunner(rc, s);
    }
}
