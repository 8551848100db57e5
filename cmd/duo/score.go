package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tokenizer"
)

func init() {
	commands["score"] = command{"log-likelihood of continuations given a context, and multiple-choice accuracy", runScore}
}

// mcTask is one line of a multiple-choice JSONL file (the lm-eval
// convention): a context, its choices, and the index of the right one.
type mcTask struct {
	Context string   `json:"context"`
	Choices []string `json:"choices"`
	Answer  int      `json:"answer"`
}

// choiceScore is the score of one choice.
type choiceScore struct {
	Choice string `json:"choice"`
	duo.ScoreResult
}

func runScore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("score", "score --checkpoint DIR (--context TEXT --choices A,B,C | --tasks FILE.jsonl) [--mc 64] [--json]", stderr)
	dir := fs.String("checkpoint", "", "checkpoint directory")
	tok := fs.String("tokenizer", "", "tokenizer (default: the checkpoint's)")
	context := fs.String("context", "", "the context the choices continue")
	choices := fs.String("choices", "", "comma-separated continuations to score (for commas inside one, use --tasks)")
	tasks := fs.String("tasks", "", `a JSONL file of {"context": ..., "choices": [...], "answer": i}: multiple-choice accuracy`)
	limit := fs.Int("limit", 0, "with --tasks: score only the first N (0: all)")
	mc := fs.Int("mc", duo.DefaultScoreMC, "Monte Carlo draws of t per score (diffusion models; AR scores are exact)")
	seed := fs.Uint64("seed", 1, "random seed of the Monte Carlo draws")
	asJSON := fs.Bool("json", false, "print one JSON object")
	exec := addExecFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkFlags(fs, check{"mc", *mc >= 2, "at least 2"}, check{"limit", *limit >= 0, ">= 0 (0: all)"}); err != nil {
		return err
	}
	if (*tasks == "") == (*choices == "") {
		return errors.New("give --context and --choices, or --tasks")
	}
	var list []mcTask
	if *tasks != "" {
		var err error
		if list, err = readTasks(*tasks); err != nil {
			return err
		}
		if *limit > 0 && *limit < len(list) {
			list = list[:*limit]
		}
	} else {
		list = []mcTask{{Context: *context, Choices: strings.Split(*choices, ","), Answer: -1}}
	}
	release, err := exec.start(stderr)
	if err != nil {
		return err
	}
	defer release()
	m, info, t, err := loadCheckpoint(*dir, *tok)
	if err != nil {
		return err
	}
	obj, err := info.EvalObjective()
	if err != nil {
		return err
	}
	opt := duo.ScoreOptions{Objective: obj, MC: *mc, Seed: *seed}
	if *tasks == "" {
		scores, err := scoreChoices(m, t, list[0], opt)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"context": *context, "scores": scores})
		}
		best := 0
		for i, s := range scores {
			how := fmt.Sprintf("± %.3f (ELBO, %d Monte Carlo draws)", s.StdErr, *mc)
			if s.Exact {
				how = "(exact)"
			}
			fmt.Fprintf(stdout, "choice %d %q: log p = %.3f nats %s, %d tokens, %.3f per token\n", i+1, s.Choice, s.LogLik, how, s.Tokens, s.LogLik/float64(s.Tokens))
			if s.LogLik > scores[best].LogLik {
				best = i
			}
		}
		fmt.Fprintf(stdout, "most likely: choice %d %q\n", best+1, scores[best].Choice)
		return nil
	}
	var right, rightNorm int
	for i, task := range list {
		scores, err := scoreChoices(m, t, task, opt)
		if err != nil {
			return fmt.Errorf("%s: task %d: %w", *tasks, i+1, err)
		}
		best, bestNorm := 0, 0
		for j, s := range scores {
			if s.LogLik > scores[best].LogLik {
				best = j
			}
			if s.LogLik/float64(len(s.Choice)) > scores[bestNorm].LogLik/float64(len(scores[bestNorm].Choice)) {
				bestNorm = j
			}
		}
		if best == task.Answer {
			right++
		}
		if bestNorm == task.Answer {
			rightNorm++
		}
	}
	n := float64(len(list))
	acc, accNorm := float64(right)/n, float64(rightNorm)/n
	res := map[string]any{"tasks": len(list), "acc": acc, "acc_stderr": math.Sqrt(acc * (1 - acc) / n), "acc_norm": accNorm,
		"acc_norm_stderr": math.Sqrt(accNorm * (1 - accNorm) / n), "objective": info.Objective, "mc": *mc}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s: %d tasks, accuracy %.3f ± %.3f (%d right), length-normalised %.3f ± %.3f (%s model",
		*tasks, len(list), acc, res["acc_stderr"], right, accNorm, res["acc_norm_stderr"], info.Objective)
	if obj.Exact() {
		fmt.Fprintln(stdout, ", exact log-likelihoods)")
	} else {
		fmt.Fprintf(stdout, ", ELBO with %d Monte Carlo draws)\n", *mc)
	}
	return nil
}

// scoreChoices scores every choice of a task as a continuation of its
// context.
func scoreChoices(m *nn.DiT, t tokenizer.Tokenizer, task mcTask, opt duo.ScoreOptions) ([]choiceScore, error) {
	ctx := t.Encode(task.Context)
	out := make([]choiceScore, len(task.Choices))
	for i, c := range task.Choices {
		r, err := duo.Score(m, ctx, t.Encode(c), opt)
		if err != nil {
			return nil, fmt.Errorf("choice %d %q: %w", i+1, c, err)
		}
		out[i] = choiceScore{c, r}
	}
	return out, nil
}

// readTasks reads a multiple-choice JSONL file, checking every line.
func readTasks(path string) ([]mcTask, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var list []mcTask
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var task mcTask
		if err := json.Unmarshal([]byte(text), &task); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		switch {
		case len(task.Choices) < 2:
			return nil, fmt.Errorf("%s:%d: %d choices; want at least 2", path, line, len(task.Choices))
		case task.Answer < 0 || task.Answer >= len(task.Choices):
			return nil, fmt.Errorf("%s:%d: answer %d outside the %d choices", path, line, task.Answer, len(task.Choices))
		}
		for j, c := range task.Choices {
			if c == "" {
				return nil, fmt.Errorf("%s:%d: choice %d is empty", path, line, j)
			}
		}
		list = append(list, task)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: no tasks", path)
	}
	return list, nil
}
