package dev.mamba.pipeline.batch;

import dev.mamba.pipeline.io.vocab.Vocab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A vocabulary whose ids the model's embedding cannot hold fails naming the file and the keys to fix. */
class VocabEncoderTest {
    @TempDir
    Path dir;

    @Test
    void idsBeyondTheEmbeddingNameTheVocabFileAndKeys() throws Exception {
        Path p = Files.writeString(dir.resolve("vocab.json"), "{\"A\": 6, \"C\": 1, \"G\": 2, \"T\": 3, \"<unk>\": 7}");
        Vocab v = Vocab.load(p);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new VocabEncoder(v, 6));
        assertEquals(p + ": \"A\": 6, \"<unk>\": 7 out of range: the model's embedding has 6 rows, so ids must be "
                + "0..5 (vocab_size in config.json)", e.getMessage());
        assertEquals(8, new VocabEncoder(v, 8).modelVocab());  // ids 0..7 fit 8 rows
    }
}
