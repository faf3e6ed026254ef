package dev.mamba.jobs.spark;

import dev.mamba.pipeline.io.IoMessages;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A job's output directory, written under a hidden sibling and renamed into place only when every part
 * is complete, so a failed job leaves nothing that looks like finished output. A completed directory
 * also holds {@code _SUCCESS}.
 * <p>
 * {@code --overwrite} deletes the old directory at commit, so the constructor first checks that this can only
 * remove a job's output: an existing target must be a directory holding {@code _SUCCESS} (a finished job's
 * output) or an empty one, and it must not be, or contain, a path the job reads (inputs, the model) or the
 * working directory. It also creates the staging directory, so an output that cannot be written fails here,
 * before any work, naming the output.
 */
public final class OutputDir implements AutoCloseable {
    private final Path target;
    private final Path staging;
    private final boolean overwrite;
    private boolean committed;

    public OutputDir(Path target, boolean overwrite) {
        this(target, overwrite, List.of());
    }

    /** {@code reads}: the paths the job reads, which the output may not be or contain. */
    public OutputDir(Path target, boolean overwrite, Collection<Path> reads) {
        this.target = target.toAbsolutePath().normalize();
        this.overwrite = overwrite;
        if (Files.exists(this.target, LinkOption.NOFOLLOW_LINKS)) {
            if (!overwrite) {
                throw new IllegalArgumentException("output " + target + " already exists (use --overwrite to replace it)");
            }
            checkReplaceable(reads);
        }
        Path parent = this.target.getParent();
        if (parent == null) {
            throw new IllegalArgumentException("output " + target + " is a file-system root");
        }
        this.staging = parent.resolve("." + this.target.getFileName() + ".incomplete-" + UUID.randomUUID());
        try {
            Files.createDirectories(staging);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write output " + target + ": " + IoMessages.reason(e), e);
        }
    }

    private void checkReplaceable(Collection<Path> reads) {
        Path real = real(target);
        List<Path> kept = new ArrayList<>(reads);
        kept.add(Path.of(""));  // the working directory
        for (Path k : kept) {
            if (real(k).startsWith(real)) {
                String what = k.toString().isEmpty() ? "the working directory" : "the job's input " + k;
                throw new IllegalArgumentException("output " + target + (real(k).equals(real) ? " is " : " contains ")
                        + what + ": --overwrite would delete it; choose another --output");
            }
        }
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("output " + target + " exists and is not a directory: --overwrite only "
                    + "replaces a job's output directory; remove it yourself or choose another --output");
        }
        if (!Files.exists(target.resolve("_SUCCESS"))) {
            boolean empty;
            try (Stream<Path> l = Files.list(target)) {
                empty = l.findAny().isEmpty();
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot list output " + target + ": " + IoMessages.reason(e), e);
            }
            if (!empty) {
                throw new IllegalArgumentException("output " + target + " exists and is not a job's output (no _SUCCESS "
                        + "in it): --overwrite only replaces those; remove it yourself or choose another --output");
            }
        }
    }

    /** The path with links resolved where it exists (an input may be a link into the output), else as given. */
    private static Path real(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        try {
            return abs.toRealPath();
        } catch (IOException e) {
            return abs;
        }
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
