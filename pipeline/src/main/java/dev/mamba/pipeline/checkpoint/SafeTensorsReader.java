package dev.mamba.pipeline.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one {@code .safetensors} file: an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the data. The whole header is validated on {@link #open}; tensors are read one
 * at a time through memory maps of at most 1 GiB (so files and tensors may exceed 2 GB) and
 * upcast to fp32.
 */
public final class SafeTensorsReader implements AutoCloseable {
    /** Largest header accepted, as in the reference implementation (guards against reading garbage as a length). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    /** Bytes mapped at once while reading a tensor. */
    static final int WINDOW_BYTES = 1 << 30;
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;
    private static final int SCRATCH_ELEMS = 1 << 16;

    /** One tensor's header entry. Offsets are relative to the start of the data section. */
    public static final class TensorInfo {
        /** The tensor's key in the header. */
        public final String name;
        /** Stored element type. */
        public final SafeTensorsDType dtype;
        private final long[] shape;
        /** First byte, relative to the data section. */
        public final long begin;
        /** One past the last byte, relative to the data section. */
        public final long end;

        TensorInfo(String name, SafeTensorsDType dtype, long[] shape, long begin, long end) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
            this.begin = begin;
            this.end = end;
        }

        /** The shape (a copy). */
        public long[] shape() {
            return shape.clone();
        }

        /** Number of elements (product of the shape). */
        public long numel() {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }

        /** The shape as "[a, b]". */
        public String shapeString() {
            return Arrays.toString(shape);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path file;
    private final String label;
    private final FileChannel channel;
    private final long dataStart;
    private final long dataLength;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private final int windowBytes;

    private SafeTensorsReader(Path file, FileChannel channel, long dataStart, long dataLength,
                              Map<String, TensorInfo> tensors, Map<String, String> metadata, int windowBytes) {
        this.windowBytes = windowBytes;
        this.file = file;
        this.label = labelOf(file);
        this.channel = channel;
        this.dataStart = dataStart;
        this.dataLength = dataLength;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Opens {@code file} and validates its header (every entry's dtype, shape and offsets against the file size). */
    public static SafeTensorsReader open(Path file) throws IOException {
        return open(file, WINDOW_BYTES);
    }

    /** As {@link #open(Path)}, mapping at most {@code windowBytes} at once (small values let tests cross windows). */
    static SafeTensorsReader open(Path file, int windowBytes) throws IOException {
        if (windowBytes < 8) {
            throw new IllegalArgumentException("windowBytes must be >= 8, is " + windowBytes);
        }
        String label = labelOf(file);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + ": no such file", e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot open: " + e, e);
        }
        try {
            long size = ch.size();
            if (size < 8) {
                throw new CheckpointException(label + ": file has " + size
                        + " bytes, too short for the 8-byte header length (not a safetensors file?)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, label);
            long headerLen = lenBuf.getLong(0); // a u64: negative here means ≥ 2^63
            if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
                throw new CheckpointException(label + ": oversized header: length field says "
                        + Long.toUnsignedString(headerLen) + " bytes, the limit is " + MAX_HEADER_BYTES
                        + " (not a safetensors file, or a corrupt one)");
            }
            if (headerLen > size - 8) {
                throw new CheckpointException(label + ": oversized header: length field says " + headerLen
                        + " bytes but the file has only " + (size - 8) + " bytes after it (truncated file?)");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8, label);
            String headerText;
            try {
                headerText = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(hb.flip()).toString();
            } catch (CharacterCodingException e) {
                throw new CheckpointException(label + ": header is not valid UTF-8", e);
            }
            JsonNode root;
            try {
                root = JSON.readTree(headerText);
            } catch (JsonProcessingException e) {
                throw new CheckpointException(label + ": header is not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (root == null || !root.isObject()) {
                throw new CheckpointException(label + ": header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataLength = size - dataStart;
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    parseMetadata(label, e.getValue(), metadata);
                } else {
                    tensors.put(e.getKey(), parseEntry(label, e.getKey(), e.getValue(), dataLength));
                }
            }
            checkLayout(label, tensors, dataLength);
            return new SafeTensorsReader(file, ch, dataStart, dataLength, tensors, metadata, windowBytes);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * The data section must be the tensors' bytes back to back, each once, with nothing after them, as the
     * safetensors format requires (its reference reader refuses anything else). A header whose offsets overlap
     * would otherwise load silently as wrong weights (two tensors sharing bytes), and gaps or trailing bytes
     * mean the header and the data do not belong together.
     */
    private static void checkLayout(String label, Map<String, TensorInfo> tensors, long dataLength)
            throws CheckpointException {
        List<TensorInfo> byBegin = new ArrayList<>(tensors.values());
        byBegin.sort(Comparator.comparingLong((TensorInfo t) -> t.begin).thenComparingLong(t -> t.end));
        long next = 0;
        TensorInfo prev = null;
        for (TensorInfo t : byBegin) {
            if (t.begin < next) {
                throw new CheckpointException(label + ": tensor " + t.name + " (data_offsets [" + t.begin + ", " + t.end
                        + ")) overlaps tensor " + prev.name + " ([" + prev.begin + ", " + prev.end
                        + ")): each tensor must have bytes of its own");
            }
            if (t.begin > next) {
                throw new CheckpointException(label + ": bytes [" + next + ", " + t.begin + ") of the data section belong "
                        + "to no tensor (before tensor " + t.name + "): the offsets must be contiguous");
            }
            next = t.end;
            prev = t;
        }
        if (next != dataLength) {
            throw new CheckpointException(label + ": the data section has " + dataLength + " bytes but the tensors end at "
                    + next + " (" + (dataLength - next) + " bytes after the last tensor): header and data do not match");
        }
    }

    private static void parseMetadata(String label, JsonNode node, Map<String, String> out) throws CheckpointException {
        if (!node.isObject()) {
            throw new CheckpointException(label + ": __metadata__ must be a JSON object, found " + node.getNodeType());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            out.put(e.getKey(), v.isValueNode() ? v.asText() : v.toString());
        }
    }

    private static TensorInfo parseEntry(String label, String name, JsonNode node, long dataLength)
            throws CheckpointException {
        String where = label + ": tensor " + name;
        if (!node.isObject()) {
            throw new CheckpointException(where + ": header entry must be a JSON object, found " + node.getNodeType());
        }
        JsonNode dtypeNode = required(where, node, "dtype");
        if (!dtypeNode.isTextual()) {
            throw new CheckpointException(where + ": dtype must be a string, found " + dtypeNode);
        }
        SafeTensorsDType dtype = SafeTensorsDType.byName(dtypeNode.asText());
        if (dtype == null) {
            throw new CheckpointException(where + " has unknown dtype \"" + dtypeNode.asText()
                    + "\"; supported dtypes are " + SafeTensorsDType.SUPPORTED);
        }
        JsonNode shapeNode = required(where, node, "shape");
        if (!shapeNode.isArray()) {
            throw new CheckpointException(where + ": shape must be an array of integers, found " + shapeNode);
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(where, "shape", shapeNode, shapeNode.get(i));
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException ex) {
                throw new CheckpointException(where + ": shape " + shapeNode + " has more elements than a long holds");
            }
        }
        JsonNode offNode = required(where, node, "data_offsets");
        if (!offNode.isArray() || offNode.size() != 2) {
            throw new CheckpointException(where + ": data_offsets must be an array [begin, end], found " + offNode);
        }
        long begin = nonNegativeLong(where, "data_offsets", offNode, offNode.get(0));
        long end = nonNegativeLong(where, "data_offsets", offNode, offNode.get(1));
        if (end < begin) {
            throw new CheckpointException(where + ": data_offsets [" + begin + ", " + end + ") end before they begin");
        }
        long needed;
        try {
            needed = Math.multiplyExact(numel, dtype.bytes());
        } catch (ArithmeticException ex) {
            throw new CheckpointException(where + ": shape " + Arrays.toString(shape) + " is too large");
        }
        if (end - begin != needed) {
            throw new CheckpointException(where + ": data_offsets [" + begin + ", " + end + ") hold " + (end - begin)
                    + " bytes, but shape " + Arrays.toString(shape) + " of " + dtype + " (" + dtype.bytes()
                    + " bytes each) needs " + needed);
        }
        if (end > dataLength) {
            throw new CheckpointException(where + " needs bytes [" + begin + ", " + end
                    + ") of the data section but the file has only " + dataLength + " (truncated file?)");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static JsonNode required(String where, JsonNode node, String key) throws CheckpointException {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            throw new CheckpointException(where + ": header entry has no " + key
                    + " (needs dtype, shape and data_offsets)");
        }
        return v;
    }

    private static long nonNegativeLong(String where, String key, JsonNode array, JsonNode v)
            throws CheckpointException {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
            throw new CheckpointException(where + ": " + key + " must hold non-negative integers, found " + array);
        }
        return v.asLong();
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, String label) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new CheckpointException(label + ": unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    static String labelOf(Path file) {
        Path name = file.getFileName();
        return name == null ? file.toString() : name.toString();
    }

    /** The file read. */
    public Path file() {
        return file;
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return new ArrayList<>(tensors.keySet());
    }

    /** Whether the header has a tensor {@code name}. */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The header entry of {@code name}; throws if there is none. */
    public TensorInfo info(String name) throws CheckpointException {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(label + ": no tensor " + name);
        }
        return t;
    }

    /** The {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Bytes of tensor data after the header. */
    public long dataLength() {
        return dataLength;
    }

    /** Reads tensor {@code name}, upcast to fp32; its dtype must be F32, BF16 or F16. */
    public HostTensor read(String name) throws IOException {
        TensorInfo t = info(name);
        return new HostTensor(name, t.shape, readData(t));
    }

    private float[] readData(TensorInfo t) throws IOException {
        if (!t.dtype.isFloatReadable()) {
            throw new CheckpointException(label + ": tensor " + t.name + " has dtype " + t.dtype
                    + ", which cannot be read as floats; supported dtypes are " + SafeTensorsDType.SUPPORTED);
        }
        long numel = t.numel();
        if (numel > MAX_ARRAY) {
            throw new CheckpointException(label + ": tensor " + t.name + " has " + numel
                    + " elements, more than one Java array holds (" + MAX_ARRAY + ")");
        }
        if (!channel.isOpen()) {
            throw new IllegalStateException(label + ": reader has been closed already");
        }
        long fileSize = channel.size();
        if (dataStart + t.end > fileSize) {
            throw new CheckpointException(label + ": tensor " + t.name + " needs bytes [" + t.begin + ", " + t.end
                    + ") of the data section but the file now has only " + (fileSize - dataStart)
                    + " (file changed since it was opened?)");
        }
        int elemBytes = t.dtype.bytes();
        float[] out = new float[(int) numel];
        int perWindow = windowBytes / elemBytes;
        long pos = dataStart + t.begin;
        int done = 0;
        short[] scratch = elemBytes == 2 ? new short[(int) Math.min(SCRATCH_ELEMS, numel)] : null;
        try {
            while (done < numel) {
                int n = (int) Math.min(numel - done, perWindow);
                MappedByteBuffer mb = channel.map(FileChannel.MapMode.READ_ONLY, pos, (long) n * elemBytes);
                mb.order(ByteOrder.LITTLE_ENDIAN);
                if (t.dtype == SafeTensorsDType.F32) {
                    mb.asFloatBuffer().get(out, done, n);
                } else {
                    upcastHalf(mb.asShortBuffer(), t.dtype == SafeTensorsDType.BF16, scratch, out, done, n);
                }
                done += n;
                pos += (long) n * elemBytes;
            }
        } catch (IOException e) {
            throw new CheckpointException(label + ": tensor " + t.name + ": read failed: " + e, e);
        }
        return out;
    }

    private static void upcastHalf(ShortBuffer src, boolean bf16, short[] scratch, float[] out, int off, int n) {
        int done = 0;
        while (done < n) {
            int m = Math.min(scratch.length, n - done);
            src.get(scratch, 0, m);
            int o = off + done;
            if (bf16) {
                for (int i = 0; i < m; i++) {
                    out[o + i] = Float.intBitsToFloat(scratch[i] << 16);
                }
            } else {
                for (int i = 0; i < m; i++) {
                    out[o + i] = HalfFloats.f16ToFloat(scratch[i]);
                }
            }
            done += m;
        }
    }

    /** Closes the file; tensors already read stay valid. */
    @Override
    public void close() throws IOException {
        channel.close();
    }
}
