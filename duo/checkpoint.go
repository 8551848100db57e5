package duo

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/internal/atomicfile"
	"github.com/duo-go/duo/internal/checkpoint"
	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/tokenizer"
)

// A run directory holds what inference needs at its top level, config.json
// and model.safetensors (the EMA weights, reference names), and under
// train/ one directory per checkpoint, step-NNNNNNNN, each complete by
// itself: config.json and model.safetensors again, the raw weights, the
// AdamW moments, state.json (configuration, step, RNG state, corpus
// fingerprint, log) and manifest.json (every file's size and CRC-32C). A
// checkpoint is written under a temporary name and renamed into place when
// complete (package internal/checkpoint), then the top-level files are
// replaced by hard links to its own, and the oldest checkpoints beyond
// --keep are removed: whatever moment the process dies or the disk fills,
// the newest complete checkpoint is there and Resume takes it.
const (
	trainDir      = "train"
	rawFile       = "raw.safetensors"
	optimizerFile = "optimizer.safetensors"
	objectiveFile = "objective.safetensors" // a Stateful objective's state (DCD's teacher)
	stateFile     = "state.json"
)

// DefaultKeep is how many checkpoints a run keeps unless told otherwise.
const DefaultKeep = 2

// ModelInfo is what config.json says beyond the network's shape.
type ModelInfo struct {
	ModelType string `json:"model_type"`
	Objective string `json:"objective"`
	Tokenizer string `json:"tokenizer"`
	Schedule  string `json:"schedule,omitempty"` // the noise schedule ("": log-linear)
}

// Corpus identifies the token streams a run trains on, so that a resumed
// run can tell that it is given the same data (and tokenizer).
type Corpus struct {
	Source      string `json:"source,omitempty"` // where the tokens came from, for messages
	TrainTokens int    `json:"train_tokens"`
	ValTokens   int    `json:"val_tokens"`
	CRC32C      uint32 `json:"crc32c"` // of the training then validation ids, as little-endian int32
}

// Fingerprint returns the Corpus of two token streams (Source empty).
func Fingerprint(train, val []int32) Corpus {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	buf := make([]byte, 0, 1<<16)
	for _, s := range [][]int32{train, val} {
		for _, id := range s {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(id))
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
		}
	}
	h.Write(buf)
	return Corpus{TrainTokens: len(train), ValTokens: len(val), CRC32C: h.Sum32()}
}

// String describes the corpus for messages.
func (c Corpus) String() string {
	s := fmt.Sprintf("%d train + %d validation tokens, crc32c %08x", c.TrainTokens, c.ValTokens, c.CRC32C)
	if c.Source != "" {
		s = c.Source + ": " + s
	}
	return s
}

type trainState struct {
	Config     TrainConfig `json:"config"`
	Step       int         `json:"step"`
	RNG        []byte      `json:"rng"`
	OptSteps   int         `json:"optimizer_steps"`
	EMAUpdates int         `json:"ema_updates"`
	Data       Corpus      `json:"data"`
	Log        []Record    `json:"log"`
}

// info is the ModelInfo config.json records beside the network's shape:
// what a loader needs to evaluate and sample the model as it was trained.
func (t *Trainer) info() map[string]any {
	sched := t.Cfg.Schedule
	if sched == "" {
		sched = ScheduleLogLinear
	}
	return map[string]any{"model_type": "duo", "objective": t.Cfg.Objective, "tokenizer": t.Cfg.Tokenizer, "schedule": sched}
}

