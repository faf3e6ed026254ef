package dev.mamba.pipeline.model;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/** Tensors one owner allocated on a backend, freed together once (every one, even if a free fails). */
final class BackendTensors {
    private final Backend backend;
    private final String owner;
    private final List<Tensor> owned = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    BackendTensors(Backend backend, String owner) {
        this.backend = backend;
        this.owner = owner;
    }

    Tensor allocate(String name, int rows, int cols, DType t) {
        return keep(backend.allocate(name, rows, cols, t));
    }

    Tensor allocateGemmInput(String name, int rows, int cols) {
        return keep(backend.allocateGemmInput(name, rows, cols));
    }

    Tensor upload(String name, float[] data, int rows, int cols, DType t) {
        return keep(backend.upload(name, data, rows, cols, t));
    }

    Tensor uploadMatrix(String name, float[] data, int rows, int cols) {
        return keep(backend.uploadMatrix(name, data, rows, cols));
    }

    private Tensor keep(Tensor t) {
        owned.add(t);
        return t;
    }

    void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException(owner + " has been closed already");
        }
    }

    /** Frees everything; runs once; rethrows the first failure after trying all. */
    void freeAll() {
        if (!closed.getAndSet(true)) {
            RuntimeException first = null;
            for (Tensor t : owned) {
                try {
                    backend.free(t);
                } catch (RuntimeException e) {
                    if (first == null) {
                        first = e;
                    }
                }
            }
            owned.clear();
            if (first != null) {
                throw first;
            }
        }
    }
}
