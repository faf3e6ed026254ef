package dev.mamba.pipeline.model;

import dev.mamba.kernels.Tensor;

/** One mixer block's tensors on a backend (null where the config has no such tensor). */
final class LayerWeights {
    Tensor norm;        // [1, H] F32
    Tensor inProj;      // [2D, H] matrix weight
    Tensor inProjBias;  // [1, 2D] F32 or null
    Tensor convWeight;  // [D, K] F32
    Tensor convBias;    // [1, D] F32 or null
    Tensor xProj;       // [R + 2N, D] matrix weight
    Tensor dtProj;      // [D, R] matrix weight
    Tensor dtBias;      // [1, D] F32
    Tensor aNeg;        // [D, N] F32, −exp(A_log)
    Tensor dSkip;       // [1, D] F32
    Tensor outProj;     // [H, D] matrix weight
    Tensor outProjBias; // [1, H] F32 or null
}
