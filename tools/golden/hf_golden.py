#!/usr/bin/env python3
"""Golden files for importing the authors' released formats (shared/spec/dit.md sections 2-3).

Run from the repository root:   /usr/bin/python3 tools/golden/hf_golden.py
Deterministic (fixed seed, CPU, float32). Needs torch + numpy only; reuses the independent DiT of dit_golden.py.

Writes, for a tiny random non-causal DiT (K=67, D=32, C=16, 2 blocks, 4 heads, L=16):
  testdata/hf_tiny/config.json, model.safetensors
      the Hugging Face layout: model_type "duo", the DUOConfig fields (no mlp_ratio), tensors under "backbone."
      (the wrapper module's state_dict(), so rotary_emb.inv_freq is included), float32.
  testdata/lightning_tiny.ckpt
      a PyTorch Lightning-style torch.save: {"state_dict": wrapper.state_dict() (raw weights) plus one
      non-backbone entry, "ema": {"decay", "num_updates", "shadow_params": [EMA tensors in
      backbone.parameters() order]}, "hyper_parameters": {"config": an OmegaConf-like DictConfig object,
      "tokenizer": an opaque object}, "optimizer_states", "loops", ...}. The EMA weights differ from the raw ones.
  testdata/lightning_tiny_bf16.ckpt
      {"state_dict": the raw weights in bfloat16} (no hyper-parameters, no EMA).
  testdata/lightning_bad.ckpt
      {"state_dict": the raw weights, but blocks.0.attn_out.weight stored column-major (a non-contiguous view)}.
  testdata/dit_state_dict.pt
      torch.save(model.state_dict()): the raw weights under the bare DiT names (no prefix).
  testdata/hf_tiny_golden.safetensors
      input.ids (I64, B=2 x L=16), input.sigma (F32, B), out.logits (raw weights), out.logits_ema (EMA weights),
      out.logits_bf16 (the bf16-rounded raw weights).
The independent float64 NumPy forward of dit_golden.py checks the torch logits before anything is written.
"""
import json
import os
import sys
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dit_golden import DIT, init_random, np_forward, read_safetensors, write_safetensors  # noqa: E402

CFG = dict(vocab_size=67, model_length=16, hidden_dim=32, cond_dim=16, n_blocks=2, n_heads=4, dropout=0.1,
           causal=False)
SEED = 20250701


class Wrapper(torch.nn.Module):
    """The Hugging Face DUO / Lightning module: the DiT held as `backbone`."""

    def __init__(self, dit):
        super().__init__()
        self.backbone = dit


# --- Stand-ins for the objects a real Lightning checkpoint pickles (OmegaConf configs, a tokenizer). They are
# registered under the real module names so that the pickle names the same globals the authors' files do.

def fake_module(name, **attrs):
    mod = types.ModuleType(name)
    for k, v in attrs.items():
        v.__module__ = name
        setattr(mod, k, v)
    sys.modules[name] = mod
    return mod


class DictConfig:
    def __init__(self, content, parent=None):
        self._metadata = {"ref_type": "Any", "object_type": "dict"}
        self._parent = parent
        self._content = {k: (DictConfig(v, self) if isinstance(v, dict) else AnyNode(v, self))
                         for k, v in content.items()}

    def __getstate__(self):
        return dict(self.__dict__)


class AnyNode:
    def __init__(self, val, parent):
        self._val = val
        self._parent = parent  # a reference cycle, as in OmegaConf
        self._metadata = {"ref_type": "Any"}

    def __getstate__(self):
        return dict(self.__dict__)


class GPT2TokenizerFast:
    def __init__(self):
        self.name_or_path = "gpt2"
        self.special = {b"<|endoftext|>": 50256}
        self.flags = {"a", "b"}


fake_module("omegaconf")
fake_module("omegaconf.dictconfig", DictConfig=DictConfig)
fake_module("omegaconf.nodes", AnyNode=AnyNode)
fake_module("transformers")
fake_module("transformers.models")
fake_module("transformers.models.gpt2")
fake_module("transformers.models.gpt2.tokenization_gpt2_fast", GPT2TokenizerFast=GPT2TokenizerFast)


