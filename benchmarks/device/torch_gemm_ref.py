# cuBLAS (through PyTorch) on the 130m GEMM shapes: the attainable rate our own kernels are compared with.
import torch
def bench(m, n, k, dtype=torch.bfloat16, reps=50):
    x = torch.randn(m, k, device="cuda", dtype=dtype)
    w = torch.randn(n, k, device="cuda", dtype=dtype)
    for _ in range(5):
        y = x @ w.t()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ts = []
    for _ in range(reps):
        a.record(); y = x @ w.t(); b.record(); b.synchronize(); ts.append(a.elapsed_time(b))
    ts.sort(); ms = ts[len(ts) // 2]
    print(f"torch {str(dtype):15s} M={m:<6d} N={n:<5d} K={k:<5d} {ms:8.4f} ms {2*m*n*k/ms/1e9:7.1f} TFLOP/s")
torch.backends.cuda.matmul.allow_tf32 = True
for m in (16384, 131072):
    for n, k in ((3072, 768), (80, 1536), (1536, 48), (768, 1536)):
        bench(m, n, k)
for n, k in ((3072, 768), (768, 1536)):
    bench(16384, n, k, torch.float32)
bench(8192, 8192, 8192)
