#!/usr/bin/env python3
"""Golden values for the Psi-samplers (Duo++, spec section 6), written from
the authors' code (trainer_base.py of s-sahoo/duo: _get_sampling_time_profile,
_mode_to_psi_kappas, _get_kappas, _psi_update; the uniform-state and MDLM
_posterior_from_x0 and _forward_process), in float64 numpy, independent of
the Go implementation:

    /usr/bin/python3 tools/golden/psi_golden.py    # writes testdata/psi_golden.json

One deliberate difference, kept by duo-go too: the "-inv" profile turns its
signal level C into the time where the schedule reaches it exactly; the
reference's get_t_for_alpha ignores the schedule's eps (1 - C for the
log-linear schedule instead of (1 - C)/(1 - eps)).
"""
import json
import math
import os

import numpy as np

EPS = 1e-3  # the schedules' floor
T_MIN = 1e-5  # the grid's last time


def loglinear(t):
    return 1 - (1 - EPS) * t


def loglinear_inv(a):
    return (1 - a) / (1 - EPS)


def cosine(t):
    return 1 - math.cos(math.pi / 2 * (1 - (1 - EPS) * t))


def cosine_inv(a):
    return (1 - 2 / math.pi * math.acos(1 - a)) / (1 - EPS)


SCHEDULES = {"loglinear": (loglinear, loglinear_inv), "cosine": (cosine, cosine_inv)}


def linspace(a, b, n):
    return list(np.linspace(a, b, n)) if n > 0 else []


def time_profile(alpha_inv, profile, high_frac, middle_frac, steps):
    n = steps + 1
    if profile == "linear":
        return linspace(1, T_MIN, n)
    c = float(profile.split("-")[3])
    if "inv" in profile:
        c = alpha_inv(c)
    n_hi, n_mid = round(high_frac * n), round(middle_frac * n)
    return linspace(1, c, n_hi) + [c] * n_mid + linspace(c, T_MIN, n - n_hi - n_mid)


def mode_kappas(alpha, mode, ts):
    n = len(ts)
    if mode == "pure-posterior":
        return [1.0] * n
    if mode == "pure-pc":
        return [0.0] * n
    eta = float(mode.split("-")[-1])
    if mode.startswith("constant-") and not mode.startswith("constant-remdm"):
        return [eta] * n
    out = []
    for t, s in zip(ts[:-1], ts[1:]):
        a_t, a_s = alpha(t), alpha(s)
        if mode.startswith("max-capped-"):
            sigma = min(eta, (1 - a_s) / a_t) if a_t != 0 else eta
        elif mode.startswith("max-rescale-"):
            sigma = (min(eta, (1 - a_s) / a_t) if a_t > 0 else 1) * eta
        elif mode.startswith("constant-remdm"):
            sigma = eta
        else:
            raise ValueError(mode)
        out.append(min(max(1 - sigma / (1 - a_s), 0.0), 1.0))
    if out:
        out.append(1.0)
    return out


def kappas(alpha, ts, high_frac, middle_frac, high, middle, low):
    n = len(ts)
    n_hi, n_mid = round(high_frac * n), round(middle_frac * n)
    return (mode_kappas(alpha, high, ts[:n_hi]) + mode_kappas(alpha, middle, ts[n_hi:n_hi + n_mid])
            + mode_kappas(alpha, low, ts[n_hi + n_mid:]))


def usdm_posterior(x0, xt, a_s, a_t):
    """_posterior_from_x0 of the uniform-state model (the reference's formula)."""
    V = len(x0)
    a_ts, d_a = a_t / a_s, a_s - a_t
    onehot = np.zeros(V)
    onehot[xt] = 1
    return ((a_t * V * x0 * onehot + (a_ts - a_t) * onehot + d_a * x0 + (1 - a_ts) * (1 - a_s) / V)
            / (a_t * V * x0[xt] + (1 - a_t)))


