package dev.mamba.kernels.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the real scan, conv1d, mma.sync/FFMA and wgmma GEMM and elementwise kernel sources on the CPU (src/test/cuda-emu: one
 * std::thread per CUDA thread, ldmatrix/mma emulated per the PTX fragment layouts) against scalar
 * references, so their indexing, tiling, swizzles and segment carries are checked on machines without a
 * GPU. Skipped where g++ is missing.
 */
class CudaKernelEmulationTest {

    @Test
    void kernelsMatchTheScalarReferences() throws Exception {
        File script = new File("src/test/cuda-emu/run.sh");
        Assumptions.assumeTrue(script.isFile(), "run from the kernels module directory");
        Assumptions.assumeTrue(onPath("g++"), "requires g++ (C++20) to build the emulation");
        Path work = Files.createTempDirectory("cuda-emu");
        Process p = new ProcessBuilder("bash", script.getPath(), work.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "emulation timed out");
        assertEquals(0, p.exitValue(), out);
        assertEquals(4, out.split("all passed", -1).length - 1, out);
        assertTrue(!out.contains("FAIL"), out);
    }

    private static boolean onPath(String exe) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (new File(dir, exe).canExecute()) {
                return true;
            }
        }
        return false;
    }
}
