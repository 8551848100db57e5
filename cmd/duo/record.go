package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/atomicfile"
)

// recordFile is the run record of a run directory: everything duo report
// needs to rebuild a table or a plot, in one JSON file.
const recordFile = "run.json"

// runRecord is the content of run.json.
type runRecord struct {
	Commands    [][]string      `json:"commands"` // every command line that wrote the run, first to last
	Objective   string          `json:"objective"`
	Config      duo.TrainConfig `json:"config"`
	Data        duo.Corpus      `json:"data"`
	Params      int             `json:"params"`
	Step        int             `json:"step"`
	WallSeconds float64         `json:"wall_seconds"` // training time, summed over resumes
	TokensPerS  float64         `json:"tokens_per_s"` // mean over the logged steps
	Started     time.Time       `json:"started"`
	Finished    time.Time       `json:"finished"`
	Log         []duo.Record    `json:"log"`                  // loss, gradient norm, lr and validation per step
	Validation  *duo.EvalResult `json:"validation,omitempty"` // of the final model, by duo eval --record
	Samples     []sampleMetrics `json:"samples,omitempty"`    // by duo sample --record
}

// sampleMetrics is one sampling run's measurements.
type sampleMetrics struct {
	Steps       int     `json:"steps"`
	Sampler     string  `json:"sampler"`
	Psi         string  `json:"psi,omitempty"` // the Psi-sampler (duo.Psi.String); empty: ancestral steps
	TopP        float64 `json:"top_p"`
	N           int     `json:"n"`
	Length      int     `json:"length"`
	Seed        uint64  `json:"seed"`
	Judge       string  `json:"judge,omitempty"`
	GenPPL      float64 `json:"gen_ppl,omitempty"`
	NLLStdErr   float64 `json:"nll_stderr,omitempty"` // standard error of the judge's NLL per token, over the samples
	Entropy     float64 `json:"entropy"`
	WallSeconds float64 `json:"wall_seconds"`
	TokensPerS  float64 `json:"tokens_per_s"`
}

// readRecord reads dir's run.json; a directory without one has an empty
// record (ok false).
func readRecord(dir string) (rec runRecord, ok bool, err error) {
	path := filepath.Join(dir, recordFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, false, fmt.Errorf("%s: %w", path, err)
	}
	return rec, true, nil
}

// writeRecord replaces dir's run.json atomically.
func writeRecord(dir string, rec runRecord) error {
	raw, err := json.MarshalIndent(rec, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, recordFile), append(raw, '\n'))
}

// recordTraining updates dir's run record after a training (or
// distillation) command: its command line, the trainer's configuration and
// log, and the wall time it trained.
func recordTraining(dir string, args []string, t *duo.Trainer, wall time.Duration, start time.Time) error {
	rec, _, err := readRecord(dir)
	if err != nil {
		return err
	}
	if rec.Started.IsZero() {
		rec.Started = start
	}
	rec.Commands = append(rec.Commands, append([]string{"duo"}, args...))
	rec.Objective, rec.Config, rec.Data = t.Obj.Name(), t.Cfg, t.Data
	rec.Params, rec.Step, rec.Log = t.Model.NumParams(), t.Step, t.Log
	rec.WallSeconds += wall.Seconds()
	rec.Finished = time.Now()
	rec.TokensPerS = 0
	for _, r := range t.Log {
		rec.TokensPerS += r.TokensPerS / float64(len(t.Log))
	}
	return writeRecord(dir, rec)
}

// appendRecord changes the run record of the run directory dir, which
// must have one (duo train and duo distill write it).
func appendRecord(dir string, change func(*runRecord)) error {
	rec, ok, err := readRecord(dir)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("--record: %s has no %s (a run directory of duo train or duo distill)", dir, recordFile)
	}
	change(&rec)
	return writeRecord(dir, rec)
}

// addSample adds m to a run's sample metrics, replacing the record of an
// identical sampling run (same steps, sampler, top-p, size, seed and judge).
func addSample(ms []sampleMetrics, m sampleMetrics) []sampleMetrics {
	for i, o := range ms {
		if o.Steps == m.Steps && o.Sampler == m.Sampler && o.Psi == m.Psi && o.TopP == m.TopP && o.N == m.N && o.Length == m.Length && o.Seed == m.Seed && o.Judge == m.Judge {
			ms[i] = m
			return ms
		}
	}
	return append(ms, m)
}
