package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Shared data (outside the repository) and golden files (made by
// tools/golden/bpe_golden.py).
const (
	gpt2Dir         = "../../shared/data/gpt2"
	shakespearePath = "../../shared/data/tinyshakespeare.txt"
	goldenDir       = "../testdata"
)

// loadGPT2 returns the GPT-2 tokenizer embedded in the binary (the same
// files as shared/data/gpt2).
func loadGPT2(tb testing.TB) *BPE {
	tb.Helper()
	t, err := GPT2()
	if err != nil {
		tb.Fatalf("GPT2(): %v", err)
	}
	return t
}

func readGolden(tb testing.TB, name string, v any) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		tb.Fatalf("reading golden file (regenerate with /usr/bin/python3 tools/golden/bpe_golden.py): %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
}

type goldenCase struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
}

func goldenCases(tb testing.TB) []goldenCase {
	var cases []goldenCase
	readGolden(tb, "bpe_golden.json", &cases)
	if len(cases) == 0 {
		tb.Fatal("bpe_golden.json is empty")
	}
	return cases
}

func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func assertContains(tb testing.TB, s, sub string) {
	tb.Helper()
	if !strings.Contains(s, sub) {
		tb.Errorf("%q does not contain %q", s, sub)
	}
}

func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
