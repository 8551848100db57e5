package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gpt2Source is the real GPT-2 vocabulary and merges, read with the test's
// own simple parser (independent of the loader under test).
type gpt2Source struct {
	vocab  map[string]int
	merges [][2]string
}

func readGPT2Source(t *testing.T) gpt2Source {
	t.Helper()
	loadGPT2(t) // skips if absent
	data, err := os.ReadFile(filepath.Join(gpt2Dir, OpenAIEncoderFile))
	if err != nil {
		t.Fatal(err)
	}
	var src gpt2Source
	if err := json.Unmarshal(data, &src.vocab); err != nil {
		t.Fatal(err)
	}
	mdata, err := os.ReadFile(filepath.Join(gpt2Dir, OpenAIMergesFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(mdata), "\n")
	for _, line := range lines[1 : len(lines)-1] { // as encoder.py does
		f := strings.Fields(line)
		src.merges = append(src.merges, [2]string{f[0], f[1]})
	}
	return src
}

// truncated keeps the byte symbols, the first n merges (and their results)
// and <|endoftext|>, with the original ids, leaving gaps in the id space.
func (s gpt2Source) truncated(n int) gpt2Source {
	out := gpt2Source{vocab: map[string]int{EndOfText: s.vocab[EndOfText]}, merges: s.merges[:n]}
	for b := range 256 {
		c := string(byteEncoder[b])
		out.vocab[c] = s.vocab[c]
	}
	for _, m := range out.merges {
		for _, x := range []string{m[0], m[1], m[0] + m[1]} {
			out.vocab[x] = s.vocab[x]
		}
	}
	return out
}

func (s gpt2Source) mergesText() string {
	var sb strings.Builder
	sb.WriteString("#version: 0.2\n")
	for _, m := range s.merges {
		sb.WriteString(m[0] + " " + m[1] + "\n")
	}
	return sb.String()
}

func (s gpt2Source) vocabJSON(t *testing.T) string {
	data, err := json.Marshal(s.vocab)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// tokenizerJSON renders a Hugging Face tokenizer.json; pairs selects the
// ["a","b"] merge format instead of "a b".
func (s gpt2Source) tokenizerJSON(t *testing.T, pairs bool) string {
	var merges []any
	for _, m := range s.merges {
		if pairs {
			merges = append(merges, []string{m[0], m[1]})
		} else {
			merges = append(merges, m[0]+" "+m[1])
		}
	}
	vocab := make(map[string]int, len(s.vocab))
	for k, v := range s.vocab {
		if k != EndOfText { // only in added_tokens, which must supply it
			vocab[k] = v
		}
	}
	doc := map[string]any{
		"version": "1.0",
		"added_tokens": []any{map[string]any{
			"id": s.vocab[EndOfText], "content": EndOfText, "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": true, "special": true,
		}},
		"normalizer":    nil,
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
		"decoder":       map[string]any{"type": "ByteLevel"},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "fuse_unk": false,
			"vocab": vocab, "merges": merges,
		},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// layouts writes s in the named layouts ("openai", "hf-slow",
// "tokenizer.json/str", "tokenizer.json/pairs", "Load(tokenizer.json)") and
// loads each one.
func (s gpt2Source) layouts(t *testing.T, names ...string) map[string]*BPE {
	t.Helper()
	out := map[string]*BPE{}
	for _, name := range names {
		var files map[string]string
		switch name {
		case "openai":
			files = map[string]string{OpenAIEncoderFile: s.vocabJSON(t), OpenAIMergesFile: s.mergesText()}
		case "hf-slow":
			files = map[string]string{HFVocabFile: s.vocabJSON(t), HFMergesFile: s.mergesText()}
		case "tokenizer.json/str":
			files = map[string]string{HFTokenizerFile: s.tokenizerJSON(t, false)}
		case "tokenizer.json/pairs":
			files = map[string]string{HFTokenizerFile: s.tokenizerJSON(t, true)}
		case "Load(tokenizer.json)":
			p := writeFile(t, t.TempDir(), HFTokenizerFile, s.tokenizerJSON(t, true))
			tok, err := Load(p)
			if err != nil {
				t.Fatalf("Load(%s): %v", p, err)
			}
			out[name] = tok.(*BPE)
			continue
		default:
			t.Fatalf("unknown layout %q", name)
		}
		dir := t.TempDir()
		for f, content := range files {
			writeFile(t, dir, f, content)
		}
		tok, err := LoadBPE(dir)
		if err != nil {
			t.Fatalf("%s layout: %v", name, err)
		}
		out[name] = tok
	}
	return out
}

var allLayouts = []string{"openai", "hf-slow", "tokenizer.json/str", "tokenizer.json/pairs", "Load(tokenizer.json)"}

func TestLayoutsFullGPT2(t *testing.T) {
	src := readGPT2Source(t)
	ref := loadGPT2(t)
	cases := goldenCases(t)
	// The full vocabulary in the two Hugging Face layouts (the OpenAI one is
	// ref itself; TestLayoutsTruncated covers every layout).
	for name, tok := range src.layouts(t, "hf-slow", "tokenizer.json/pairs") {
		if tok.VocabSize() != ref.VocabSize() || tok.EOT() != ref.EOT() {
			t.Errorf("%s: VocabSize %d EOT %d, want %d %d", name, tok.VocabSize(), tok.EOT(), ref.VocabSize(), ref.EOT())
		}
		for i, tc := range cases {
			checkIDs(t, tok, fmt.Sprintf("%s case %d", name, i), tc.Text, tok.Encode(tc.Text), tc.IDs)
		}
	}
}

func TestLayoutsTruncated(t *testing.T) {
	src := readGPT2Source(t).truncated(2000)
	cases := goldenCases(t)
	toks := src.layouts(t, allLayouts...)
	ref := toks["openai"]
	if ref.VocabSize() != 50257 || ref.EOT() != 50256 {
		t.Errorf("truncated: VocabSize %d EOT %d, want 50257 50256", ref.VocabSize(), ref.EOT())
	}
	differs := 0
	for i, tc := range cases {
		want := ref.Encode(tc.Text)
		if back := ref.Decode(want); back != tc.Text {
			t.Errorf("truncated: case %d does not round-trip", i)
		}
		if !slices.Equal(want, tc.IDs) {
			differs++
		}
		for name, tok := range toks {
			checkIDs(t, tok, fmt.Sprintf("%s case %d", name, i), tc.Text, tok.Encode(tc.Text), want)
		}
	}
	if differs == 0 {
		t.Error("truncated vocabulary encodes every case like full GPT-2; test is vacuous")
	}
}

// validVocab returns a minimal byte-level vocabulary: the 256 byte symbols
// (id = byte value) plus extra tokens numbered from 256.
func validVocab(extra ...string) map[string]int {
	v := map[string]int{}
	for b := range 256 {
		v[string(byteEncoder[b])] = b
	}
	for i, e := range extra {
		v[e] = 256 + i
	}
	return v
}

func mustJSON(t *testing.T, v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSmallSyntheticTokenizer(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, HFVocabFile, mustJSON(t, validVocab("ab", "abc", "Ġab", EndOfText)))
	writeFile(t, dir, HFMergesFile, "#version: 0.2\na b\nab c\nĠ ab\n\n")
	tok, err := LoadBPE(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		ids  []int32
	}{
		{"abc", []int32{257}},
		{"ab abc", []int32{256, ' ', 257}}, // "a b" then "ab c" consume the pair "Ġ ab" needs
		{" abd", []int32{258, 'd'}},
		{"ababab", []int32{256, 256, 256}},
		{"abc<|endoftext|>abc", []int32{257, 259, 257}},
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.text); !slices.Equal(got, tc.ids) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.ids)
		}
	}
	if tok.VocabSize() != 260 || tok.EOT() != 259 {
		t.Errorf("VocabSize %d EOT %d, want 260 259", tok.VocabSize(), tok.EOT())
	}
}

