package nn

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/duo-go/duo/internal/pickle"
	"github.com/duo-go/duo/internal/torchckpt"
	"github.com/duo-go/duo/tensor"
)

// EMAChoice says which weights LoadLightning takes.
type EMAChoice int

const (
	// EMAAuto takes the EMA shadow weights when the checkpoint has them (as
	// the authors evaluate and sample), else the raw weights.
	EMAAuto EMAChoice = iota
	// EMARequire takes the EMA weights and fails if there are none.
	EMARequire
	// EMAOff takes the raw weights of state_dict.
	EMAOff
)

// LightningOptions supplies what a Lightning checkpoint's tensors cannot
// tell. A zero field means "from the checkpoint's hyper-parameters"; a set
// field must agree with what the checkpoint says, if it says anything.
type LightningOptions struct {
	EMA     EMAChoice
	Length  int     // model_length (rotary embeddings have no stored size)
	Heads   int     // n_heads, when the checkpoint lacks rotary_emb.inv_freq
	Dropout float64 // negative: from the hyper-parameters, else 0.1
}

// LightningInfo reports what LoadLightning found.
type LightningInfo struct {
	Config     Config
	EMA        bool     // the EMA shadow weights were taken
	HasEMA     bool     // the checkpoint has EMA weights
	EMAUpdates int64    // ema.num_updates, -1 if absent
	Algo       string   // hyper_parameters config.algo.name, "" if unknown
	Ignored    []string // state_dict entries outside the backbone
	Sources    []string // where each inferred config field came from
}

// LoadLightning reads a PyTorch Lightning checkpoint of the authors' code
// (a torch.save zip: state_dict with "backbone." keys, EMA shadow
// parameters under ema.shadow_params) into a DiT. The shape of the network
// comes from the tensors; model_length, and n_heads when there is no
// rotary buffer, from the saved hyper-parameters or opt. A file holding a
// bare state dict (of the DiT or of a module holding it as `backbone`) is
// read too.
func LoadLightning(path string, opt LightningOptions) (*DiT, LightningInfo, error) {
	info := LightningInfo{EMAUpdates: -1}
	ck, err := torchckpt.Open(path)
	if err != nil {
		return nil, info, err
	}
	defer ck.Close()
	m, err := loadLightning(ck, opt, &info)
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w", path, err)
	}
	return m, info, nil
}

var blockKey = regexp.MustCompile(`^blocks\.(\d+)\.`)

