package dev.mamba.pipeline.io.vocab;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Maps symbol bytes to token ids through a 256-entry table, from a JSON object such as
 * {@code {"A": 0, "C": 1, "G": 2, "T": 3, "N": 4, "<unk>": 5}}.
 *
 * <p>Keys are single ASCII characters (one byte each) or special tokens written in angle or square brackets
 * ({@code <pad>}, {@code [CLS]}); special tokens are kept for {@link #specialId} but never produced by
 * encoding, except {@code <unk>}, which {@link UnknownPolicy#MAP_TO_UNKNOWN} uses for absent symbols.
 * Values are ids ≥ 0; several keys may share an id. With {@code caseInsensitive} (the default) a letter
 * absent from the vocabulary takes the id of its other case when that is present (soft-masked lower-case
 * DNA is common); a letter present in both cases keeps its own id.
 */
public final class Vocab {
    /** The special key whose id absent symbols get under {@link UnknownPolicy#MAP_TO_UNKNOWN}. */
    public static final String UNKNOWN_KEY = "<unk>";

    private final String source;
    private final Map<String, Integer> entries;
    private final int[] table;
    private final UnknownPolicy policy;
    private final boolean caseInsensitive;
    private final Map<String, Integer> specials;
    private final String keys;
    private final int size;
    private final int unknownId;

    private Vocab(String source, Map<String, Integer> entries, UnknownPolicy policy, boolean caseInsensitive)
            throws InputFormatException {
        this.source = source;
        this.entries = Collections.unmodifiableMap(entries);
        this.policy = policy;
        this.caseInsensitive = caseInsensitive;
        if (entries.isEmpty()) {
            throw new InputFormatException(source + ": the vocabulary is empty");
        }
        int[] t = new int[256];
        Arrays.fill(t, -1);
        Map<String, Integer> sp = new LinkedHashMap<>();
        StringBuilder keyList = new StringBuilder();
        int max = -1;
        for (Map.Entry<String, Integer> e : entries.entrySet()) {
            String k = e.getKey();
            int id = e.getValue();
            if (id < 0) {
                throw new InputFormatException(source + ": key " + quote(k) + " has negative id " + id);
            }
            max = Math.max(max, id);
            if (k.length() == 1 && k.charAt(0) < 0x80) {
                t[k.charAt(0)] = id;
                keyList.append(keyList.length() == 0 ? "" : " ").append(k.charAt(0) > 0x20 && k.charAt(0) < 0x7F
                        ? k : InputFormatException.describeByte(k.charAt(0)));
            } else if (k.length() > 2 && (k.startsWith("<") && k.endsWith(">") || k.startsWith("[") && k.endsWith("]"))) {
                sp.put(k, id);
            } else {
                throw new InputFormatException(source + ": key " + quote(k) + " is neither a single ASCII character "
                        + "nor a special token like <pad> or [CLS]");
            }
        }
        if (caseInsensitive) {
            for (int c = 'A'; c <= 'Z'; c++) {
                int lower = c + ('a' - 'A');
                if (t[lower] < 0 && t[c] >= 0) {
                    t[lower] = t[c];
                } else if (t[c] < 0 && t[lower] >= 0) {
                    t[c] = t[lower];
                }
            }
        }
        Integer unk = sp.get(UNKNOWN_KEY);
        this.unknownId = unk == null ? -1 : unk;
        if (policy == UnknownPolicy.MAP_TO_UNKNOWN) {
            if (unk == null) {
                throw new InputFormatException(source + ": policy MAP_TO_UNKNOWN needs a '" + UNKNOWN_KEY
                        + "' key; keys are " + entries.keySet());
            }
            for (int i = 0; i < 256; i++) {
                if (t[i] < 0) {
                    t[i] = unk;
                }
            }
        }
        this.table = t;
        this.specials = Collections.unmodifiableMap(sp);
        this.keys = keyList.toString();
        this.size = max + 1;
    }

    /** Loads with {@link UnknownPolicy#FAIL} and case folding on. */
    public static Vocab load(Path vocabJson) throws IOException {
        return load(vocabJson, UnknownPolicy.FAIL, true);
    }

    /** Loads a JSON object of key → id. */
    public static Vocab load(Path vocabJson, UnknownPolicy policy, boolean caseInsensitive) throws IOException {
        String source = vocabJson.toString();
        ObjectMapper mapper = new ObjectMapper();
        mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        JsonNode root;
        try (InputStream in = Files.newInputStream(vocabJson)) {
            root = mapper.readTree(in);
        } catch (JsonProcessingException e) {
            throw new InputFormatException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new InputFormatException(source + ": expected a JSON object of symbol → id, found "
                    + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()));
        }
        Map<String, Integer> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new InputFormatException(source + ": key " + quote(e.getKey()) + " has value " + v
                        + ", expected an integer id");
            }
            entries.put(e.getKey(), v.intValue());
        }
        return new Vocab(source, entries, policy, caseInsensitive);
    }

    /** A vocabulary from a map (for tests and programmatic use); {@code source} names it in messages. */
    public static Vocab of(String source, Map<String, Integer> entries, UnknownPolicy policy, boolean caseInsensitive)
            throws InputFormatException {
        return new Vocab(source, new LinkedHashMap<>(entries), policy, caseInsensitive);
    }

    /** The id of a symbol after case folding and the unknown policy; -1 if absent under FAIL. */
    public int id(byte symbol) {
        return table[symbol & 0xFF];
    }

    /**
     * Writes the ids of {@code symbols[off, off+len)} to {@code out[outOff, outOff+len)}.
     *
     * @param seqId    the sequence, for the message
     * @param position the position of {@code symbols[off]} within the sequence, for the message
     * @throws UnknownSymbolException under FAIL, for the first absent symbol (out is partly written)
     */
    public void encode(byte[] symbols, int off, int len, int[] out, int outOff, String seqId, long position)
            throws UnknownSymbolException {
        int[] t = table;
        for (int i = 0; i < len; i++) {
            int id = t[symbols[off + i] & 0xFF];
            if (id < 0) {
                throw unknown(null, seqId, position + i, symbols[off + i] & 0xFF);
            }
            out[outOff + i] = id;
        }
    }

    /** The ids of a text chunk's symbols; errors name the chunk's file, sequence and position. */
    public int[] encode(Chunk chunk) throws UnknownSymbolException {
        if (!chunk.isText()) {
            throw new IllegalArgumentException(chunk + " is numeric, a vocabulary encodes text chunks");
        }
        int[] out = new int[chunk.length()];
        byte[] s = chunk.symbols();
        int[] t = table;
        for (int i = 0; i < out.length; i++) {
            int id = t[s[i] & 0xFF];
            if (id < 0) {
                throw unknown(chunk.file(), chunk.sequenceId(), chunk.start() + i, s[i] & 0xFF);
            }
            out[i] = id;
        }
        return out;
    }

    private UnknownSymbolException unknown(String file, String seqId, long position, int b) {
        String where = (file == null ? "" : file + ":") + "record " + seqId + ", position " + position;
        return new UnknownSymbolException(where + ": symbol " + InputFormatException.describeByte(b)
                + " is not in the vocabulary " + source + " (keys: " + keys + "; case folding "
                + (caseInsensitive ? "on" : "off") + ", policy FAIL)", seqId, position, b);
    }

    /** Where the vocabulary came from (the vocab.json path), for messages. */
    public String source() {
        return source;
    }

    /** The keys as given, with their ids, in file order. */
    public Map<String, Integer> entries() {
        return entries;
    }

    /** Number of ids: the largest id + 1 (the embedding rows the ids need). */
    public int size() {
        return size;
    }

    /** The id of {@code <unk>}, if the vocabulary has one. */
    public OptionalInt unknownId() {
        return unknownId < 0 ? OptionalInt.empty() : OptionalInt.of(unknownId);
    }

    /** The id of a special token such as {@code <pad>}, if present. */
    public OptionalInt specialId(String token) {
        Integer id = specials.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The policy for absent symbols. */
    public UnknownPolicy policy() {
        return policy;
    }

    /** Whether letters fall back to their other case. */
    public boolean caseInsensitive() {
        return caseInsensitive;
    }

    private static String quote(String k) {
        StringBuilder sb = new StringBuilder("'").append(k).append("'");
        if (k.length() == 1) {
            sb.append(String.format(" (U+%04X)", (int) k.charAt(0)));
        }
        return sb.toString();
    }
}