def build(seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = DIT(CFG["vocab_size"], CFG["hidden_dim"], CFG["cond_dim"], CFG["n_blocks"], CFG["n_heads"],
                mlp_ratio=4, causal=False)
    init_random(model, g)
    model.eval()
    return model, g


def logits_of(model, ids, sigma):
    with torch.no_grad():
        return model(ids, sigma).detach().clone()


def check_numpy(model, ids, sigma, logits, label):
    cfg = dict(CFG)
    ref = np_forward(dict(model.named_parameters()), cfg, ids, sigma)
    err = np.abs(ref - logits.double().numpy()).max()
    print("%s: float64 numpy forward vs torch float32 max abs err %.3e (logit scale %.2f)"
          % (label, err, np.abs(ref).max()))
    assert err < 1e-4, err


def main():
    if not os.path.isdir("testdata"):
        sys.exit("run from the repository root (testdata/ not found)")
    torch.set_num_threads(1)
    model, g = build(SEED)
    B, L, K = 2, CFG["model_length"], CFG["vocab_size"]
    ids = torch.randint(0, K, (B, L), generator=g, dtype=torch.int64)
    sigma = torch.rand(B, generator=g) * 2.9 + 0.1
    logits = logits_of(model, ids, sigma)
    check_numpy(model, ids, sigma, logits, "raw")

    # EMA weights: the raw ones perturbed (a real EMA lags the raw weights).
    ema_model, _ = build(SEED)
    with torch.no_grad():
        for p in ema_model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    shadow = [p.detach().clone() for p in ema_model.parameters()]  # module registration order
    logits_ema = logits_of(ema_model, ids, sigma)
    check_numpy(ema_model, ids, sigma, logits_ema, "ema")

    # bf16 weights, and the logits of their float32 values.
    bf_model, _ = build(SEED)
    with torch.no_grad():
        for p in bf_model.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    logits_bf16 = logits_of(bf_model, ids, sigma)

    # Hugging Face layout.
    hf = Wrapper(model)
    sd = hf.state_dict()
    assert "backbone.rotary_emb.inv_freq" in sd and all(k.startswith("backbone.") for k in sd)
    os.makedirs("testdata/hf_tiny", exist_ok=True)
    write_safetensors("testdata/hf_tiny/model.safetensors", dict(sd), {"format": "pt"})
    hf_cfg = {"architectures": ["DUO"], "model_type": "duo", "torch_dtype": "float32", "var_min": True,
              "transformers_version": "4.45.2", "return_dict": False, **CFG}
    with open("testdata/hf_tiny/config.json", "w") as fh:
        json.dump(hf_cfg, fh, indent=2, sort_keys=True)
        fh.write("\n")
    back, meta = read_safetensors("testdata/hf_tiny/model.safetensors")
    assert set(back) == set(sd) and meta == {"format": "pt"}
    for k, v in sd.items():
        assert np.array_equal(back[k], v.numpy()), k

    # Lightning-style checkpoint.
    state = hf.state_dict()  # an OrderedDict with _metadata, as Lightning saves it
    state["noise.dummy_buffer"] = torch.zeros(3)
    hparams_cfg = {
        "algo": {"name": "duo", "backbone": "dit", "time_conditioning": True, "causal_attention": False},
        "model": {"name": "tiny", "type": "ddit", "hidden_size": CFG["hidden_dim"], "cond_dim": CFG["cond_dim"],
                  "length": CFG["model_length"], "n_blocks": CFG["n_blocks"], "n_heads": CFG["n_heads"],
                  "scale_by_sigma": True, "dropout": CFG["dropout"], "tie_word_embeddings": False},
        "training": {"ema": 0.9999},
    }
    first = next(iter(model.parameters()))
    ckpt = {
        "epoch": 0,
        "global_step": 3,
        "pytorch-lightning_version": "2.2.1",
        "state_dict": state,
        "loops": {"fit_loop": {"epoch_progress": {"current": {"completed": 0}}}},
        "callbacks": {},
        "optimizer_states": [{"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros_like(first[:2])}},
                              "param_groups": [{"lr": 3e-4, "betas": (0.9, 0.999), "params": [0]}]}],
        "lr_schedulers": [{"last_epoch": 3}],
        "ema": {"decay": 0.9999, "num_updates": 3, "shadow_params": shadow},
        "hyper_parameters": {"config": DictConfig(hparams_cfg), "tokenizer": GPT2TokenizerFast(), "vocab_size": K},
        "sampler": {"random_state": None},
    }
    torch.save(ckpt, "testdata/lightning_tiny.ckpt")
    bf_state = {k: v.to(torch.bfloat16) for k, v in hf.state_dict().items()}
    torch.save({"state_dict": bf_state}, "testdata/lightning_tiny_bf16.ckpt")
    torch.save(model.state_dict(), "testdata/dit_state_dict.pt")  # a bare DiT state dict, no prefix
    bad = hf.state_dict()
    W = bad["backbone.blocks.0.attn_out.weight"]
    bad["backbone.blocks.0.attn_out.weight"] = W.t().contiguous().t()  # same values, column-major strides
    assert not bad["backbone.blocks.0.attn_out.weight"].is_contiguous()
    torch.save({"state_dict": bad}, "testdata/lightning_bad.ckpt")

    # Read back with torch.load and check the EMA order against named parameters.
    loaded = torch.load("testdata/lightning_tiny.ckpt")
    names = [n for n, _ in model.named_parameters()]
    assert len(loaded["ema"]["shadow_params"]) == len(names)
    for n, s, p in zip(names, loaded["ema"]["shadow_params"], ema_model.parameters()):
        assert torch.equal(s, p.detach()), n
    print("parameter (module registration) order: " + ", ".join(names[:8]) + ", ...")

    write_safetensors("testdata/hf_tiny_golden.safetensors", {
        "input.ids": ids, "input.sigma": sigma, "out.logits": logits, "out.logits_ema": logits_ema,
        "out.logits_bf16": logits_bf16,
    }, {"config": json.dumps(CFG, sort_keys=True),
        "generator": "tools/golden/hf_golden.py seed=%d torch=%s" % (SEED, torch.__version__)})
    total = 0
    for f in ["hf_tiny/config.json", "hf_tiny/model.safetensors", "lightning_tiny.ckpt", "lightning_tiny_bf16.ckpt",
              "lightning_bad.ckpt", "dit_state_dict.pt", "hf_tiny_golden.safetensors"]:
        n = os.path.getsize("testdata/" + f)
        total += n
        print("   wrote testdata/%s (%d bytes)" % (f, n))
    print("   total %d bytes; logits std %.3f (ema %.3f)" % (total, logits.std().item(), logits_ema.std().item()))
    print("all checks passed")


if __name__ == "__main__":
    main()