func loadLightning(ck *torchckpt.Checkpoint, opt LightningOptions, info *LightningInfo) (*DiT, error) {
	root, ok := ck.Root.(*pickle.Dict)
	if !ok {
		return nil, fmt.Errorf("the saved object is a %s, not a dict", torchckpt.Describe(ck.Root))
	}
	sd := root
	if v, ok := root.Get("state_dict"); ok {
		if sd, ok = v.(*pickle.Dict); !ok {
			return nil, fmt.Errorf("state_dict is a %s, not a dict", torchckpt.Describe(v))
		}
	}
	// The backbone's tensors, by name without the prefix: "backbone."
	// (Lightning, Hugging Face), "backbone._orig_mod." (a torch.compile'd
	// backbone) or none (a bare DiT state dict).
	prefix := ""
	for _, k := range sd.Keys {
		s, _ := k.(string)
		if strings.HasPrefix(s, BackbonePrefix+"_orig_mod.") {
			prefix = BackbonePrefix + "_orig_mod."
			break
		}
		if strings.HasPrefix(s, BackbonePrefix) {
			prefix = BackbonePrefix
		}
	}
	state := map[string]*torchckpt.Tensor{}
	for i, k := range sd.Keys {
		s, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("state_dict has a %s key", torchckpt.Describe(k))
		}
		name, ok := strings.CutPrefix(s, prefix)
		if !ok {
			info.Ignored = append(info.Ignored, s)
			continue
		}
		t, ok := sd.Values[i].(*torchckpt.Tensor)
		if !ok {
			return nil, fmt.Errorf("state_dict entry %q is a %s, not a tensor", s, torchckpt.Describe(sd.Values[i]))
		}
		state[name] = t
	}
	if _, ok := state["vocab_embed.embedding"]; !ok && prefix == "" {
		return nil, fmt.Errorf("no tensors under %q in the state dict: not a checkpoint of the authors' DiT", BackbonePrefix)
	}
	var hp any
	if v, ok := root.Get("hyper_parameters"); ok {
		hp = torchckpt.Plain(v)
	}
	if v, ok := torchckpt.Lookup(hp, "config.algo.name"); ok {
		info.Algo, _ = v.(string)
	}
	cfg, err := inferConfig(state, hp, opt, prefix, info)
	if err != nil {
		return nil, err
	}
	info.Config = cfg
	m, err := NewDiT(cfg, tensor.NewRNG(0))
	if err != nil {
		return nil, err
	}

	// Raw weights: every parameter present with its shape, nothing else.
	want := map[string]bool{InvFreqName: true}
	for _, p := range m.Params() {
		want[p.Name] = true
		t, ok := state[p.Name]
		if !ok {
			return nil, fmt.Errorf("missing tensor %q (shape %v)", prefix+p.Name, p.Value.Shape())
		}
		if err := copyTensor(p, t, prefix+p.Name); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(state))
	for n := range state {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !want[n] {
			return nil, fmt.Errorf("unexpected tensor %q", prefix+n)
		}
	}
	if t, ok := state[InvFreqName]; ok {
		v, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		if err := CheckInvFreq(v, t.Shape, t.DType, cfg.Hidden/cfg.Heads); err != nil {
			return nil, fmt.Errorf("%s: %w", prefix+InvFreqName, err)
		}
	}

	// EMA shadow weights, in module registration order.
	emaV, hasEMA := root.Get("ema")
	if hasEMA && emaV == nil {
		hasEMA = false // the authors' code saves ema=None when EMA is off
	}
	info.HasEMA = hasEMA
	var ema *pickle.Dict
	if hasEMA {
		if ema, ok = emaV.(*pickle.Dict); !ok {
			return nil, fmt.Errorf("ema is a %s, not a dict", torchckpt.Describe(emaV))
		}
		if v, ok := ema.Get("num_updates"); ok {
			if n, ok := v.(int64); ok {
				info.EMAUpdates = n
			}
		}
	}
	switch {
	case opt.EMA == EMAOff:
		return m, nil
	case !hasEMA && opt.EMA == EMARequire:
		return nil, errors.New("the checkpoint has no EMA weights (no \"ema\" entry)")
	case !hasEMA:
		return m, nil
	}
	sv, ok := ema.Get("shadow_params")
	if !ok {
		return nil, errors.New("ema has no shadow_params")
	}
	var shadow []any
	switch l := sv.(type) {
	case *pickle.List:
		shadow = l.Items
	case pickle.Tuple:
		shadow = l
	default:
		return nil, fmt.Errorf("ema.shadow_params is a %s, not a list", torchckpt.Describe(sv))
	}
	params := m.Params()
	if len(shadow) != len(params) {
		return nil, fmt.Errorf("ema.shadow_params has %d tensors but the backbone has %d parameters", len(shadow), len(params))
	}
	for i, p := range params {
		t, ok := shadow[i].(*torchckpt.Tensor)
		if !ok {
			return nil, fmt.Errorf("ema.shadow_params[%d] is a %s, not a tensor", i, torchckpt.Describe(shadow[i]))
		}
		if err := copyTensor(p, t, fmt.Sprintf("ema.shadow_params[%d] (%s in module order)", i, prefix+p.Name)); err != nil {
			return nil, err
		}
	}
	info.EMA = true
	return m, nil
}

