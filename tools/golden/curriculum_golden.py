#!/usr/bin/env python3
"""Golden values for one curriculum training step (Duo Sec. 4.1), from PyTorch.

Uses the DiT of tools/golden/dit_golden.py with the weights stored in
testdata/dit_golden.safetensors, and the float64 loss and T of
tools/golden/duo_golden.py. For fixed clean tokens x, fixed standard normal
eps (B, L, K) and fixed times t:
    gamma = gamma_min + t (gamma_max - gamma_min), at = sqrt(sigmoid(-gamma)), st = sqrt(sigmoid(gamma))
    w = at onehot(x) + st eps;  z_t = argmax w;  input = softmax(w / tau) @ E
    alpha = T(gamma), alpha' = dT/dgamma (gamma_max - gamma_min), sigma = -log alpha
    loss = mean over positions of Eq. 17 (float64) with i = z_t
and the gradient of the loss with respect to every parameter. Run from the repository root:
    /usr/bin/python3 tools/golden/curriculum_golden.py
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import dit_golden as dg  # noqa: E402
import duo_golden as du  # noqa: E402  (sets the default dtype to float64)

torch.set_default_dtype(torch.float32)

GAMMA_MIN, GAMMA_MAX, LOG10_TAU = -3.5, -1.75, -1.0


def main():
    params, meta = dg.read_safetensors("testdata/dit_golden.safetensors")
    cfg = json.loads(meta["config"])
    K, D, C, H, n_blocks, B = cfg["vocab_size"], cfg["hidden_dim"], cfg["cond_dim"], cfg["n_heads"], cfg["n_blocks"], cfg["batch"]
    model = dg.DIT(K, D, C, n_blocks, H, cfg["mlp_ratio"], causal=False)
    state = {k: torch.from_numpy(v) for k, v in params.items() if k in dict(model.named_parameters())}
    missing = set(dict(model.named_parameters())) - set(state)
    assert not missing, missing
    model.load_state_dict(state, strict=False)
    x = torch.from_numpy(params["input.ids"]).long()
    L = x.shape[1]

    g = torch.Generator().manual_seed(4242)
    eps = torch.randn(B, L, K, generator=g)
    t = torch.tensor([0.2, 0.85], dtype=torch.float64)

    gamma = GAMMA_MIN + t * (GAMMA_MAX - GAMMA_MIN)
    at = torch.sqrt(torch.sigmoid(-gamma)).float()
    st = torch.sqrt(torch.sigmoid(gamma)).float()
    onehot = torch.nn.functional.one_hot(x, K).float()
    w = st[:, None, None] * eps + at[:, None, None] * onehot
    zt = w.argmax(-1)
    soft = w * (10.0 ** -LOG10_TAU)
    alpha, dalpha = zip(*[du.transform(K, float(gm)) for gm in gamma])
    alpha = torch.tensor(alpha, dtype=torch.float64)
    alpha_prime = torch.tensor(dalpha, dtype=torch.float64) * (GAMMA_MAX - GAMMA_MIN)
    sigma = (-torch.log(alpha)).float()

    logits = model(soft, sigma)
    logx = torch.log_softmax(logits.double(), -1)
    losses = [du.loss_eq17(logx[b, i], int(zt[b, i]), int(x[b, i]), float(alpha[b]), float(alpha_prime[b]))
              for b in range(B) for i in range(L)]
    loss = torch.stack(losses).mean()
    loss.backward()

    out = {
        "eps": eps, "t": t.float(), "z_t": zt.long(), "alpha": alpha.float(), "alpha_prime": alpha_prime.float(),
        "sigma": sigma, "logits": logits.detach(), "loss": loss.detach().float(),
    }
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad
    meta = {"gamma_min": str(GAMMA_MIN), "gamma_max": str(GAMMA_MAX), "log10_tau": str(LOG10_TAU),
            "generator": "tools/golden/curriculum_golden.py", "model": "testdata/dit_golden.safetensors"}
    dg.write_safetensors("testdata/curriculum_golden.safetensors", out, meta)
    print("loss", float(loss), "alpha", alpha.tolist(), "z_t == x:", float((zt == x).float().mean()))


if __name__ == "__main__":
    main()