func TestAddedTokens(t *testing.T) {
	vocab := validVocab()
	doc := map[string]any{
		"added_tokens": []any{
			map[string]any{"id": 300, "content": "<|x|>", "special": true},
			map[string]any{"id": 301, "content": "<|x|>y", "special": true},
			map[string]any{"id": 302, "content": EndOfText, "special": true},
		},
		"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": []string{}},
	}
	p := writeFile(t, t.TempDir(), "custom.json", mustJSON(t, doc))
	tk, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	tok := tk.(*BPE)
	got := tok.Encode("a<|x|>yb<|x|><|endoftext|>")
	want := []int32{'a', 301, 'b', 300, 302}
	if !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	if tok.VocabSize() != 303 || tok.EOT() != 302 {
		t.Errorf("VocabSize %d EOT %d, want 303 302", tok.VocabSize(), tok.EOT())
	}
	if s := tok.Decode([]int32{299, 301}); s != "\uFFFD<|x|>y" {
		t.Errorf("Decode = %q", s)
	}
}

func TestLoadErrors(t *testing.T) {
	vocab := mustJSON(t, validVocab("ab"))
	hf := func(model any, added ...any) string {
		return mustJSON(t, map[string]any{"model": model, "added_tokens": added})
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"empty dir", nil, []string{"no BPE files", "encoder.json+vocab.bpe", "tokenizer.json"}},
		{"encoder without merges", map[string]string{OpenAIEncoderFile: vocab},
			[]string{"found encoder.json without vocab.bpe"}},
		{"merges without vocab", map[string]string{HFMergesFile: ""},
			[]string{"found merges.txt without vocab.json"}},
		{"0-byte merges", map[string]string{OpenAIEncoderFile: vocab, OpenAIMergesFile: ""},
			[]string{"vocab.bpe is empty"}},
		{"malformed JSON", map[string]string{OpenAIEncoderFile: "{\n\"a\": 1,\n", OpenAIMergesFile: "#version: 0.2\n"},
			[]string{"encoder.json:3:1: malformed JSON"}},
		{"JSON of wrong type", map[string]string{OpenAIEncoderFile: `{"a": "one"}`, OpenAIMergesFile: "#version: 0.2\n"},
			[]string{"encoder.json:1:", "malformed JSON", "string"}},
		{"JSON null", map[string]string{OpenAIEncoderFile: `null`, OpenAIMergesFile: "#version: 0.2\n"},
			[]string{"encoder.json", "null"}},
		{"empty vocabulary", map[string]string{OpenAIEncoderFile: `{}`, OpenAIMergesFile: "#version: 0.2\n"},
			[]string{"encoder.json", "vocabulary is empty"}},
		{"negative id", map[string]string{OpenAIEncoderFile: `{"a": -1}`, OpenAIMergesFile: "#version: 0.2\n"},
			[]string{"encoder.json", `"a" has id -1`}},
		{"huge id", map[string]string{OpenAIEncoderFile: `{"a": 4000000000}`, OpenAIMergesFile: "#version: 0.2\n"},
			[]string{"encoder.json", "outside"}},
		{"shared id", map[string]string{OpenAIEncoderFile: `{"a": 1, "b": 1}`, OpenAIMergesFile: "#version: 0.2\n"},
			[]string{"encoder.json", `"a" and "b" share id 1`}},
		{"missing byte symbol", map[string]string{OpenAIEncoderFile: `{"a": 0}`, OpenAIMergesFile: "#version: 0.2\n"},
			[]string{"encoder.json", "no token", "byte 0x00"}},
		{"merge with three fields", map[string]string{OpenAIEncoderFile: vocab, OpenAIMergesFile: "#version: 0.2\na b\na b c\n"},
			[]string{"vocab.bpe:3", "3 fields, want 2"}},
		{"merge with one field", map[string]string{HFVocabFile: vocab, HFMergesFile: "ab\n"},
			[]string{"merges.txt:1", "1 fields, want 2"}},
		{"merge with unknown symbol", map[string]string{OpenAIEncoderFile: vocab, OpenAIMergesFile: "#version: 0.2\na b\nab zz\n"},
			[]string{"vocab.bpe:3", `unknown symbol "zz"`, "encoder.json"}},
		{"merge result not in vocabulary", map[string]string{OpenAIEncoderFile: vocab, OpenAIMergesFile: "a b\nb a\n"},
			[]string{"vocab.bpe:2", `produces "ba"`}},
		{"merges not UTF-8", map[string]string{OpenAIEncoderFile: vocab, OpenAIMergesFile: "a \xff\n"},
			[]string{"vocab.bpe", "not valid UTF-8"}},
		{"tokenizer.json malformed", map[string]string{HFTokenizerFile: `{"model": [}`},
			[]string{"tokenizer.json:1:", "malformed JSON"}},
		{"tokenizer.json without model", map[string]string{HFTokenizerFile: `{"version": "1.0"}`},
			[]string{"tokenizer.json", `no "model"`}},
		{"tokenizer.json wordpiece", map[string]string{HFTokenizerFile: hf(map[string]any{"type": "WordPiece", "vocab": map[string]int{"a": 0}})},
			[]string{"tokenizer.json", `"WordPiece"`}},
		{"tokenizer.json without vocab", map[string]string{HFTokenizerFile: hf(map[string]any{"type": "BPE"})},
			[]string{"tokenizer.json", "model.vocab is missing"}},
		{"tokenizer.json numeric merge", map[string]string{HFTokenizerFile: hf(map[string]any{"vocab": validVocab(), "merges": []any{"a b", 7}})},
			[]string{"tokenizer.json: model.merges[1]", "merge is 7"}},
		{"tokenizer.json triple merge", map[string]string{HFTokenizerFile: hf(map[string]any{"vocab": validVocab(), "merges": []any{[]string{"a", "b", "c"}}})},
			[]string{"model.merges[0]", "3 elements"}},
		{"tokenizer.json bad merge string", map[string]string{HFTokenizerFile: hf(map[string]any{"vocab": validVocab(), "merges": []any{"abc"}})},
			[]string{"model.merges[0]", "1 fields"}},
		{"tokenizer.json unknown merge symbol", map[string]string{HFTokenizerFile: hf(map[string]any{"vocab": validVocab("ab"), "merges": []any{[]string{"a", "q7"}}})},
			[]string{"tokenizer.json: model.merges[0]", `unknown symbol "q7"`}},
		{"tokenizer.json added token id conflict", map[string]string{HFTokenizerFile: hf(map[string]any{"vocab": validVocab("<s>")},
			map[string]any{"id": 5, "content": "<s>"})},
			[]string{"tokenizer.json", `added_tokens[0] "<s>" has id 5 but model.vocab gives it 256`}},
		{"tokenizer.json added token without id", map[string]string{HFTokenizerFile: hf(map[string]any{"vocab": validVocab()},
			map[string]any{"content": "<s>"})},
			[]string{"tokenizer.json", "added_tokens[0] lacks an id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				writeFile(t, dir, name, content)
			}
			tok, err := LoadBPE(dir)
			if err == nil {
				t.Fatalf("LoadBPE succeeded (vocab %d), want error", tok.VocabSize())
			}
			for _, w := range tc.want {
				assertContains(t, err.Error(), w)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the directory or file", err)
			}
		})
	}
}

