#!/usr/bin/env python3
"""PyTorch reference for `duo bench sample`: seconds per network call of the
authors' DiT in inference mode (no_grad, eval) at the released checkpoints'
shape: D=768, 12 blocks, 12 heads, cond 128, K=50258, L=1024, batch B.

The DiT is tools/golden/dit_golden.py's implementation of dit.md (the model
the Go engine is checked against). With --checkpoint DIR it loads a model
directory's config.json and model.safetensors (the authors' parameter names),
the same weights duo-go times (`duo bench sample --model owt-170m --write DIR`
makes one); without it, random N(0, 0.02) weights at the 170M shape. The call
is what a sampling step costs the network: logits (B, L, K) from token ids and
sigma. Debian's python3-torch:

    /usr/bin/python3 tools/bench/sample_torch.py --threads 2 --batch 1 --calls 3 [--checkpoint DIR]

--threads N sets OPENBLAS_NUM_THREADS (the matrix products) before torch is
imported; --torch-threads (default 1) is PyTorch's own pool, as in
train_torch.py.
"""
import argparse
import json
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2, help="OpenBLAS threads")
    ap.add_argument("--torch-threads", type=int, default=1, help="PyTorch intra-op threads")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--calls", type=int, default=3, help="timed network calls (after one warm-up call)")
    ap.add_argument("--checkpoint", help="model directory (config.json, model.safetensors) to load")
    a = ap.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
    import dit_golden as dg  # noqa: E402

    torch.set_num_threads(a.torch_threads)
    torch.manual_seed(0)
    if a.checkpoint:
        with open(os.path.join(a.checkpoint, "config.json")) as fh:
            cfg = json.load(fh)
        K, L = cfg["vocab_size"], cfg["model_length"]
        model = dg.DIT(K, cfg["hidden_dim"], cfg["cond_dim"], cfg["n_blocks"], cfg["n_heads"], cfg["mlp_ratio"], causal=cfg["causal"])
        params, _ = dg.read_safetensors(os.path.join(a.checkpoint, "model.safetensors"))
        names = dict(model.named_parameters())
        missing = set(names) - set(params)
        if missing:
            sys.exit(f"{a.checkpoint}: model.safetensors lacks {sorted(missing)}")
        model.load_state_dict({k: torch.from_numpy(params[k]) for k in names}, strict=False)
        del params
    else:
        K, L = 50258, 1024
        model = dg.DIT(K, 768, 128, 12, 12, 4, causal=False)
        for p in model.parameters():
            torch.nn.init.normal_(p, std=0.02)
    model.eval()
    ids = torch.randint(0, K, (a.batch, L))
    sigma = torch.rand(a.batch)
    with torch.no_grad():
        model(ids, sigma)  # warm-up
        start = time.perf_counter()
        for _ in range(a.calls):
            model(ids, sigma)
        el = (time.perf_counter() - start) / a.calls
    print(f"pytorch {torch.__version__} batch {a.batch}: {el:.3f} s per network call")


if __name__ == "__main__":
    main()
