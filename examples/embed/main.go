// Command embed is a Go program that embeds a Duo model: it opens a model
// directory (this project's, a converted .ckpt, or the authors' Hugging Face
// layout, whose GPT-2 tokenizer comes embedded), and prints a sample that
// continues a prompt, showing each denoising step on stderr. Ctrl-C stops it
// between steps.
//
//	go run . -model DIR -prompt "The" -steps 32
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/duo-go/duo/duo"
)

func main() {
	dir := flag.String("model", "", "model directory")
	prompt := flag.String("prompt", "The", "text the sample starts with")
	steps := flag.Int("steps", 32, "denoising steps")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	m, err := duo.Open(*dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	gens, err := m.Generate(ctx, duo.GenerateOptions{Prompt: *prompt, Steps: *steps, Seed: 1,
		OnStep: func(s duo.Step) {
			fmt.Fprintf(os.Stderr, "step %d/%d (t=%.3f): %q\n", s.Step, s.Steps, s.T, s.Texts[0])
		}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(gens[0].Text)
}
