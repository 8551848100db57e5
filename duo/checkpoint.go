package duo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/internal/atomicfile"
	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/internal/tokenizer"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// A checkpoint directory holds what inference needs at its top level,
// config.json and model.safetensors (the EMA weights, reference names), and
// the training state under train/: the raw weights, the optimiser moments
// and state.json (configuration, step, RNG state, log). Every file is
// written atomically and stamped with the step; state.json is written last,
// and Resume refuses a directory whose files disagree.
const (
	trainDir      = "train"
	rawFile       = "raw.safetensors"
	optimizerFile = "optimizer.safetensors"
	stateFile     = "state.json"
)

// ModelInfo is what config.json says beyond the network's shape.
type ModelInfo struct {
	ModelType string `json:"model_type"`
	Objective string `json:"objective"`
	Tokenizer string `json:"tokenizer"`
}

type trainState struct {
	Config     TrainConfig `json:"config"`
	Step       int         `json:"step"`
	RNG        []byte      `json:"rng"`
	OptSteps   int         `json:"optimizer_steps"`
	EMAUpdates int         `json:"ema_updates"`
	Log        []Record    `json:"log"`
}

// Save writes the trainer's checkpoint into dir.
func (t *Trainer) Save(dir string) error {
	td := filepath.Join(dir, trainDir)
	if err := os.MkdirAll(td, 0o755); err != nil {
		return err
	}
	stamp := map[string]string{"step": strconv.Itoa(t.Step)}
	if err := nn.WriteParams(filepath.Join(td, rawFile), "", t.Params, stamp); err != nil {
		return err
	}
	var moments []nn.Param
	for i, p := range t.Params {
		moments = append(moments, nn.Param{Name: "m." + p.Name, Var: constVar(t.Opt.M[i])}, nn.Param{Name: "v." + p.Name, Var: constVar(t.Opt.V[i])})
	}
	if err := nn.WriteParams(filepath.Join(td, optimizerFile), "", moments, stamp); err != nil {
		return err
	}
	err := t.WithEMA(func() error {
		info := map[string]any{"model_type": "duo", "objective": t.Cfg.Objective, "tokenizer": t.Cfg.Tokenizer}
		return nn.SaveDiT(dir, t.Model, info, stamp)
	})
	if err != nil {
		return err
	}
	st := trainState{Config: t.Cfg, Step: t.Step, RNG: t.RNG.State(), OptSteps: t.Opt.Steps, EMAUpdates: t.EMA.Updates, Log: t.Log}
	raw, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(td, stateFile), raw)
}

// Resume reopens a checkpoint written by Save so that training continues
// exactly where it stopped (same batches, noise and losses).
func Resume(dir string, train, val []int32) (*Trainer, error) {
	td := filepath.Join(dir, trainDir)
	raw, err := os.ReadFile(filepath.Join(td, stateFile))
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	var st trainState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("resume: %s: %w", filepath.Join(td, stateFile), err)
	}
	t, err := NewTrainer(st.Config, train, val)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if err := t.RNG.SetState(st.RNG); err != nil {
		return nil, fmt.Errorf("resume: rng state: %w", err)
	}
	t.Step, t.Opt.Steps, t.EMA.Updates, t.Log = st.Step, st.OptSteps, st.EMAUpdates, st.Log
	var moments []nn.Param
	for i, p := range t.Params {
		moments = append(moments, nn.Param{Name: "m." + p.Name, Var: constVar(t.Opt.M[i])}, nn.Param{Name: "v." + p.Name, Var: constVar(t.Opt.V[i])})
	}
	// The EMA weights are the model file; load them through the params, then
	// keep them as the shadow and load the raw weights over the params.
	loads := []struct {
		path   string
		params []nn.Param
	}{
		{filepath.Join(dir, nn.ModelFile), t.Params},
		{filepath.Join(td, optimizerFile), moments},
	}
	for _, l := range loads {
		if err := loadStamped(l.path, l.params, st.Step); err != nil {
			return nil, err
		}
	}
	for i, p := range t.Params {
		t.EMA.Shadow[i].CopyFrom(p.Value)
	}
	if err := loadStamped(filepath.Join(td, rawFile), t.Params, st.Step); err != nil {
		return nil, err
	}
	return t, nil
}

// loadStamped loads params from a safetensors file that must carry the
// given step stamp.
func loadStamped(path string, params []nn.Param, step int) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	defer f.Close()
	if got := f.Metadata["step"]; got != strconv.Itoa(step) {
		return fmt.Errorf("resume: %s is from step %q but state.json from step %d (interrupted save?)", path, got, step)
	}
	if err := nn.LoadParams(f, "", params); err != nil {
		return fmt.Errorf("resume: %s: %w", path, err)
	}
	return nil
}

// LoadModel reads a checkpoint directory for inference: ours (the EMA
// weights) or the authors' Hugging Face layout, and what config.json says
// about it. model_type must be "duo" (or "udlm", the same uniform-state
// model without the curriculum) when present. The tokenizer is the one
// config.json names ("bytes" or "bpe"); a config without the field (the
// Hugging Face one) gets "bpe" when the directory holds GPT-2 tokenizer
// files, else "" (unknown: the caller must supply one).
func LoadModel(dir string) (*nn.DiT, ModelInfo, error) {
	var info ModelInfo
	path := filepath.Join(dir, nn.ConfigFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, info, err
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, info, fmt.Errorf("%s: %w", path, err)
	}
	switch strings.ToLower(info.ModelType) {
	case "", "duo":
	case "udlm":
		if info.Objective == "" {
			info.Objective = ObjectiveUDLM
		}
	default:
		return nil, info, fmt.Errorf("%s: model_type %q is not a uniform-state (Duo) model; its sampler and loss are not implemented here", path, info.ModelType)
	}
	switch info.Objective {
	case "":
		info.Objective = ObjectiveDuo
	case ObjectiveDuo, ObjectiveUDLM, ObjectiveAR:
	default:
		return nil, info, fmt.Errorf("%s: objective %q: want duo, udlm or ar", path, info.Objective)
	}
	if info.Tokenizer == "" && tokenizer.HasBPEFiles(dir) {
		info.Tokenizer = "bpe"
	}
	m, err := nn.LoadDiT(dir)
	if err != nil {
		return nil, info, err
	}
	if m.Causal {
		info.Objective = ObjectiveAR
	} else if info.Objective == ObjectiveAR {
		return nil, info, fmt.Errorf("%s: objective ar needs causal true", path)
	}
	return m, info, nil
}

// constVar wraps optimiser state for the parameter-file writer and loader.
func constVar(t *tensor.Tensor) *autograd.Var { return autograd.Const(t) }
