#!/usr/bin/env python3
"""Independent PyTorch reference of the Duo / MDLM DiT denoiser (spec: shared/spec/dit.md sections 1-2)
and generator of the golden files testdata/dit_golden.safetensors and testdata/dit_golden_causal.safetensors.

Run from the repository root:   /usr/bin/python3 tools/golden/dit_golden.py
Deterministic: fixed torch seed, CPU, float32, one thread.  Needs only torch + numpy (no safetensors package).

Self-checks run before anything is written:
  * rotary "rotate-half" == explicit complex multiplication (x[j] + i x[j+d/2]) * exp(i p inv_freq_j)
  * an independent float64 NumPy forward (explicit per-head loops) == the torch module (both variants)
  * torch.autograd.gradcheck on tiny float64 copies (parameters, soft input, sigma; both variants)
After writing, the files are read back with the hand-written reader below and compared bit-for-bit.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)

# ----------------------------------------------------------------------------------------------
# Model (parameter names == reference state-dict keys of dit.md section 2)
# ----------------------------------------------------------------------------------------------


class EmbeddingLayer(nn.Module):
    def __init__(self, K, D):
        super().__init__()
        self.embedding = nn.Parameter(torch.empty(K, D))

    def forward(self, x):
        if x.ndim == 2:  # token ids (B, L)
            return self.embedding[x]
        assert x.ndim == 3  # soft input w (B, L, K): softmax(w) @ E
        return torch.softmax(x, dim=-1) @ self.embedding


class TimestepEmbedder(nn.Module):
    FREQ = 256

    def __init__(self, C):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(self.FREQ, C, bias=True), nn.SiLU(), nn.Linear(C, C, bias=True))

    @staticmethod
    def timestep_embedding(sigma, dim=256, max_period=10000.0):
        half = dim // 2
        j = torch.arange(half, dtype=torch.float32)
        freqs = torch.exp(-math.log(max_period) * j / half).to(sigma.dtype)
        args = sigma[:, None] * freqs[None, :]
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # cos half first

    def forward(self, sigma):
        return self.mlp(self.timestep_embedding(sigma, self.FREQ))


class Rotary(nn.Module):
    def __init__(self, d, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float32) / d))  # 10000^(-2j/d), j < d/2
        self.register_buffer("inv_freq", inv_freq)  # state-dict key rotary_emb.inv_freq (not written to goldens)

    def cos_sin(self, L, dtype):
        p = torch.arange(L, dtype=torch.float32)
        ang = p[:, None] * self.inv_freq[None, :]  # (L, d/2)
        return torch.cos(ang).to(dtype), torch.sin(ang).to(dtype)


def apply_rotary(x, cos, sin):
    """x: (B, L, H, d); cos, sin: (L, d/2). rotate-half (non-interleaved)."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    c = cos[None, :, None, :]
    s = sin[None, :, None, :]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)


class LayerNormNoBias(nn.Module):
    def __init__(self, D):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(D))
        self.D = D

    def forward(self, x):
        return F.layer_norm(x, [self.D], eps=1e-5) * self.weight[None, None, :]


def modulate(x, shift, scale):  # shift, scale: (B, 1, D)
    return x * (1 + scale) + shift