// Save writes the trainer's checkpoint into the run directory dir as one
// unit (see the layout above), publishes its model at dir's top level and
// keeps the newest keep checkpoints (keep < 1: DefaultKeep). It returns the
// checkpoint's directory. A failed save removes its partial files and
// leaves the previous checkpoints as they were.
func (t *Trainer) Save(dir string, keep int) (string, error) {
	parent := filepath.Join(dir, trainDir)
	x, err := checkpoint.Begin(parent, t.Step)
	if err != nil {
		return "", fmt.Errorf("save: %w", err)
	}
	defer x.Abort()
	stamp := map[string]string{"step": strconv.Itoa(t.Step), "format": "pt"}
	params := func(name string, ps []nn.Param) error {
		return x.Create(name, func(w io.Writer) error { return safetensors.Encode(w, nn.Tensors("", ps), stamp) })
	}
	bytes := func(name string, b []byte) error {
		return x.Create(name, func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	cfg, err := nn.ConfigJSON(t.Model, t.info())
	if err != nil {
		return "", err
	}
	st := trainState{Config: t.Cfg, Step: t.Step, RNG: t.RNG.State(), OptSteps: t.Opt.Steps, EMAUpdates: t.EMA.Updates, Data: t.Data, Log: t.Log}
	state, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return "", err
	}
	ema := make([]nn.Param, len(t.Params))
	for i, p := range t.Params {
		ema[i] = nn.Param{Name: p.Name, Var: constVar(t.EMA.Shadow[i])}
	}
	for _, write := range []func() error{
		func() error { return bytes(nn.ConfigFile, cfg) },
		func() error { return params(nn.ModelFile, ema) },
		func() error { return params(rawFile, t.Params) },
		func() error { return params(optimizerFile, t.moments()) },
		func() error { return bytes(stateFile, state) },
		func() error {
			so, ok := t.Obj.(Stateful)
			if !ok {
				return nil
			}
			ps, err := so.State(t.Model)
			if err != nil {
				return err
			}
			return params(objectiveFile, ps)
		},
	} {
		if err := write(); err != nil {
			return "", fmt.Errorf("save: %w", err)
		}
	}
	ck, err := x.Commit()
	if err != nil {
		return "", fmt.Errorf("save: %w", err)
	}
	t.Checkpoint = ck
	if err := publish(dir, ck); err != nil {
		return ck, fmt.Errorf("save: checkpoint %s is complete, but publishing its model in %s failed: %w", ck, dir, err)
	}
	if keep < 1 {
		keep = DefaultKeep
	}
	if err := checkpoint.Prune(parent, keep); err != nil {
		return ck, fmt.Errorf("save: removing old checkpoints: %w", err)
	}
	return ck, nil
}

// publish points dir's config.json and model.safetensors at checkpoint ck's,
// each replaced atomically by a hard link (a copy where links fail).
func publish(dir, ck string) error {
	for _, name := range []string{nn.ModelFile, nn.ConfigFile} {
		src, dst := filepath.Join(ck, name), filepath.Join(dir, name)
		tmp := filepath.Join(dir, "."+name+".tmp-link")
		os.Remove(tmp)
		if err := os.Link(src, tmp); err == nil {
			if err := os.Rename(tmp, dst); err != nil {
				os.Remove(tmp)
				return err
			}
			continue
		}
		err := atomicfile.Write(dst, func(w *bufio.Writer) error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
		if err != nil {
			return err
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	d.Sync()
	return nil
}

// moments lists the AdamW moments as parameters m.NAME and v.NAME.
func (t *Trainer) moments() []nn.Param {
	var ps []nn.Param
	for i, p := range t.Params {
		ps = append(ps, nn.Param{Name: "m." + p.Name, Var: constVar(t.Opt.M[i])}, nn.Param{Name: "v." + p.Name, Var: constVar(t.Opt.V[i])})
	}
	return ps
}

// RunLock holds a run directory for one writer.
type RunLock struct{ l *checkpoint.Lock }

// LockRun takes the run directory dir (created if needed) for this process,
// or fails at once naming the process that holds it, and removes what
// interrupted saves left there. Hold it while training into dir.
func LockRun(dir string) (*RunLock, error) {
	l, err := checkpoint.Acquire(dir)
	if err != nil {
		return nil, err
	}
	if err := checkpoint.Clean(filepath.Join(dir, trainDir)); err != nil {
		l.Release()
		return nil, err
	}
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp") {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	return &RunLock{l}, nil
}

// Release gives the run directory back.
func (r *RunLock) Release() error { return r.l.Release() }

// HasRun reports whether dir holds a training run (a checkpoint, or the
// training state of the layout before checkpoint directories).
func HasRun(dir string) bool {
	if dirs, _ := checkpoint.List(filepath.Join(dir, trainDir)); len(dirs) > 0 {
		return true
	}
	_, err := os.Stat(filepath.Join(dir, trainDir, stateFile))
	return err == nil
}

// Checkpoint is a training checkpoint found by OpenCheckpoint.
type Checkpoint struct {
	Dir     string      // the checkpoint's directory
	Step    int         // optimiser steps it holds
	Config  TrainConfig // the run's configuration
	Data    Corpus      // the corpus it was trained on
	Skipped []error     // why newer checkpoints were passed over (incomplete or corrupt)
	state   trainState
	files   ckFiles
}

// ckFiles are the paths of a checkpoint's files.
type ckFiles struct{ state, ema, raw, optimizer, objective string }

// OpenCheckpoint finds the newest complete checkpoint of the run in dir and
// reads and validates its state. A run of the earlier layout (the training
// state directly under train/) is read too.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	parent := filepath.Join(dir, trainDir)
	ck := &Checkpoint{}
	d, _, skipped, err := checkpoint.Latest(parent)
	switch {
	case err == nil:
		ck.Dir, ck.Skipped = d, skipped
		ck.files = ckFiles{filepath.Join(d, stateFile), filepath.Join(d, nn.ModelFile), filepath.Join(d, rawFile), filepath.Join(d, optimizerFile), filepath.Join(d, objectiveFile)}
	case errors.Is(err, fs.ErrNotExist) && fileExists(filepath.Join(parent, stateFile)):
		ck.Dir = parent
		ck.files = ckFiles{filepath.Join(parent, stateFile), filepath.Join(dir, nn.ModelFile), filepath.Join(parent, rawFile), filepath.Join(parent, optimizerFile), ""}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("resume: %s holds no training checkpoint", dir)
	default:
		return nil, fmt.Errorf("resume: %w", err)
	}
	raw, err := os.ReadFile(ck.files.state)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if ck.state, err = parseState(raw); err != nil {
		return nil, fmt.Errorf("resume: %s: %w", ck.files.state, err)
	}
	ck.Step, ck.Config, ck.Data = ck.state.Step, ck.state.Config, ck.state.Data
	return ck, nil
}

// parseState decodes and validates a state.json: the configuration (sizes
// within the limits and the machine's memory, every number finite and in
// range) and the counters.
func parseState(raw []byte) (trainState, error) {
	var st trainState
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, err
	}
	if err := st.Config.Validate(); err != nil {
		return st, fmt.Errorf("config: %w", err)
	}
	if err := st.Config.CheckMemory(); err != nil {
		return st, fmt.Errorf("config: %w", err)
	}
	switch {
	case st.Step < 0 || st.Step > st.Config.Steps:
		return st, fmt.Errorf("step %d outside [0, %d]", st.Step, st.Config.Steps)
	case st.OptSteps < 0 || st.EMAUpdates < 0:
		return st, fmt.Errorf("negative optimizer_steps %d or ema_updates %d", st.OptSteps, st.EMAUpdates)
	case len(st.Log) != st.Step:
		return st, fmt.Errorf("%d log records for step %d", len(st.Log), st.Step)
	}
	return st, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ResumeOptions are what may change when a run is resumed.
type ResumeOptions struct {
	// Config replaces the saved configuration when non-nil. Only Steps
	// (to extend or shorten the run, not below the checkpoint's step), LR,
	// CurriculumSteps, EvalEvery and EvalBatches may differ from it.
	Config *TrainConfig
	// Force accepts a corpus whose fingerprint differs from the run's.
	Force bool
}

// Resume rebuilds the trainer of the checkpoint on the given token streams
// so that training continues exactly where it stopped (same batches, noise
// and losses), with the configuration changes opt allows.
func (c *Checkpoint) Resume(train, val []int32, opt ResumeOptions) (*Trainer, error) {
	st := c.state
	cfg := st.Config
	if opt.Config != nil {
		want := *opt.Config
		fixed := want
		fixed.Steps, fixed.LR, fixed.CurriculumSteps, fixed.EvalEvery, fixed.EvalBatches = cfg.Steps, cfg.LR, cfg.CurriculumSteps, cfg.EvalEvery, cfg.EvalBatches
		if fixed != cfg {
			return nil, errors.New("resume: only steps, lr, curriculum_steps, eval_every and eval_batches may change on resume")
		}
		if want.Steps < st.Step {
			return nil, fmt.Errorf("resume: steps %d is below the checkpoint's step %d", want.Steps, st.Step)
		}
		cfg = want
	}
	t, err := NewTrainer(cfg, train, val) // fingerprints the corpus (t.Data)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	got := t.Data
	if st.Data.CRC32C != 0 && !opt.Force && (got.TrainTokens != st.Data.TrainTokens || got.ValTokens != st.Data.ValTokens || got.CRC32C != st.Data.CRC32C) {
		return nil, fmt.Errorf("resume: the corpus (%v) is not the one the run was trained on (%v): a different --data or tokenizer; --force trains on it anyway", got, st.Data)
	}
	t.Data.Source = st.Data.Source
	if err := t.RNG.SetState(st.RNG); err != nil {
		return nil, fmt.Errorf("resume: %s: rng state: %w", c.files.state, err)
	}
	t.Step, t.Opt.Steps, t.EMA.Updates, t.Log = st.Step, st.OptSteps, st.EMAUpdates, st.Log
	// The EMA weights are the model file; load them through the params, then
	// keep them as the shadow and load the raw weights over the params.
	if err := loadStamped(c.files.ema, t.Params, st.Step); err != nil {
		return nil, err
	}
	for i, p := range t.Params {
		t.EMA.Shadow[i].CopyFrom(p.Value)
	}
	if err := loadStamped(c.files.optimizer, t.moments(), st.Step); err != nil {
		return nil, err
	}
	if err := loadStamped(c.files.raw, t.Params, st.Step); err != nil {
		return nil, err
	}
	if so, ok := t.Obj.(Stateful); ok {
		ps, err := so.State(t.Model)
		if err != nil {
			return nil, err
		}
		if err := loadStamped(c.files.objective, ps, st.Step); err != nil {
			return nil, err
		}
		so.Restored(st.Step)
	}
	t.Checkpoint = c.Dir
	return t, nil
}

// Resume reopens the newest complete checkpoint of the run in dir with its
// saved configuration (see OpenCheckpoint and Checkpoint.Resume).
func Resume(dir string, train, val []int32) (*Trainer, error) {
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	return ck.Resume(train, val, ResumeOptions{})
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
// weights; a run directory or one of its checkpoints) or the authors'
// Hugging Face layout, and what config.json says about it. model_type must
// be "duo" (or "udlm", the same uniform-state model without the
// curriculum) when present. The tokenizer is the one config.json names
// ("bytes" or "bpe"); a config without the field (the Hugging Face one)
// gets "bpe" when the directory holds GPT-2 tokenizer files, else ""
// (unknown: the caller must supply one).
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
		return nil, info, fmt.Errorf("%s: model_type %q: only the authors' Duo layout (model_type duo or udlm) is read from Hugging Face directories", path, info.ModelType)
	}
	if info.Objective == "" {
		info.Objective = ObjectiveDuo
	}
	obj, err := info.EvalObjective()
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w", path, err)
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
	} else if obj.Causal() {
		return nil, info, fmt.Errorf("%s: objective %s needs causal true", path, obj.Name())
	}
	return m, info, nil
}

// constVar wraps optimiser state for the parameter-file writer and loader.
func constVar(t *tensor.Tensor) *autograd.Var { return autograd.Const(t) }
