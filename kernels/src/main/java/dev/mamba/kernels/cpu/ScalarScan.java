package dev.mamba.kernels.cpu;

/** Reference scan: one channel at a time, state in a local array, no allocation per step. */
final class ScalarScan implements ScanKernel {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public int channelBlock() {
        return 32;
    }

    @Override
    public void scan(Args p, int d0, int d1) {
        final int n = p.n();
        float[] h = new float[n];
        float[] an = new float[n];
        for (int d = d0; d < d1; d++) {
            int sa = p.stateOff() + d * n;
            System.arraycopy(p.state(), sa, h, 0, n);
            System.arraycopy(p.a(), p.aOff() + d * p.lda(), an, 0, n);
            float bias = p.dtBias()[p.dtBiasOff() + d];
            float dsk = p.dSkip()[p.dSkipOff() + d];
            for (int t = 0; t < p.len(); t++) {
                int r = p.row0() + t;
                float uv = p.u()[p.uOff() + r * p.ldu() + d];
                float delta = ScanKernel.softplus(p.dt()[p.dtOff() + r * p.lddt() + d] + bias);
                float du = delta * uv;
                int bo = p.bOff() + r * p.ldb(), co = p.cOff() + r * p.ldc();
                float acc = 0f;
                for (int s = 0; s < n; s++) {
                    h[s] = (float) Math.exp(delta * an[s]) * h[s] + du * p.b()[bo + s];
                    acc += h[s] * p.c()[co + s];
                }
                float yv = acc + dsk * uv;
                if (p.z() != null) {
                    yv *= CpuBackend.silu(p.z()[p.zOff() + r * p.ldz() + d]);
                }
                p.y()[p.yOff() + r * p.ldy() + d] = yv;
            }
            System.arraycopy(h, 0, p.state(), sa, n);
        }
    }
}
