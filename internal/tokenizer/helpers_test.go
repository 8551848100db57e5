package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Shared data (outside the repository) and golden files (made by
// tools/golden/bpe_golden.py).
const (
	gpt2Dir         = "../../../shared/data/gpt2"
	shakespearePath = "../../../shared/data/tinyshakespeare.txt"
	goldenDir       = "../../testdata"
)

var gpt2 struct {
	once sync.Once
	tok  *BPE
	err  error
}

// loadGPT2 returns the shared GPT-2 tokenizer, skipping the test if the
// files are absent.
func loadGPT2(tb testing.TB) *BPE {
	tb.Helper()
	for _, f := range []string{OpenAIEncoderFile, OpenAIMergesFile} {
		if _, err := os.Stat(filepath.Join(gpt2Dir, f)); err != nil {
			tb.Skipf("GPT-2 tokenizer files not available (%v); put encoder.json and vocab.bpe in %s", err, gpt2Dir)
		}
	}
	gpt2.once.Do(func() { gpt2.tok, gpt2.err = LoadBPE(gpt2Dir) })
	if gpt2.err != nil {
		tb.Fatalf("LoadBPE(%s): %v", gpt2Dir, gpt2.err)
	}
	return gpt2.tok
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