def attention(qkv, H, cos, sin, causal):
    B, L, threeD = qkv.shape
    D = threeD // 3
    d = D // H
    q, k, v = qkv[..., :D], qkv[..., D:2 * D], qkv[..., 2 * D:]
    q = q.reshape(B, L, H, d)
    k = k.reshape(B, L, H, d)
    v = v.reshape(B, L, H, d)
    q = apply_rotary(q, cos, sin)
    k = apply_rotary(k, cos, sin)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, L, d)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    if causal:
        mask = torch.ones(L, L, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    o = p @ v  # (B, H, L, d)
    return o.transpose(1, 2).reshape(B, L, D)  # heads concatenated


class DDiTBlock(nn.Module):
    def __init__(self, D, H, C, mlp_ratio, causal):
        super().__init__()
        self.H, self.causal = H, causal
        self.norm1 = LayerNormNoBias(D)
        self.attn_qkv = nn.Linear(D, 3 * D, bias=False)
        self.attn_out = nn.Linear(D, D, bias=False)
        self.norm2 = LayerNormNoBias(D)
        self.mlp = nn.Sequential(nn.Linear(D, mlp_ratio * D, bias=True), nn.GELU(approximate="tanh"),
                                 nn.Linear(mlp_ratio * D, D, bias=True))
        if not causal:
            self.adaLN_modulation = nn.Linear(C, 6 * D, bias=True)

    def forward(self, h, cos, sin, c):
        if self.causal:
            a = self.norm1(h)
            h = h + self.attn_out(attention(self.attn_qkv(a), self.H, cos, sin, True))
            m = self.norm2(h)
            return h + self.mlp(m)
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN_modulation(c)[:, None, :].chunk(6, dim=-1)
        a = modulate(self.norm1(h), shift1, scale1)
        h = h + gate1 * self.attn_out(attention(self.attn_qkv(a), self.H, cos, sin, False))
        m = modulate(self.norm2(h), shift2, scale2)
        return h + gate2 * self.mlp(m)


class DDitFinalLayer(nn.Module):
    def __init__(self, D, K, C, adaLN):
        super().__init__()
        self.norm_final = LayerNormNoBias(D)
        self.linear = nn.Linear(D, K, bias=True)
        self.adaLN = adaLN
        if adaLN:
            self.adaLN_modulation = nn.Linear(C, 2 * D, bias=True)

    def forward(self, h, c):
        x = self.norm_final(h)
        if self.adaLN:
            shift, scale = self.adaLN_modulation(c)[:, None, :].chunk(2, dim=-1)
            x = modulate(x, shift, scale)
        return self.linear(x)


class DIT(nn.Module):
    def __init__(self, K, D, C, n_blocks, H, mlp_ratio=4, causal=False):
        super().__init__()
        self.causal = causal
        self.vocab_embed = EmbeddingLayer(K, D)
        if not causal:
            self.sigma_map = TimestepEmbedder(C)
        self.rotary_emb = Rotary(D // H)
        self.blocks = nn.ModuleList([DDiTBlock(D, H, C, mlp_ratio, causal) for _ in range(n_blocks)])
        self.output_layer = DDitFinalLayer(D, K, C, adaLN=not causal)

    def forward(self, x, sigma=None):
        h = self.vocab_embed(x)
        c = None if self.causal else F.silu(self.sigma_map(sigma))
        cos, sin = self.rotary_emb.cos_sin(h.shape[1], h.dtype)
        for blk in self.blocks:
            h = blk(h, cos, sin, c)
        return self.output_layer(h, c)


# ----------------------------------------------------------------------------------------------
# Non-zero random initialisation (reference zero-inits would hide bugs)
# ----------------------------------------------------------------------------------------------


def init_random(model, g):
    def nrm(p, std, mean=0.0):
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g) * std + mean)

    for name, p in model.named_parameters():
        if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("norm_final.weight"):
            nrm(p, 0.2, 1.0)
        elif name == "vocab_embed.embedding":
            nrm(p, 0.5)
        elif name == "sigma_map.mlp.0.weight":
            nrm(p, 0.1)
        elif name == "sigma_map.mlp.2.weight":
            nrm(p, 0.3)
        elif "adaLN_modulation.weight" in name:
            nrm(p, 0.1)
        elif name.endswith("attn_qkv.weight"):
            nrm(p, 0.2)
        elif name.endswith("attn_out.weight") or name.endswith("mlp.0.weight") or name.endswith("mlp.2.weight") \
                or name == "output_layer.linear.weight":
            nrm(p, 1.0 / math.sqrt(p.shape[1]) * (1.6 if name == "output_layer.linear.weight" else 1.0))
        elif name.endswith(".bias"):
            nrm(p, 0.1)
        else:
            raise RuntimeError("no init rule for " + name)


