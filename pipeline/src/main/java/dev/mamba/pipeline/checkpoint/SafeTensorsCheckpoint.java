package dev.mamba.pipeline.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a model directory: one {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json} (Hugging Face layout). Each tensor is read from the file that holds it.
 */
public final class SafeTensorsCheckpoint implements AutoCloseable {
    /** The single-file checkpoint name. */
    public static final String SINGLE_FILE = "model.safetensors";
    /** The sharded checkpoint index name. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final String label;
    private final List<SafeTensorsReader> readers;
    private final Map<String, SafeTensorsReader> byName;

    private SafeTensorsCheckpoint(String label, List<SafeTensorsReader> readers, Map<String, SafeTensorsReader> byName) {
        this.label = label;
        this.readers = readers;
        this.byName = byName;
    }

    /** Opens {@code modelDir}/model.safetensors, or else the shards of {@code modelDir}/model.safetensors.index.json. */
    public static SafeTensorsCheckpoint open(Path modelDir) throws IOException {
        Path single = modelDir.resolve(SINGLE_FILE);
        if (Files.exists(single)) {
            return openFile(single);
        }
        Path index = modelDir.resolve(INDEX_FILE);
        if (Files.exists(index)) {
            return openIndex(index);
        }
        String hint = "";
        if (Files.exists(modelDir.resolve("pytorch_model.bin")) || Files.exists(modelDir.resolve("pytorch_model.bin.index.json"))) {
            hint = "; found pytorch_model.bin, but only safetensors is supported (convert it, e.g. with "
                    + "transformers: model.save_pretrained(dir, safe_serialization=True))";
        }
        throw new CheckpointException(modelDir + ": no model weights: looked for " + SINGLE_FILE + " and " + INDEX_FILE + hint);
    }

    /** Opens one safetensors file. */
    public static SafeTensorsCheckpoint openFile(Path file) throws IOException {
        SafeTensorsReader r = SafeTensorsReader.open(file);
        Map<String, SafeTensorsReader> byName = new LinkedHashMap<>();
        for (String n : r.names()) {
            byName.put(n, r);
        }
        return new SafeTensorsCheckpoint(SafeTensorsReader.labelOf(file), List.of(r), byName);
    }

    /** Opens the shards listed in a {@code model.safetensors.index.json} ({@code weight_map}: tensor → shard file). */
    public static SafeTensorsCheckpoint openIndex(Path indexFile) throws IOException {
        String label = SafeTensorsReader.labelOf(indexFile);
        Path dir = indexFile.toAbsolutePath().getParent();
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(indexFile));
        } catch (NoSuchFileException e) {
            throw new CheckpointException(indexFile + ": no such file", e);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(label + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(label + ": not a JSON object");
        }
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new CheckpointException(label + ": needs an object \"weight_map\" (tensor name → shard file)"
                    + (map == null ? ", found none" : ", found " + map.getNodeType()));
        }
        Map<String, String> shardOf = new LinkedHashMap<>();
        Map<String, List<String>> tensorsOfShard = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new CheckpointException(label + ": weight_map entry for tensor " + e.getKey()
                        + " must be a file name, found " + e.getValue());
            }
            String shard = e.getValue().asText();
            Path p;
            try {
                p = Path.of(shard).isAbsolute() ? null : dir.resolve(shard).normalize();
            } catch (InvalidPathException bad) {
                throw new CheckpointException(label + ": weight_map entry for tensor " + e.getKey()
                        + " names shard " + shard + ", which is not a valid file name", bad);
            }
            if (p == null || !p.startsWith(dir)) {
                throw new CheckpointException(label + ": weight_map entry for tensor " + e.getKey() + " names shard "
                        + shard + ", which is outside the model directory");
            }
            shardOf.put(e.getKey(), shard);
            tensorsOfShard.computeIfAbsent(shard, k -> new ArrayList<>()).add(e.getKey());
        }
        if (shardOf.isEmpty()) {
            throw new CheckpointException(label + ": weight_map is empty");
        }
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : tensorsOfShard.entrySet()) {
            if (!Files.exists(dir.resolve(e.getKey()))) {
                List<String> ts = e.getValue();
                missing.add(e.getKey() + " (holding " + ts.get(0)
                        + (ts.size() > 1 ? " and " + (ts.size() - 1) + " more tensors" : "") + ")");
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException(label + ": shard file" + (missing.size() > 1 ? "s " : " ")
                    + String.join(", ", missing) + " not found in " + dir);
        }
        List<SafeTensorsReader> readers = new ArrayList<>();
        Map<String, SafeTensorsReader> byName = new LinkedHashMap<>();
        try {
            Map<String, SafeTensorsReader> byShard = new LinkedHashMap<>();
            for (String shard : tensorsOfShard.keySet()) {
                SafeTensorsReader r = SafeTensorsReader.open(dir.resolve(shard));
                readers.add(r);
                byShard.put(shard, r);
            }
            // The index is authoritative (as in transformers): tensors a shard holds but the index omits are ignored.
            for (Map.Entry<String, String> e : shardOf.entrySet()) {
                SafeTensorsReader r = byShard.get(e.getValue());
                if (!r.contains(e.getKey())) {
                    throw new CheckpointException(label + " lists tensor " + e.getKey() + " in " + e.getValue()
                            + ", but that file has no such tensor");
                }
                byName.put(e.getKey(), r);
            }
        } catch (IOException | RuntimeException e) {
            for (SafeTensorsReader r : readers) {
                try {
                    r.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        return new SafeTensorsCheckpoint(label, readers, byName);
    }

    /** "model.safetensors" or "model.safetensors.index.json": what was opened, for messages. */
    public String label() {
        return label;
    }

    /** All tensor names (header or index order). */
    public List<String> names() {
        return new ArrayList<>(byName.keySet());
    }

    /** Whether the checkpoint has tensor {@code name}. */
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The header entry of {@code name}. */
    public SafeTensorsReader.TensorInfo info(String name) throws CheckpointException {
        return reader(name).info(name);
    }

    /** The file name holding {@code name} (a shard name when sharded), for messages. */
    public String fileOf(String name) throws CheckpointException {
        return SafeTensorsReader.labelOf(reader(name).file());
    }

    /** Reads {@code name} upcast to fp32. */
    public HostTensor read(String name) throws IOException {
        return reader(name).read(name);
    }

    private SafeTensorsReader reader(String name) throws CheckpointException {
        SafeTensorsReader r = byName.get(name);
        if (r == null) {
            throw new CheckpointException(label + ": no tensor " + name);
        }
        return r;
    }

    /** Closes every file. */
    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafeTensorsReader r : readers) {
            try {
                r.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
