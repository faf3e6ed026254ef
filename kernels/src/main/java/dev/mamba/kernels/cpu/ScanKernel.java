package dev.mamba.kernels.cpu;

/** Selective scan of one lane over channels [d0, d1); see {@link dev.mamba.kernels.Backend#selectiveScan}. */
public interface ScanKernel {

    /** Arrays, offsets and row strides of one scan call; row0 is the lane's first row, len its valid steps. */
    record Args(float[] u, int uOff, int ldu, float[] dt, int dtOff, int lddt, float[] dtBias, int dtBiasOff,
                float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                float[] dSkip, int dSkipOff, float[] z, int zOff, int ldz, float[] state, int stateOff,
                float[] y, int yOff, int ldy, int n, int row0, int len) {
    }

    String name();

    /** Channels handled per work item (a multiple of the vector width). */
    int channelBlock();

    void scan(Args a, int d0, int d1);

    /** PyTorch's softplus with threshold 20. */
    static float softplus(float x) {
        return x > 20f ? x : (float) Math.log1p(Math.exp(x));
    }
}
