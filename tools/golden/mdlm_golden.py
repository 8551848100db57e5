#!/usr/bin/env python3
"""Golden values for MDLM (spec section 7) from an independent float64 PyTorch implementation.

Writes testdata/mdlm_golden.json (run from the repository root, Debian's python3-torch):
    /usr/bin/python3 tools/golden/mdlm_golden.py
Follows the reference code's formulation, not duo-go's:
  - the loss: the [MASK] logit set to -inf, log_softmax over all K ids, then carry-over
    (an unmasked position's log x_theta is 0 at its own token, -inf elsewhere), and per token
    log x_theta(x) * alpha'_t / (1 - alpha_t); the mean over all positions, and its autograd
    gradient with respect to the logits;
  - the posterior q(z_s | z_t, x_theta) with move chances 1 - alpha:
    q = x_theta (m_t - m_s), q[MASK] = m_s, q /= m_t for a masked z_t; one-hot z_t otherwise.
The logits are rounded to float32 first, as duo-go reads them.
"""
import json

import torch

torch.set_default_dtype(torch.float64)
g = torch.Generator().manual_seed(20260611)

B, L, K = 3, 6, 9  # K - 1 tokens and [MASK] = K - 1
MASK = K - 1
logits = (torch.randn(B, L, K, generator=g) * 3).float().double()
x = torch.randint(MASK, (B, L), generator=g)
alpha = torch.tensor([0.15, 0.5, 0.93])
dalpha = torch.tensor([-0.999, -0.999, -0.999])
masked = torch.rand(B, L, generator=g) >= alpha[:, None]
zt = torch.where(masked, torch.full_like(x, MASK), x)

lg = logits.clone().requires_grad_(True)
out = lg.clone()
out[:, :, MASK] = -float("inf")
out = out - torch.logsumexp(out, dim=-1, keepdim=True)
unmasked = zt != MASK
carry = torch.full_like(out, -float("inf"))
carry.scatter_(-1, zt[..., None], 0.0)
out = torch.where(unmasked[..., None], carry, out)
logp = out.gather(-1, x[..., None]).squeeze(-1)
per_token = logp * (dalpha / (1 - alpha))[:, None]
loss = per_token.mean()
loss.backward()

# The posterior for a few x_theta, z_t and alpha pairs.
post = []
for zt_i, a_t, a_s in [(MASK, 0.2, 0.6), (MASK, 0.9, 1.0), (3, 0.3, 0.5)]:
    xt = torch.softmax(torch.randn(MASK, generator=g), -1)
    mt, ms = 1 - a_t, 1 - a_s
    if zt_i == MASK:
        q = torch.zeros(K)
        q[:MASK] = xt * (mt - ms)
        q[MASK] = ms
        q = q / mt
    else:
        q = torch.zeros(K)
        q[zt_i] = 1
    post.append({"x_theta": xt.tolist(), "zt": zt_i, "alpha_t": a_t, "alpha_s": a_s, "posterior": q.tolist()})

json.dump({
    "B": B, "L": L, "K": K,
    "logits": logits.flatten().tolist(),
    "x": x.flatten().tolist(), "zt": zt.flatten().tolist(),
    "alpha": alpha.tolist(), "alpha_prime": dalpha.tolist(),
    "per_token": per_token.detach().flatten().tolist(),
    "loss": loss.item(),
    "grad": lg.grad.flatten().tolist(),
    "posterior": post,
}, open("testdata/mdlm_golden.json", "w"), indent=1)
print("wrote testdata/mdlm_golden.json: loss", loss.item())
