package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/nn"
)

func init() {
	commands["genppl"] = command{"generative perplexity and entropy of samples under an AR judge", runGenPPL}
}

// sampleFile is what duo sample --json writes.
type sampleFile struct {
	Steps   int               `json:"steps"`
	Sampler string            `json:"sampler"`
	Samples []sampleRecord    `json:"samples"`
	GenPPL  *duo.GenPPLResult `json:"gen_ppl,omitempty"`
}

// sampleRecord is one sample of a sampleFile.
type sampleRecord struct {
	Text    string  `json:"text"`
	IDs     []int32 `json:"ids"`
	Tokens  int     `json:"tokens"`
	Entropy float64 `json:"entropy"`
}

// loadJudge opens an AR checkpoint to judge samples with.
func loadJudge(dir string) (*nn.DiT, error) {
	m, info, err := duo.LoadModel(dir)
	if err != nil {
		return nil, fmt.Errorf("--judge: %w", err)
	}
	if !m.Causal {
		return nil, fmt.Errorf("--judge %s: objective %s; the judge must be an AR model (duo train --objective ar)", dir, info.Objective)
	}
	return m, nil
}

func runGenPPL(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("genppl", "genppl --judge DIR --samples FILE [--json]", stderr)
	judgeDir := fs.String("judge", "", "an AR checkpoint (duo train --objective ar) on the same tokenizer")
	path := fs.String("samples", "", "samples as duo sample --json writes them")
	asJSON := fs.Bool("json", false, "print one JSON object")
	exec := addExecFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *judgeDir == "" || *path == "" {
		return errors.New("--judge and --samples are required")
	}
	release, err := exec.start(stderr)
	if err != nil {
		return err
	}
	defer release()
	raw, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	var f sampleFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("%s: %w (want the JSON of duo sample --json)", *path, err)
	}
	if len(f.Samples) == 0 {
		return fmt.Errorf("%s: no samples", *path)
	}
	judge, err := loadJudge(*judgeDir)
	if err != nil {
		return err
	}
	ids := make([][]int32, len(f.Samples))
	for i, s := range f.Samples {
		ids[i] = s.IDs
	}
	res, err := duo.GenPPLShared(judge, ids, group())
	if err != nil {
		return fmt.Errorf("%s: %w", *path, err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printGenPPL(stdout, res, *judgeDir)
	return nil
}

// printGenPPL prints a GenPPLResult as one line.
func printGenPPL(w io.Writer, r duo.GenPPLResult, judge string) {
	fmt.Fprintf(w, "Gen PPL %.3f (judge %s: %.4f ± %.4f nats over %d tokens of %d samples), entropy %.3f nats\n",
		r.GenPPL, judge, r.NLL, r.StdErr, r.Tokens, r.Samples, r.Entropy)
}
