#!/usr/bin/env python3
"""Golden values for package duo from an independent float64 PyTorch implementation.

Writes testdata/duo_golden.json (run from the repository root; Debian's python3-torch,
which pulls in python3-mpmath):
    /usr/bin/python3 tools/golden/duo_golden.py
Covers
  - the USDM posterior (Eq. 4);
  - the Rao-Blackwellised per-token loss (Eq. 17) of log x_theta = log_softmax(logits):
    "loss" is the formula as written in float64, "loss_mp" the same formula at 60 digits
    for the stored float64 "logx" (free of the literal form's cancellation), with autograd
    gradients w.r.t. logits and w.r.t. log x_theta;
  - the Diffusion Transformation T (Eq. 11) by trapezoidal quadrature on a fixed fine
    grid, and dT/dgamma by autograd through that quadrature (not the closed form).
"""
import json
import math
import os
import sys

import mpmath
import torch

torch.set_default_dtype(torch.float64)
g = torch.Generator().manual_seed(20250611)


def rand(*shape):
    return torch.rand(*shape, generator=g)


def randint(n):
    return int(torch.randint(n, (1,), generator=g))


def posterior(x, zt, a_t, a_s):  # Eq. 4
    K = x.shape[0]
    a_ts = a_t / a_s
    onehot = torch.zeros(K)
    onehot[zt] = 1
    num = (K * a_t * x * onehot + (a_ts - a_t) * onehot + (a_s - a_t) * x
           + (1 - a_ts) * (1 - a_s) / K)
    den = K * a_t * x[zt] + 1 - a_t
    return num / den


def loss_eq17(log_x, zt, m, a, da):  # spec section 2
    K = log_x.shape[0]
    e = 1.0 if zt == m else 0.0
    log_xbt = torch.log(K * a * torch.exp(log_x) + (1 - a))
    xbar_i = (1 - a) + K * a * e
    kappa = (1 - a) / (K * a + 1 - a)
    term1 = K * (1 / xbar_i - 1 / torch.exp(log_xbt[zt]))
    term2 = (-(kappa * e + (1 - e)) * (log_xbt.sum() - K * log_xbt[zt])
             - (K * a / (1 - a)) * (1 - e) * (log_xbt[m] - log_xbt[zt])
             + ((K - 1) * kappa * e - (1 - e) / kappa) * math.log(kappa))
    return da / (K * a) * (term1 - term2)


def loss_eq17_mp(log_x, zt, m, a, da):  # the same formula at 60 digits, exact float64 inputs
    mpmath.mp.dps = 60
    K = len(log_x)
    a, da = mpmath.mpf(a), mpmath.mpf(da)
    e = 1 if zt == m else 0
    L = [mpmath.log(K * a * mpmath.exp(mpmath.mpf(v)) + (1 - a)) for v in log_x]
    xbar_i = (1 - a) + K * a * e
    kappa = (1 - a) / (K * a + 1 - a)
    term1 = K * (1 / xbar_i - 1 / mpmath.exp(L[zt]))
    term2 = (-(kappa * e + (1 - e)) * (mpmath.fsum(L) - K * L[zt])
             - (K * a / (1 - a)) * (1 - e) * (L[m] - L[zt])
             + ((K - 1) * kappa * e - (1 - e) / kappa) * mpmath.log(kappa))
    return float(da / (K * a) * (term1 - term2))


ZGRID = torch.linspace(-16.0, 36.0, 520001)  # h = 1e-4, fixed so autograd is exact


def transform(K, gamma):  # Eq. 11 and dT/dgamma by autograd
    gm = torch.tensor(gamma, requires_grad=True)
    mu = torch.exp(-gm / 2)
    z = ZGRID
    phi = torch.exp(-0.5 * (z - mu) ** 2) / math.sqrt(2 * math.pi)
    F = torch.exp((K - 1) * torch.special.log_ndtr(z))
    p = torch.trapezoid(phi * F, z)
    alpha = (K * p - 1) / (K - 1)
    alpha.backward()
    return float(alpha), float(gm.grad)


def main():
    out = {"posterior": [], "loss": [], "transform": []}
    for K in [2, 5, 13, 100]:
        for _ in range(3):
            x = torch.softmax(3 * torch.randn(K, generator=g), 0)
            a_s = 0.05 + 0.9 * float(rand(1))
            a_t = a_s * float(rand(1))
            zt = randint(K)
            out["posterior"].append({"x": x.tolist(), "zt": zt, "alpha_t": a_t, "alpha_s": a_s,
                                     "q": posterior(x, zt, a_t, a_s).tolist()})
    for K in [2, 5, 17, 64, 300]:
        for case in range(4):
            scale = [0.5, 2.0, 6.0, 2.0][case]
            logits = (scale * torch.randn(K, generator=g)).requires_grad_()
            m = randint(K)
            zt = m if case % 2 == 0 else (m + 1 + randint(K - 1)) % K
            a = [0.01, 0.3, 0.7, 0.99][randint(4)] * (0.9 + 0.1 * float(rand(1)))
            da = -(1 - 1e-3) * (0.5 + float(rand(1)))
            log_x = torch.log_softmax(logits, 0)
            leaf = log_x.detach().clone().requires_grad_()
            loss = loss_eq17(log_x, zt, m, a, da)
            loss.backward()
            loss2 = loss_eq17(leaf, zt, m, a, da)
            loss2.backward()
            out["loss"].append({"logits": logits.detach().tolist(), "logx": log_x.tolist(),
                                "zt": zt, "m": m, "alpha": a, "alpha_prime": da,
                                "loss": float(loss), "loss_mp": loss_eq17_mp(log_x.tolist(), zt, m, a, da),
                                "grad_logits": logits.grad.tolist(), "grad_logx": leaf.grad.tolist()})
    for K in [2, 7, 1000, 30522, 50257, 1000000]:
        for gamma in [-4.5, -3.55, -2.71828, -1.85, -1.1, 0.3, 1.7]:
            a, da = transform(K, gamma)
            out["transform"].append({"K": K, "gamma": gamma, "alpha": a, "dalpha_dgamma": da})
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join("testdata", "duo_golden.json")
    with open(path, "w") as f:
        # One case per line: diff-friendly, floats written with round-trip precision.
        f.write("{\n" + ",\n".join(
            json.dumps(k) + ": [\n" + ",\n".join(json.dumps(c) for c in v) + "\n]"
            for k, v in out.items()) + "\n}\n")
    print("wrote", path, {k: len(v) for k, v in out.items()})


if __name__ == "__main__":
    main()