def loss_fn(logits, R):
    B, L = logits.shape[:2]
    return (torch.log_softmax(logits, dim=-1) * R).sum() / (B * L)


# ----------------------------------------------------------------------------------------------
# Independent float64 NumPy forward (explicit loops; shares nothing with the torch module but weights)
# ----------------------------------------------------------------------------------------------


def np_forward(P, cfg, x, sigma):
    K, D, C, H, nb = cfg["vocab_size"], cfg["hidden_dim"], cfg["cond_dim"], cfg["n_heads"], cfg["n_blocks"]
    causal = cfg["causal"]
    d = D // H
    P = {k: v.detach().double().numpy() for k, v in P.items()}
    if x.ndim == 2:
        h = P["vocab_embed.embedding"][x.numpy()]
    else:
        w = x.double().numpy()
        w = np.exp(w - w.max(-1, keepdims=True))
        w = w / w.sum(-1, keepdims=True)
        h = np.einsum("blk,kd->bld", w, P["vocab_embed.embedding"])
    B, L, _ = h.shape

    def lin(z, name, bias=True):
        y = z @ P[name + ".weight"].T
        return y + P[name + ".bias"] if bias else y

    def silu(z):
        return z / (1 + np.exp(-z))

    def gelu_tanh(z):
        return 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))

    def ln(z, wname):
        mu = z.mean(-1, keepdims=True)
        var = ((z - mu) ** 2).mean(-1, keepdims=True)
        return (z - mu) / np.sqrt(var + 1e-5) * P[wname]

    c = None
    if not causal:
        s = sigma.double().numpy()
        f = np.zeros((B, 256))
        for b in range(B):
            for j in range(128):
                fr = math.exp(-math.log(10000.0) * j / 128)
                f[b, j] = math.cos(s[b] * fr)
                f[b, 128 + j] = math.sin(s[b] * fr)
        c = silu(lin(silu(lin(f, "sigma_map.mlp.0")), "sigma_map.mlp.2"))

    def rot(vec, p):  # vec (d,)
        out = np.empty_like(vec)
        for j in range(d // 2):
            th = p * 10000.0 ** (-2.0 * j / d)
            out[j] = vec[j] * math.cos(th) - vec[j + d // 2] * math.sin(th)
            out[j + d // 2] = vec[j + d // 2] * math.cos(th) + vec[j] * math.sin(th)
        return out

    for i in range(nb):
        pre = "blocks.%d." % i
        if causal:
            mods = [np.zeros((B, D)), np.zeros((B, D)), np.ones((B, D))] * 2
        else:
            mod = lin(c, pre + "adaLN_modulation")
            mods = [mod[:, k * D:(k + 1) * D] for k in range(6)]
        sh1, sc1, g1, sh2, sc2, g2 = mods
        a = ln(h, pre + "norm1.weight") * (1 + sc1[:, None]) + sh1[:, None]
        qkv = a @ P[pre + "attn_qkv.weight"].T
        att = np.zeros((B, L, D))
        for b in range(B):
            for hh in range(H):
                q = np.stack([rot(qkv[b, t, hh * d:(hh + 1) * d], t) for t in range(L)])
                k = np.stack([rot(qkv[b, t, D + hh * d:D + (hh + 1) * d], t) for t in range(L)])
                v = qkv[b, :, 2 * D + hh * d:2 * D + (hh + 1) * d]
                for t in range(L):
                    sc = np.array([q[t] @ k[u] / math.sqrt(d) for u in range(L)])
                    if causal:
                        sc[t + 1:] = -np.inf
                    pr = np.exp(sc - sc.max())
                    pr /= pr.sum()
                    att[b, t, hh * d:(hh + 1) * d] = pr @ v
        h = h + g1[:, None] * (att @ P[pre + "attn_out.weight"].T)
        m = ln(h, pre + "norm2.weight") * (1 + sc2[:, None]) + sh2[:, None]
        h = h + g2[:, None] * lin(gelu_tanh(lin(m, pre + "mlp.0")), pre + "mlp.2")
    x = ln(h, "output_layer.norm_final.weight")
    if not causal:
        mod = lin(c, "output_layer.adaLN_modulation")
        x = x * (1 + mod[:, None, D:]) + mod[:, None, :D]
    return lin(x, "output_layer.linear")


# ----------------------------------------------------------------------------------------------
# safetensors writer / reader (by hand)
# ----------------------------------------------------------------------------------------------

DT = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8"), torch.float64: ("F64", "<f8")}
NP_OF = {"F32": "<f4", "I64": "<i8", "F64": "<f8"}


def write_safetensors(path, tensors, metadata):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        code, npdt = DT[t.dtype]
        raw = t.numpy().astype(npdt, copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = metadata
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((-len(hb)) % 8)  # pad header to 8-byte alignment (as the reference library does)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(hb)))
        fh.write(hb)
        for raw in blobs:
            fh.write(raw)


def read_safetensors(path):
    data = open(path, "rb").read()
    assert len(data) >= 8
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data), "header beyond file"
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out, spans = {}, []
    for name, info in header.items():
        b, e = info["data_offsets"]
        npdt = np.dtype(NP_OF[info["dtype"]])
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert 0 <= b <= e <= len(body) and e - b == count * npdt.itemsize, name
        spans.append((b, e))
        out[name] = np.frombuffer(body[b:e], dtype=npdt).reshape(info["shape"]).copy()
    spans.sort()
    for (b0, e0), (b1, e1) in zip(spans, spans[1:]):
        assert e0 <= b1, "overlap"
    assert spans[-1][1] == len(body), "trailing bytes"
    return out, meta


# ----------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------


def check_rotary():
    g = torch.Generator().manual_seed(123)
    B, L, H, d = 2, 24, 4, 16
    x = torch.randn(B, L, H, d, generator=g, dtype=torch.float64)
    rot = Rotary(d)
    cos, sin = rot.cos_sin(L, torch.float64)
    y = apply_rotary(x, cos, sin)
    # explicit complex multiplication, inv_freq recomputed in float64
    j = torch.arange(d // 2, dtype=torch.float64)
    invf = 10000.0 ** (-2.0 * j / d)
    ang = torch.arange(L, dtype=torch.float64)[:, None] * invf[None, :]
    z = torch.complex(x[..., :d // 2], x[..., d // 2:]) * torch.exp(1j * ang)[None, :, None, :]
    yc = torch.cat([z.real, z.imag], dim=-1)
    err = (y - yc).abs().max().item()
    print("rotary vs complex multiplication: max abs err %.3e" % err)
    assert err < 1e-6, err  # float32 inv_freq/angles vs float64
    # rotation preserves norms, and q.k after rotation depends only on the relative position
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1))


def check_gradcheck(causal):
    torch.manual_seed(7)
    g = torch.Generator().manual_seed(7)
    K, D, C, nb, H, L, B = 7, 8, 4, 2, 2, 5, 2
    m = DIT(K, D, C, nb, H, mlp_ratio=4, causal=causal).double()
    init_random(m, g)
    m.rotary_emb.inv_freq = m.rotary_emb.inv_freq.double()
    names = [n for n, _ in m.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in m.named_parameters())
    ids = torch.randint(0, K, (B, L), generator=g)
    soft = torch.randn(B, L, K, generator=g, dtype=torch.float64, requires_grad=True)
    sigma = (torch.rand(B, generator=g, dtype=torch.float64) * 2 + 0.2).requires_grad_(not causal)
    R = torch.randn(B, L, K, generator=g, dtype=torch.float64)
    buffers = {"rotary_emb.inv_freq": m.rotary_emb.inv_freq}
    call = torch.nn.utils.stateless.functional_call

    def f_ids(*ps):
        d = dict(zip(names, ps)); d.update(buffers)
        return loss_fn(call(m, d, (ids, sigma.detach() if not causal else None)), R)

    ok1 = torch.autograd.gradcheck(f_ids, params, eps=1e-6, atol=1e-6, rtol=1e-4)

    def f_soft(w, s, *ps):
        d = dict(zip(names, ps)); d.update(buffers)
        return loss_fn(call(m, d, (w, s if not causal else None)), R)

    extra = (soft, sigma) if not causal else (soft, sigma)
    ok2 = torch.autograd.gradcheck(f_soft, extra + params, eps=1e-6, atol=1e-6, rtol=1e-4)
    print("gradcheck float64 tiny model (causal=%s): params/ids %s, soft+sigma+params %s" % (causal, ok1, ok2))
    assert ok1 and ok2


def check_numpy(model, cfg, ids, soft, sigma, logits, logits_soft):
    P = dict(model.named_parameters())
    ref = np_forward(P, cfg, ids, sigma)
    e1 = np.abs(ref - logits.detach().double().numpy()).max()
    ref_s = np_forward(P, cfg, soft, sigma)
    e2 = np.abs(ref_s - logits_soft.detach().double().numpy()).max()
    print("independent float64 numpy forward vs torch float32 (causal=%s): ids %.3e, soft %.3e (logit scale %.2f)"
          % (cfg["causal"], e1, e2, np.abs(ref).max()))
    assert e1 < 1e-4 and e2 < 1e-4


def check_causality(model, ids):
    # changing a later token must not change earlier logits in the causal model
    with torch.no_grad():
        a = model(ids)
        ids2 = ids.clone(); ids2[:, 10] = (ids2[:, 10] + 1) % model.vocab_embed.embedding.shape[0]
        b = model(ids2)
    assert torch.equal(a[:, :10], b[:, :10]) and not torch.allclose(a[:, 10:], b[:, 10:])
    print("causal mask: positions < 10 unchanged after editing token 10: ok")


# ----------------------------------------------------------------------------------------------
# Golden generation
# ----------------------------------------------------------------------------------------------


def make_golden(causal, seed, path):
    cfg = dict(vocab_size=97, hidden_dim=64, cond_dim=32, n_blocks=2, n_heads=4, model_length=24,
               causal=causal, mlp_ratio=4, batch=2)
    K, D, C, nb, H, L, B = (cfg[k] for k in ("vocab_size", "hidden_dim", "cond_dim", "n_blocks", "n_heads",
                                                "model_length", "batch"))
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = DIT(K, D, C, nb, H, mlp_ratio=cfg["mlp_ratio"], causal=causal)
    init_random(model, g)
    model.eval()  # no dropout anywhere in this implementation anyway
    ids = torch.randint(0, K, (B, L), generator=g, dtype=torch.int64)
    sigma = torch.rand(B, generator=g) * 2.9 + 0.1  # (0.1, 3)
    soft = torch.randn(B, L, K, generator=g)
    R = torch.randn(B, L, K, generator=g)

    model.zero_grad()
    logits = model(ids, sigma)
    loss = loss_fn(logits, R)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}

    model.zero_grad()
    soft_in = soft.clone().requires_grad_(True)
    logits_soft = model(soft_in, sigma)
    loss_soft = loss_fn(logits_soft, R)
    loss_soft.backward()
    grad_soft = soft_in.grad.detach().clone()

    check_numpy(model, cfg, ids, soft, sigma, logits, logits_soft)
    if causal:
        check_causality(model, ids)

    # summary statistics (activations O(1), softmax not saturated)
    with torch.no_grad():
        h = model.vocab_embed(ids)
        cos, sin = model.rotary_emb.cos_sin(L, h.dtype)
        c = None if causal else F.silu(model.sigma_map(sigma))
        maxp = []
        for blk in model.blocks:
            a = blk.norm1(h)
            if not causal:
                sh1, sc1 = blk.adaLN_modulation(c)[:, None, :].chunk(6, dim=-1)[:2]
                a = modulate(a, sh1, sc1)
            qkv = blk.attn_qkv(a)
            q = apply_rotary(qkv[..., :D].reshape(B, L, H, D // H), cos, sin).transpose(1, 2)
            k = apply_rotary(qkv[..., D:2 * D].reshape(B, L, H, D // H), cos, sin).transpose(1, 2)
            sc = q @ k.transpose(-1, -2) / math.sqrt(D // H)
            maxp.append((sc.std().item(), torch.softmax(sc, -1).max(-1).values.mean().item()))
            h = blk(h, cos, sin, c)
    print("[%s] logits std %.3f (soft %.3f), loss %.5f, loss_soft %.5f, attention (score std, mean max prob) %s"
          % (os.path.basename(path), logits.std().item(), logits_soft.std().item(), loss.item(), loss_soft.item(),
             ", ".join("(%.2f, %.2f)" % t for t in maxp)))
    gn = sorted((g_.norm().item(), n) for n, g_ in grads.items())
    print("   %sgrad norms: min %.2e (%s), max %.2e (%s); |grad.input.soft| max %.2e"
          % ("" if causal else "c std %.3f; " % c.std().item(), gn[0][0], gn[0][1], gn[-1][0], gn[-1][1],
             grad_soft.abs().max().item()))
    assert gn[0][0] > 0, "a parameter gets no gradient"

    tensors = {}
    for n, p in model.named_parameters():
        tensors[n] = p.detach().clone()
        tensors["grad." + n] = grads[n]
    tensors["input.ids"] = ids
    tensors["input.sigma"] = sigma
    tensors["input.soft"] = soft
    tensors["loss.weights"] = R
    tensors["out.logits"] = logits.detach()
    tensors["out.logits_soft"] = logits_soft.detach()
    tensors["out.loss"] = loss.detach().reshape(())
    tensors["out.loss_soft"] = loss_soft.detach().reshape(())
    tensors["grad.input.soft"] = grad_soft
    for t in tensors.values():
        assert t.dtype in (torch.float32, torch.int64)
        assert torch.isfinite(t.float()).all()
    meta = {
        "config": json.dumps(cfg, sort_keys=True),
        "generator": "tools/golden/dit_golden.py seed=%d torch=%s" % (seed, torch.__version__),
        "loss": "loss = sum(log_softmax(logits, -1) * loss.weights) / (B*L); grad.<param> from the token-id "
                "forward; grad.input.soft = d loss_soft / d input.soft (soft forward, same sigma)",
    }
    write_safetensors(path, tensors, meta)

    # round trip with our own reader
    back, bmeta = read_safetensors(path)
    assert set(back) == set(tensors), set(back) ^ set(tensors)
    assert bmeta == meta
    for n, t in tensors.items():
        a = back[n]
        assert list(a.shape) == list(t.shape), n
        assert np.array_equal(a, t.numpy()), n
    print("   wrote %s: %d tensors, %d bytes; round trip ok" % (path, len(tensors), os.path.getsize(path)))
    print("   metadata config: %s" % meta["config"])
    return tensors


def main():
    if not os.path.isdir("testdata"):
        sys.exit("run from the repository root (testdata/ not found)")
    check_rotary()
    check_gradcheck(causal=False)
    check_gradcheck(causal=True)
    make_golden(False, 20250611, "testdata/dit_golden.safetensors")
    make_golden(True, 20250612, "testdata/dit_golden_causal.safetensors")
    print("all checks passed")


if __name__ == "__main__":
    main()