def usdm_psi(x0, xt, a_t, a_s, kappa):
    q_xs = usdm_posterior(x0, xt, a_s, a_t)
    q_x0 = usdm_posterior(x0, xt, 1.0, a_t)
    pc = a_s * q_x0 + (1 - a_s) / len(x0)
    return kappa * q_xs + (1 - kappa) * pc


def mdlm_posterior(x0, xt, a_s, a_t, mask):
    if xt != mask:
        q = np.zeros(len(x0))
        q[xt] = 1  # the model's output is one-hot on unmasked tokens
        return q
    q = (a_s - a_t) / (1 - a_t) * x0
    q[mask] = (1 - a_s) / (1 - a_t)
    return q


def mdlm_psi(x, xt, a_t, a_s, kappa):
    x0 = np.append(x, 0.0)  # x_theta puts nothing on [MASK]
    mask = len(x0) - 1
    if xt != mask:
        x0 = np.zeros(len(x0))
        x0[xt] = 1
    q_xs = mdlm_posterior(x0, xt, a_s, a_t, mask)
    q_x0 = mdlm_posterior(x0, xt, 1.0, a_t, mask)
    pc = a_s * q_x0
    pc[mask] += 1 - a_s
    return kappa * q_xs + (1 - kappa) * pc


def main():
    grids = []
    for name, sched, profile, hf, mf, hm, mm, lm, steps in [
        ("owt max-capped", "loglinear", "linear", 0.0, 0.0, "max-capped-0.01", "max-capped-0.01", "max-capped-0.01", 64),
        ("owt max-rescale", "loglinear", "linear", 0.0, 0.0, "max-rescale-0.05", "max-rescale-0.05", "max-rescale-0.05", 64),
        ("owt loop", "loglinear", "linear-constant-linear-0.9-inv", 0.45, 0.5, "pure-posterior", "constant-remdm-0.01", "pure-posterior", 64),
        ("cifar psi-pc", "cosine", "linear", 0.5, 0.4, "pure-posterior", "constant-0.95", "pure-posterior", 64),
        ("cifar loop", "cosine", "linear-constant-linear-0.9-inv", 0.45, 0.5, "pure-posterior", "constant-remdm-0.01", "pure-posterior", 64),
        ("pure pc, odd steps", "loglinear", "linear-constant-linear-0.3", 0.25, 0.25, "pure-pc", "max-capped-0.2", "constant-remdm-0.05", 13),
    ]:
        alpha, inv = SCHEDULES[sched]
        ts = time_profile(inv, profile, hf, mf, steps)
        ks = kappas(alpha, ts, hf, mf, hm, mm, lm)
        assert len(ks) == len(ts) == steps + 1, (name, len(ks), len(ts))
        grids.append({"name": name, "schedule": sched, "profile": profile, "high_frac": hf, "middle_frac": mf,
                      "high": hm, "middle": mm, "low": lm, "steps": steps, "grid": ts, "kappas": ks})

    rng = np.random.default_rng(20261206)
    steps = []
    K = 7
    for kappa in (1.0, 0.9, 0.5, 0.0):
        for a_t, a_s in ((0.2, 0.35), (0.6, 0.6), (0.9, 0.999)):
            x = rng.dirichlet(np.full(K, 0.7))
            zt = int(rng.integers(K))
            steps.append({"kind": "usdm", "x": list(x), "zt": zt, "alpha_t": a_t, "alpha_s": a_s, "kappa": kappa,
                          "q": list(usdm_psi(x, zt, a_t, a_s, kappa))})
            xm = rng.dirichlet(np.full(K - 1, 0.7))
            for zm in (K - 1, int(rng.integers(K - 1))):  # masked, and an unmasked token
                steps.append({"kind": "mdlm", "x": list(xm), "zt": zm, "alpha_t": a_t, "alpha_s": a_s, "kappa": kappa,
                              "q": list(mdlm_psi(xm, zm, a_t, a_s, kappa))})
    out = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "psi_golden.json")
    with open(out, "w") as fh:
        json.dump({"grids": grids, "steps": steps}, fh, indent=None, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {out}: {len(grids)} grids, {len(steps)} step distributions")


if __name__ == "__main__":
    main()
