package duo_test

import (
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/nn"
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
