"""Golden values for nn's AdamW, gradient clipping, warm-up schedule and EMA.

Run from the repository root with Debian's PyTorch:
    /usr/bin/python3 tools/golden/optim_golden.py
It writes testdata/optim_golden.json. AdamW and clip_grad_norm_ are
PyTorch's own; the schedule is transformers' constant-with-warmup rule and
the EMA is the reference code's (decay min(mu, (1+n)/(10+n)), n counted
before use), written out here.
"""
import json

import torch

torch.manual_seed(0)
shapes = [(3, 4), (5,)]
params = [torch.randn(s, dtype=torch.float32) for s in shapes]
grads = [[torch.randn(s, dtype=torch.float32) * 3 for s in shapes] for _ in range(5)]
lr, warmup, wd, max_norm, mu = 0.01, 3, 0.1, 2.5, 0.9

ps = [torch.nn.Parameter(p.clone()) for p in params]
opt = torch.optim.AdamW(ps, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / max(1, warmup) if s < warmup else 1.0)
ema = [p.detach().clone() for p in ps]
norms, lrs = [], []
for n, gs in enumerate(grads, start=1):
    for p, g in zip(ps, gs):
        p.grad = g.clone()
    norms.append(float(torch.nn.utils.clip_grad_norm_(ps, max_norm)))
    lrs.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
    d = min(mu, (1 + n) / (10 + n))
    for s, p in zip(ema, ps):
        s.sub_((1 - d) * (s - p.detach()))

flat = lambda ts: [t.flatten().tolist() for t in ts]
out = {
    "shapes": shapes, "lr": lr, "warmup": warmup, "weight_decay": wd, "max_norm": max_norm, "ema_decay": mu,
    "params": flat(params), "grads": [flat(gs) for gs in grads],
    "norms": norms, "lrs": lrs,
    "final": flat([p.detach() for p in ps]), "ema": flat(ema),
}
with open("testdata/optim_golden.json", "w") as f:
    json.dump(out, f)
print("wrote testdata/optim_golden.json")