func TestLoadBPEFilesMissing(t *testing.T) {
	dir := t.TempDir()
	enc := writeFile(t, dir, "enc.json", mustJSON(t, validVocab()))
	for _, tc := range []struct{ enc, merges, want string }{
		{filepath.Join(dir, "nope.json"), enc, "nope.json"},
		{enc, filepath.Join(dir, "nope.bpe"), "nope.bpe"},
	} {
		if _, err := LoadBPEFiles(tc.enc, tc.merges); err == nil {
			t.Errorf("LoadBPEFiles(%s, %s) succeeded", tc.enc, tc.merges)
		} else {
			assertContains(t, err.Error(), tc.want)
		}
	}
	if _, err := LoadBPE(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadBPE of a missing directory succeeded")
	}
	if _, err := LoadBPE(enc); err == nil {
		t.Error("LoadBPE of a file succeeded")
	}
	// A merges file with CRLF line endings, a BOM and no #version header.
	m := writeFile(t, dir, "m.txt", "\ufeffa b\r\n\r\n")
	enc2 := writeFile(t, dir, "enc2.json", mustJSON(t, validVocab("ab")))
	tok, err := LoadBPEFiles(enc2, m)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("ab"); !slices.Equal(got, []int32{256}) {
		t.Errorf("Encode(ab) = %v, want [256]", got)
	}
}

