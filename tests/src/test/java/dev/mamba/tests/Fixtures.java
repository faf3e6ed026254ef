package dev.mamba.tests;

import dev.mamba.pipeline.checkpoint.HostTensor;
import dev.mamba.pipeline.checkpoint.SafeTensorsReader;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The transformers conformance fixtures under src/test/resources/conformance. */
final class Fixtures {
    static final String[] CASES = {"odd_shapes", "tied_auto_rank", "bf16_saved", "bare_model_sharded"};

    private Fixtures() {
    }

    static Path dir(String name) {
        try {
            return Path.of(Fixtures.class.getResource("/conformance/" + name + "/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<int[]> tokens(Path dir) throws IOException {
        List<int[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("tokens.txt"))) {
            if (!line.isBlank()) {
                out.add(java.util.Arrays.stream(line.trim().split(" ")).mapToInt(Integer::parseInt).toArray());
            }
        }
        return out;
    }

    static HostTensor expected(Path file, String name) throws IOException {
        try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
            return r.contains(name) ? r.read(name) : null;
        }
    }

    /** ‖a − b‖ / ‖b‖. */
    static double relErr(float[] a, float[] b) {
        return dev.mamba.kernels.RelativeError.of(a, b);
    }
}