// copyTensor checks t's shape against p and copies its values.
func copyTensor(p Param, t *torchckpt.Tensor, label string) error {
	if !slices.Equal(t.Shape, p.Value.Shape()) {
		return fmt.Errorf("tensor %s has shape %v, want %v", label, t.Shape, p.Value.Shape())
	}
	v, err := t.Float32s()
	if err != nil {
		return fmt.Errorf("tensor %s: %w", label, err)
	}
	if i, bad := firstNonFinite(v); bad {
		return fmt.Errorf("tensor %s holds a non-finite value (%v at index %d)", label, v[i], i)
	}
	copy(p.Value.Data(), v)
	return nil
}

// inferConfig derives the DiT's Config from the state dict's shapes, the
// hyper-parameters hp (Plain form; may be nil) and opt.
func inferConfig(state map[string]*torchckpt.Tensor, hp any, opt LightningOptions, prefix string, info *LightningInfo) (Config, error) {
	shape := func(name string, rank int) ([]int, error) {
		t, ok := state[name]
		if !ok {
			return nil, fmt.Errorf("missing tensor %q", prefix+name)
		}
		if len(t.Shape) != rank {
			return nil, fmt.Errorf("tensor %q has shape %v, want rank %d", prefix+name, t.Shape, rank)
		}
		return t.Shape, nil
	}
	hpInt := func(key string) (int, bool, error) {
		v, ok := torchckpt.Lookup(hp, "config.model."+key)
		if !ok {
			return 0, false, nil
		}
		switch n := v.(type) {
		case int64:
			if n > 0 && n <= maxDim {
				return int(n), true, nil
			}
		case float64:
			if n == math.Trunc(n) && n > 0 && n <= maxDim {
				return int(n), true, nil
			}
		}
		// Not a number (an unresolved interpolation, say): not used.
		info.Sources = append(info.Sources, fmt.Sprintf("hyper-parameter config.model.%s = %v ignored (not a positive integer)", key, v))
		return 0, false, nil
	}
	var cfg Config
	src := func(field, from string) { info.Sources = append(info.Sources, field+" from "+from) }

	e, err := shape("vocab_embed.embedding", 2)
	if err != nil {
		return cfg, err
	}
	cfg.Vocab, cfg.Hidden = e[0], e[1]
	src("vocab_size, hidden_dim", "vocab_embed.embedding")
	if _, ok := state["sigma_map.mlp.0.weight"]; ok {
		s, err := shape("sigma_map.mlp.0.weight", 2)
		if err != nil {
			return cfg, err
		}
		cfg.Cond = s[0]
		src("cond_dim", "sigma_map.mlp.0.weight")
	} else {
		cfg.Causal = true
		src("causal", "the absence of sigma_map (the AR variant)")
		if c, ok, err := hpInt("cond_dim"); err != nil {
			return cfg, err
		} else if ok {
			cfg.Cond = c
		}
	}
	blocks := map[int]bool{}
	for n := range state {
		if m := blockKey.FindStringSubmatch(n); m != nil {
			i, err := strconv.Atoi(m[1])
			if err != nil || i >= maxBlocks {
				return cfg, fmt.Errorf("tensor %q: block index out of range", prefix+n)
			}
			blocks[i] = true
		}
	}
	cfg.Blocks = len(blocks)
	for i := range cfg.Blocks {
		if !blocks[i] {
			return cfg, fmt.Errorf("no tensors for block %d but %d blocks in all", i, cfg.Blocks)
		}
	}
	src("n_blocks", "the blocks.N keys")
	if cfg.Blocks == 0 {
		return cfg, errors.New("no blocks.N tensors")
	}
	mlp, err := shape("blocks.0.mlp.0.weight", 2)
	if err != nil {
		return cfg, err
	}
	if cfg.Hidden == 0 || mlp[0]%cfg.Hidden != 0 {
		return cfg, fmt.Errorf("tensor %q has shape %v: not a multiple of hidden_dim %d", prefix+"blocks.0.mlp.0.weight", mlp, cfg.Hidden)
	}
	cfg.MLPRatio = mlp[0] / cfg.Hidden
	src("mlp_ratio", "blocks.0.mlp.0.weight")

	// Sizes the hyper-parameters state must agree with the tensors.
	for _, c := range []struct {
		key  string
		have int
	}{{"hidden_size", cfg.Hidden}, {"n_blocks", cfg.Blocks}, {"cond_dim", cfg.Cond}} {
		v, ok, err := hpInt(c.key)
		if err != nil {
			return cfg, err
		}
		if ok && v != c.have && !(c.key == "cond_dim" && cfg.Causal) {
			return cfg, fmt.Errorf("hyper-parameter config.model.%s = %d disagrees with the tensors (%d)", c.key, v, c.have)
		}
	}

	// n_heads: rotary buffer, hyper-parameters, option (all must agree).
	heads := map[string]int{}
	if t, ok := state[InvFreqName]; ok {
		if len(t.Shape) != 1 || t.Shape[0] < 1 || cfg.Hidden%(2*t.Shape[0]) != 0 {
			return cfg, fmt.Errorf("tensor %q has shape %v: 2 x its length must divide hidden_dim %d", prefix+InvFreqName, t.Shape, cfg.Hidden)
		}
		heads[InvFreqName] = cfg.Hidden / (2 * t.Shape[0])
	}
	if h, ok, err := hpInt("n_heads"); err != nil {
		return cfg, err
	} else if ok {
		heads["hyper-parameter config.model.n_heads"] = h
	}
	if opt.Heads > 0 {
		heads["--heads"] = opt.Heads
	}
	if err := pick(&cfg.Heads, "n_heads", heads, info); err != nil {
		return cfg, err
	}

	lengths := map[string]int{}
	if l, ok, err := hpInt("length"); err != nil {
		return cfg, err
	} else if ok {
		lengths["hyper-parameter config.model.length"] = l
	}
	if opt.Length > 0 {
		lengths["--length"] = opt.Length
	}
	if err := pick(&cfg.Length, "model_length", lengths, info); err != nil {
		return cfg, err
	}

	cfg.Dropout = 0.1
	switch v, ok := torchckpt.Lookup(hp, "config.model.dropout"); {
	case opt.Dropout >= 0:
		cfg.Dropout = opt.Dropout
		src("dropout", "--dropout")
	case ok:
		d, isF := v.(float64)
		if i, isI := v.(int64); isI {
			d, isF = float64(i), true
		}
		if isF {
			cfg.Dropout = d
			src("dropout", "hyper-parameter config.model.dropout")
		} else {
			src("dropout", fmt.Sprintf("the default 0.1 (hyper-parameter config.model.dropout = %v is not a number)", v))
		}
	default:
		src("dropout", "the default 0.1")
	}
	if cfg.Length > maxLength {
		return cfg, fmt.Errorf("model_length %d is implausibly large (limit %d)", cfg.Length, maxLength)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// pick sets *dst from the candidate values by source, which must agree.
func pick(dst *int, field string, cands map[string]int, info *LightningInfo) error {
	srcs := make([]string, 0, len(cands))
	for s := range cands {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	if len(srcs) == 0 {
		flag := map[string]string{"n_heads": "--heads", "model_length": "--length"}[field]
		return fmt.Errorf("cannot tell %s from the checkpoint (no hyper-parameters); give it with %s", field, flag)
	}
	v := cands[srcs[0]]
	for _, s := range srcs[1:] {
		if cands[s] != v {
			return fmt.Errorf("%s: %s says %d but %s says %d", field, srcs[0], v, s, cands[s])
		}
	}
	*dst = v
	info.Sources = append(info.Sources, field+" from "+strings.Join(srcs, " and "))
	return nil
}