// FuzzLoadBPEFiles checks that arbitrary file contents never make the
// loader panic.
func FuzzLoadBPEFiles(f *testing.F) {
	f.Add(`{"a": 0}`, "a a\n")
	f.Add(`{"a": 0, "aa": 1}`, "#version: 0.2\na a\n")
	f.Add(`[1, 2]`, "")
	f.Add(`{"a": 1e3}`, "x y z")
	f.Fuzz(func(t *testing.T, encoder, merges string) {
		dir := t.TempDir()
		e := writeFile(t, dir, "e.json", encoder)
		m := writeFile(t, dir, "m.txt", merges)
		if tok, err := LoadBPEFiles(e, m); err == nil {
			_ = tok.Decode(tok.Encode("fuzz text"))
		}
		p := writeFile(t, dir, "tokenizer.json", encoder)
		if tok, err := LoadBPE(dir); err == nil && tok != nil {
			_ = tok.Encode(merges)
		}
		_ = p
	})
}

// The embedded GPT-2 files are the shared ones byte for byte (when the
// shared copy is there), and "gpt2" loads them.
func TestEmbeddedGPT2(t *testing.T) {
	for name, data := range map[string][]byte{OpenAIEncoderFile: gpt2Encoder, OpenAIMergesFile: gpt2Merges} {
		shared, err := os.ReadFile(filepath.Join(gpt2Dir, name))
		if err != nil {
			t.Logf("no shared copy of %s: %v", name, err)
			continue
		}
		if !bytes.Equal(shared, data) {
			t.Errorf("embedded %s differs from %s", name, gpt2Dir)
		}
	}
	tok, err := Load(GPT2Spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("Hello world"); !slices.Equal(got, []int32{15496, 995}) || tok.VocabSize() != 50257 || tok.EOT() != 50256 {
		t.Errorf("gpt2: Hello world -> %v, vocabulary %d, EOT %d", got, tok.VocabSize(), tok.EOT())
	}
	if !IsGPT2Vocab(50258) || IsGPT2Vocab(256) {
		t.Error("IsGPT2Vocab")
	}
}
