package dev.mamba.pipeline.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mamba.pipeline.io.IoMessages;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Streams tensors into a {@code .safetensors} file. The tensor list is given up front so the header can be written
 * first; data then arrives through {@link #write} in header order, possibly in several pieces per tensor, and is
 * stored as F32, BF16 or F16 (rounded to nearest even). Everything goes to {@code <file>.tmp}, renamed to
 * {@code <file>} by {@link #close} only when every tensor is complete; otherwise the partial file is deleted.
 */
public final class SafeTensorsWriter implements AutoCloseable {
    /** One tensor to write: its name, shape and stored dtype. */
    public static final class Spec {
        /** The tensor's key in the header. */
        public final String name;
        private final long[] shape;
        /** Stored element type. */
        public final SafeTensorsDType dtype;

        /** A tensor stored as {@code dtype} (F32, BF16 or F16). */
        public Spec(String name, long[] shape, SafeTensorsDType dtype) {
            if (name == null || name.isEmpty() || name.equals("__metadata__")) {
                throw new IllegalArgumentException("invalid tensor name: " + name);
            }
            if (!dtype.isFloatReadable()) {
                throw new IllegalArgumentException("tensor " + name + ": cannot write dtype " + dtype
                        + "; supported dtypes are " + SafeTensorsDType.SUPPORTED);
            }
            for (long s : shape) {
                if (s < 0) {
                    throw new IllegalArgumentException("tensor " + name + ": negative dimension in " + Arrays.toString(shape));
                }
            }
            this.name = name;
            this.shape = shape.clone();
            this.dtype = dtype;
        }

        /** A tensor stored as F32. */
        public Spec(String name, long[] shape) {
            this(name, shape, SafeTensorsDType.F32);
        }

        /** The shape (a copy). */
        public long[] shape() {
            return shape.clone();
        }

        long numel() {
            long n = 1;
            for (long s : shape) {
                n = Math.multiplyExact(n, s);
            }
            return n;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BUFFER_BYTES = 1 << 20;

    private final Path file;
    private final Path tmp;
    private final String label;
    private final List<Spec> specs;
    private final long[] numel;
    private final FileChannel channel;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private int current;
    private long writtenInCurrent;
    private boolean failed;
    private boolean closed;

    /** Starts {@code file} (as {@code file.tmp}) holding {@code tensors} in this order, with no metadata. */
    public SafeTensorsWriter(Path file, List<Spec> tensors) throws IOException {
        this(file, tensors, Map.of());
    }

    /** Starts {@code file} (as {@code file.tmp}) holding {@code tensors} in this order, plus {@code __metadata__}. */
    public SafeTensorsWriter(Path file, List<Spec> tensors, Map<String, String> metadata) throws IOException {
        this.file = file;
        this.tmp = file.resolveSibling(SafeTensorsReader.labelOf(file) + ".tmp");
        this.label = SafeTensorsReader.labelOf(file);
        this.specs = List.copyOf(tensors);
        this.numel = new long[specs.size()];
        Set<String> seen = new HashSet<>();
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            if (!seen.add(s.name)) {
                throw new IllegalArgumentException(label + ": tensor " + s.name + " listed twice");
            }
            numel[i] = s.numel();
            long bytes = Math.multiplyExact(numel[i], s.dtype.bytes());
            ObjectNode e = header.putObject(s.name);
            e.put("dtype", s.dtype.name());
            ArrayNode shape = e.putArray("shape");
            for (long d : s.shape) {
                shape.add(d);
            }
            e.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        // The data section starts 8-byte aligned; the spec allows padding the header with trailing spaces.
        int padded = (json.length + 7) & ~7;
        try {
            Files.deleteIfExists(tmp);
            this.channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException e) {
            // NIO names only the .tmp path; say which output it was for and why it failed
            throw new IOException("cannot write " + file + ": " + IoMessages.reason(e), e);
        }
        try {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            head.flip();
            while (head.hasRemaining()) {
                channel.write(head);
            }
        } catch (IOException | RuntimeException e) {
            failed = true;
            closed = true;
            discard();
            throw e;
        }
        skipEmpty();
    }

    private void skipEmpty() {
        while (current < specs.size() && numel[current] == 0) {
            current++;
        }
    }

    /** The tensor that {@link #write} expects next, or null when all are complete. */
    public String nextTensor() {
        return current < specs.size() ? specs.get(current).name : null;
    }

    /** Appends {@code len} values of tensor {@code name}, which must be the tensor in progress. */
    public void write(String name, float[] data, int off, int len) throws IOException {
        if (closed) {
            throw new IllegalStateException(label + ": writer has been closed already");
        }
        if (failed) {
            throw new IllegalStateException(label + ": an earlier write failed; the file will be discarded");
        }
        if (off < 0 || len < 0 || off > data.length - len) {
            failed = true;
            throw new IndexOutOfBoundsException("tensor " + name + ": range [" + off + ", " + off + "+" + len
                    + ") outside an array of " + data.length);
        }
        if (len == 0) {
            return;
        }
        if (current >= specs.size()) {
            failed = true;
            throw new IllegalStateException(label + ": tensor " + name + ": all " + specs.size()
                    + " tensors are already complete");
        }
        Spec s = specs.get(current);
        if (!s.name.equals(name)) {
            failed = true;
            throw new IllegalStateException(label + ": expected data for tensor " + s.name + " (" + writtenInCurrent
                    + " of " + numel[current] + " values written), got tensor " + name);
        }
        if (writtenInCurrent + len > numel[current]) {
            failed = true;
            throw new IllegalStateException(label + ": tensor " + name + " holds " + numel[current] + " values ("
                    + Arrays.toString(s.shape) + "), " + writtenInCurrent + " written, " + len + " more given");
        }
        try {
            encode(s.dtype, data, off, len);
        } catch (IOException | RuntimeException e) {
            failed = true;
            throw e;
        }
        writtenInCurrent += len;
        if (writtenInCurrent == numel[current]) {
            current++;
            writtenInCurrent = 0;
            skipEmpty();
        }
    }

    /** Appends all of {@code data} to tensor {@code name}. */
    public void write(String name, float[] data) throws IOException {
        write(name, data, 0, data.length);
    }

    private void encode(SafeTensorsDType dtype, float[] data, int off, int len) throws IOException {
        int elemBytes = dtype.bytes();
        int i = off;
        int end = off + len;
        while (i < end) {
            if (buf.remaining() < elemBytes) {
                flush();
            }
            int n = Math.min(end - i, buf.remaining() / elemBytes);
            switch (dtype) {
                case F32:
                    buf.asFloatBuffer().put(data, i, n);
                    buf.position(buf.position() + n * 4);
                    break;
                case BF16:
                    for (int k = 0; k < n; k++) {
                        buf.putShort(HalfFloats.floatToBf16(data[i + k]));
                    }
                    break;
                case F16:
                    for (int k = 0; k < n; k++) {
                        buf.putShort(HalfFloats.floatToF16(data[i + k]));
                    }
                    break;
                default:
                    throw new IllegalStateException("unreachable: " + dtype);
            }
            i += n;
        }
    }

    private void flush() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        buf.clear();
    }

    /**
     * Finishes the file: when every tensor is complete, renames {@code file.tmp} to {@code file}; otherwise deletes
     * the partial file and throws (unless an earlier call already failed and threw).
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (failed) {
            discard();
            return;
        }
        if (current < specs.size()) {
            Spec s = specs.get(current);
            discard();
            throw new CheckpointException(label + ": closed before all tensors were written: tensor " + s.name
                    + " has " + writtenInCurrent + " of " + numel[current] + " values"
                    + (specs.size() - current > 1 ? ", " + (specs.size() - current - 1) + " more tensors not started" : "")
                    + "; partial file deleted");
        }
        try {
            flush();
            channel.force(false);
            channel.close();
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (java.nio.file.FileSystemException e) {
            discard();
            throw new IOException("cannot write " + file + ": " + IoMessages.reason(e), e);
        } catch (IOException | RuntimeException e) {
            discard();
            throw e;
        }
    }

    private void discard() {
        try {
            channel.close();
        } catch (IOException | RuntimeException ignored) {
            // the partial file is deleted next; a close failure changes nothing for the caller
        }
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // best effort: a leftover .tmp never looks like a finished checkpoint
        }
    }

    /** Writes {@code tensors} (in map order) to {@code file} as F32. */
    public static void write(Path file, Map<String, HostTensor> tensors) throws IOException {
        write(file, tensors, SafeTensorsDType.F32);
    }

    /** Writes {@code tensors} (in map order, keyed by checkpoint name) to {@code file} stored as {@code dtype}. */
    public static void write(Path file, Map<String, HostTensor> tensors, SafeTensorsDType dtype) throws IOException {
        List<Spec> specs = new ArrayList<>(tensors.size());
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            specs.add(new Spec(e.getKey(), e.getValue().shape, dtype));
        }
        try (SafeTensorsWriter w = new SafeTensorsWriter(file, specs)) {
            for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
                w.write(e.getKey(), e.getValue().data);
            }
        }
    }

    /**
     * Writes {@code tensors} as {@code shards} files {@code model-0000i-of-0000n.safetensors} in {@code dir} plus
     * {@code model.safetensors.index.json}, splitting the map order into runs of about equal bytes.
     */
    public static void writeSharded(Path dir, Map<String, HostTensor> tensors, int shards, SafeTensorsDType dtype)
            throws IOException {
        if (shards < 1 || shards > tensors.size()) {
            throw new IllegalArgumentException("shards must be in [1, " + tensors.size() + "], is " + shards);
        }
        long total = 0;
        for (HostTensor t : tensors.values()) {
            total += t.data.length;
        }
        List<Map<String, HostTensor>> parts = new ArrayList<>();
        for (int i = 0; i < shards; i++) {
            parts.add(new LinkedHashMap<>());
        }
        long before = 0;
        int remainingTensors = tensors.size();
        int part = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            // move on when this shard has its share, but leave at least one tensor for every later shard
            while (part < shards - 1 && !parts.get(part).isEmpty()
                    && (before >= total * (part + 1) / shards || remainingTensors <= shards - 1 - part)) {
                part++;
            }
            parts.get(part).put(e.getKey(), e.getValue());
            before += e.getValue().data.length;
            remainingTensors--;
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total * dtype.bytes());
        ObjectNode map = index.putObject("weight_map");
        for (int i = 0; i < shards; i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards);
            write(dir.resolve(name), parts.get(i), dtype);
            for (String t : parts.get(i).keySet()) {
                map.put(t, name);
            }
        }
        Files.write(dir.resolve(SafeTensorsCheckpoint.INDEX_FILE),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
    }
}
