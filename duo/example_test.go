package duo_test

import (
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// A Go program trains Duo on its own text, saves the model, loads it back
// and samples from it. Bytes are tokens (vocabulary 256); the curriculum
// runs for the first half of the steps, then the discrete USDM loss (Eq. 17).
func Example() {
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 200)
	ids := make([]int32, len(text))
	for i := range len(text) {
		ids[i] = int32(text[i])
	}
	model := nn.Config{Vocab: 256, Length: 32, Hidden: 32, Cond: 16, Blocks: 1, Heads: 2, MLPRatio: 4}
	cfg := duo.DefaultTrainConfig(model, 20) // 20 steps, curriculum for 10
	cfg.Batch, cfg.Warmup, cfg.LR = 4, 5, 1e-3

	t, err := duo.NewTrainer(cfg, ids[:8000], ids[8000:])
	if err != nil {
		log.Fatal(err)
	}
	for t.Step < cfg.Steps {
		if _, err := t.TrainStep(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("steps:", t.Step, "curriculum steps:", countCurriculum(t.Log))

	dir, err := os.MkdirTemp("", "duo-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if _, err := t.Save(dir, duo.DefaultKeep); err != nil { // config.json + model.safetensors (EMA weights) + train/step-00000020
		log.Fatal(err)
	}
	m, info, err := duo.LoadModel(dir)
	if err != nil {
		log.Fatal(err)
	}
	out, err := duo.Sample(m, duo.SampleConfig{Steps: 8, Sampler: duo.SamplerGreedy, Batch: 2, Length: 32, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("objective:", info.Objective, "samples:", len(out), "of", len(out[0]), "tokens")
	// Output:
	// steps: 20 curriculum steps: 10
	// objective: duo samples: 2 of 32 tokens
}

func countCurriculum(recs []duo.Record) int {
	n := 0
	for _, r := range recs {
		if r.Curriculum {
			n++
		}
	}
	return n
}

// The Psi-sampler of the authors' OpenWebText "ReMDM loop": ancestral steps
// down to alpha = 0.9, then half of the steps as corrector steps on a
// plateau there (constant-remdm eta 0.01), then ancestral steps to the end.
func ExamplePsi() {
	m, err := nn.NewDiT(nn.Config{Vocab: 64, Length: 16, Hidden: 16, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}, tensor.NewRNG(1))
	if err != nil {
		log.Fatal(err)
	}
	loop := &duo.Psi{
		Profile:  "linear-constant-linear-0.9-inv",
		HighFrac: 0.45, MiddleFrac: 0.5,
		High:   duo.KappaMode{Name: duo.KappaPosterior},
		Middle: duo.KappaMode{Name: duo.KappaConstantReMDM, Eta: 0.01},
		Low:    duo.KappaMode{Name: duo.KappaPosterior},
	}
	grid, _ := loop.Grid(16, duo.LogLinear{})
	kappas := loop.Kappas(grid, duo.LogLinear{})
	fmt.Printf("t = %.3f at step 8, kappa %.4f\n", grid[8], kappas[8])
	out, err := duo.Sample(m, duo.SampleConfig{Steps: 16, Sampler: duo.SamplerAncestral, Batch: 1, Length: 16, Seed: 1, Psi: loop})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(out[0]), "tokens")
	// Output:
	// t = 0.100 at step 8, kappa 0.9000
	// 16 tokens
}
