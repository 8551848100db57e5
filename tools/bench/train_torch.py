#!/usr/bin/env python3
"""PyTorch reference for `duo bench train`: tokens/s of a full training step
(forward, backward, AdamW) of the same DiT on the same machine.

The DiT is tools/golden/dit_golden.py's implementation of dit.md (the model
the Go engine is checked against). Same config as `duo bench train`: D=256,
4 blocks, 4 heads, cond 128, L=128, batch 16, byte vocabulary (K=256),
token-id input, cross-entropy on the logits (the loss reduction is not what
is measured). Debian's python3-torch:

    /usr/bin/python3 tools/bench/train_torch.py --threads 1
    /usr/bin/python3 tools/bench/train_torch.py --threads 2

--threads N sets OPENBLAS_NUM_THREADS (the matrix products) before torch is
imported; --torch-threads T (default 1) is PyTorch's own intra-op pool (its
elementwise and reduction kernels). On 2 cores, T=1 with OpenBLAS at 2 is
PyTorch's fastest setting: with T=2 the two thread pools oversubscribe the
cores and a step takes about twice as long (measured, see README).
"""
import argparse
import os
import sys
import time


def openblas_core():
    """The kernel core of the OpenBLAS that torch's BLAS (libblas.so.3) resolves to."""
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except OSError as e:
        return "unknown (%s)" % e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1, help="OpenBLAS threads")
    ap.add_argument("--torch-threads", type=int, default=1, help="PyTorch intra-op threads")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--profile", action="store_true", help="print where the time goes")
    ap.add_argument("--core", action="store_true", help="print the OpenBLAS kernel core PyTorch's BLAS runs, and exit")
    a = ap.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
    import torch
    if a.core:
        print("torch %s, OpenBLAS core %s" % (torch.__version__, openblas_core()))
        return
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
    import dit_golden as dg  # noqa: E402

    torch.set_num_threads(a.torch_threads)
    torch.manual_seed(0)
    K = 256
    model = dg.DIT(K, a.hidden, 128, a.blocks, a.heads, 4, causal=False)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.02)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)
    ids = torch.randint(0, K, (a.batch, a.length))
    sigma = torch.rand(a.batch)

    def step():
        logits = model(ids, sigma)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, K), ids.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    if a.profile:
        with torch.autograd.profiler.profile() as prof:
            for _ in range(a.steps):
                step()
        ops = prof.key_averages()
        print(ops.table(sort_by="self_cpu_time_total", row_limit=20))
        total = sum(o.self_cpu_time_total for o in ops)
        gemm = sum(o.self_cpu_time_total for o in ops if o.key in ("aten::mm", "aten::addmm", "aten::bmm"))
        print(f"matrix products (mm, addmm, bmm): {100 * gemm / total:.1f}% of the profiled time, "
              f"{gemm / a.steps / 1000:.1f} ms per step")
        return
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    el = time.perf_counter() - start
    tok = a.batch * a.length * a.steps / el
    print(f"pytorch {torch.__version__} OpenBLAS threads={a.threads} torch threads={a.torch_threads}: {el / a.steps * 1000:.1f} ms/step, {tok:.0f} tokens/s")


if __name__ == "__main__":
    main()
