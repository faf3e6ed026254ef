package dev.mamba.jobs.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A job's output directory, written under a hidden sibling and renamed into place only when every part
 * is complete, so a failed job leaves nothing that looks like finished output. A completed directory
 * also holds {@code _SUCCESS}.
 */
public final class OutputDir implements AutoCloseable {
    private final Path target;
    private final Path staging;
    private final boolean overwrite;
    private boolean committed;

    public OutputDir(Path target, boolean overwrite) {
        this.target = target.toAbsolutePath().normalize();
        this.overwrite = overwrite;
        if (Files.exists(this.target) && !overwrite) {
            throw new IllegalArgumentException("output " + target + " already exists (use --overwrite to replace it)");
        }
        Path parent = this.target.getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + parent, e);
        }
        this.staging = parent.resolve("." + this.target.getFileName() + ".incomplete-" + UUID.randomUUID());
    }

    /** Where the parts are written while the job runs. */
    public Path staging() {
        return staging;
    }

    /** A part's path inside the staging directory, as a URI string for Spark. */
    public String part(String name) {
        return staging.resolve(name).toUri().toString();
    }

    /** Marks complete and moves into place. */
    public void commit() throws IOException {
        Files.createDirectories(staging);
        Files.writeString(staging.resolve("_SUCCESS"), "");
        if (Files.exists(target)) {
            if (!overwrite) {
                throw new FileAlreadyExistsException(target + " appeared while the job ran");
            }
            delete(target);
        }
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
    }

    /** Deletes the staging directory unless committed. */
    @Override
    public void close() {
        if (!committed) {
            try {
                delete(staging);
            } catch (IOException ignored) {
                // best effort: a leftover hidden .incomplete directory never looks like output
            }
        }
    }

    static void delete(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(x);
            }
        }
    }
}
