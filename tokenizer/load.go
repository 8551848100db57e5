package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// File names recognised by [LoadBPE].
const (
	OpenAIEncoderFile = "encoder.json"   // OpenAI gpt-2: token → id
	OpenAIMergesFile  = "vocab.bpe"      // OpenAI gpt-2: ranked merges
	HFVocabFile       = "vocab.json"     // Hugging Face slow tokenizer: token → id
	HFMergesFile      = "merges.txt"     // Hugging Face slow tokenizer: ranked merges
	HFTokenizerFile   = "tokenizer.json" // Hugging Face fast tokenizer
)

// maxVocabID bounds token ids read from files, so that a corrupt file cannot
// make the loader allocate gigabytes.
const maxVocabID = 1<<24 - 1

// LoadBPE loads a GPT-2 style byte-level BPE tokenizer from dir, which must
// contain one of (checked in this order):
//
//   - encoder.json and vocab.bpe (OpenAI's file names);
//   - vocab.json and merges.txt (Hugging Face's names for the same files);
//   - tokenizer.json (Hugging Face fast-tokenizer format with a BPE model:
//     model.vocab, model.merges as "a b" strings or ["a", "b"] pairs, and
//     added_tokens, e.g. <|endoftext|>). Only the model and added tokens are
//     read; the GPT-2 pre-tokeniser is always used.
func LoadBPE(dir string) (*BPE, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("tokenizer: %s is not a directory", dir)
	}
	exists := func(name string) bool {
		fi, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !fi.IsDir()
	}
	var partial []string
	for _, pair := range [][2]string{{OpenAIEncoderFile, OpenAIMergesFile}, {HFVocabFile, HFMergesFile}} {
		v, m := exists(pair[0]), exists(pair[1])
		if v && m {
			return LoadBPEFiles(filepath.Join(dir, pair[0]), filepath.Join(dir, pair[1]))
		}
		if v != m {
			have, lack := pair[0], pair[1]
			if m {
				have, lack = lack, have
			}
			partial = append(partial, fmt.Sprintf("%s without %s", have, lack))
		}
	}
	if exists(HFTokenizerFile) {
		return loadTokenizerJSON(filepath.Join(dir, HFTokenizerFile))
	}
	msg := fmt.Sprintf("tokenizer: no BPE files in %s: want %s+%s, %s+%s or %s",
		dir, OpenAIEncoderFile, OpenAIMergesFile, HFVocabFile, HFMergesFile, HFTokenizerFile)
	if len(partial) > 0 {
		msg += " (found " + strings.Join(partial, ", ") + ")"
	}
	return nil, errors.New(msg)
}

// LoadBPEFiles loads a byte-level BPE tokenizer from an encoder JSON file
// (a {"token": id} object: encoder.json or vocab.json) and a merges file
// (vocab.bpe or merges.txt: an optional "#version" first line, then one
// "left right" merge per line, highest priority first). If the vocabulary
// contains "<|endoftext|>", it becomes [BPE.EOT] and is recognised in text.
func LoadBPEFiles(encoderJSON, merges string) (*BPE, error) {
	data, err := os.ReadFile(encoderJSON)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	mdata, err := os.ReadFile(merges)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return parseBPEFiles(encoderJSON, data, merges, mdata)
}

// parseBPEFiles builds the tokenizer of LoadBPEFiles from the files'
// contents; the names label errors.
func parseBPEFiles(encoderJSON string, data []byte, merges string, mdata []byte) (*BPE, error) {
	var vocab map[string]int64
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, jsonError(encoderJSON, data, err)
	}
	if vocab == nil {
		return nil, fmt.Errorf("tokenizer: %s: expected a JSON object mapping tokens to ids, got null", encoderJSON)
	}
	ms, err := parseMergesText(merges, mdata)
	if err != nil {
		return nil, err
	}
	return newBPE(encoderJSON, vocab, ms, nil)
}

// mergeSpec is one merge rule read from a file; pos locates it for error
// messages (see mergeList.where).
type mergeSpec struct {
	a, b string
	pos  int
}

// mergeList is the merges of one file, highest priority first.
type mergeList struct {
	specs []mergeSpec
	where func(pos int) string // "file:line" or "file: model.merges[i]"
}

func parseMergesText(path string, data []byte) (mergeList, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		// GPT-2's file starts with a "#version" line even without merges.
		return mergeList{}, fmt.Errorf("tokenizer: %s is empty (a truncated copy?): want a \"#version\" line and one merge per line", path)
	}
	if !utf8.Valid(data) {
		return mergeList{}, fmt.Errorf("tokenizer: %s: not valid UTF-8", path)
	}
	lines := strings.Split(string(data), "\n")
	ms := make([]mergeSpec, 0, len(lines))
	for i, line := range lines {
		if i == 0 && strings.HasPrefix(line, "#version") {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return mergeList{}, fmt.Errorf("tokenizer: %s:%d: merge line %q has %d fields, want 2 (\"left right\")", path, i+1, line, len(f))
		}
		ms = append(ms, mergeSpec{f[0], f[1], i + 1})
	}
	return mergeList{ms, func(line int) string { return fmt.Sprintf("%s:%d", path, line) }}, nil
}

// tokenizerJSON is the subset of the Hugging Face tokenizer.json format
// that is used.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID      *int64 `json:"id"`
		Content string `json:"content"`
	} `json:"added_tokens"`
	Model *struct {
		Type   string            `json:"type"`
		Vocab  map[string]int64  `json:"vocab"`
		Merges []json.RawMessage `json:"merges"`
	} `json:"model"`
}

func loadTokenizerJSON(path string) (*BPE, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, jsonError(path, data, err)
	}
	m := tj.Model
	switch {
	case m == nil:
		return nil, fmt.Errorf("tokenizer: %s: no \"model\" object", path)
	case m.Type != "" && m.Type != "BPE":
		return nil, fmt.Errorf("tokenizer: %s: model.type is %q, only \"BPE\" is supported", path, m.Type)
	case m.Vocab == nil:
		return nil, fmt.Errorf("tokenizer: %s: model.vocab is missing", path)
	}
	ml := mergeList{
		specs: make([]mergeSpec, 0, len(m.Merges)),
		where: func(i int) string { return fmt.Sprintf("%s: model.merges[%d]", path, i) },
	}
	for i, raw := range m.Merges {
		var s string
		var pair []string
		switch {
		case len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil:
			f := strings.Fields(s)
			if len(f) != 2 {
				return nil, fmt.Errorf("tokenizer: %s: merge %q has %d fields, want 2 (\"left right\")", ml.where(i), s, len(f))
			}
			pair = f
		case len(raw) > 0 && raw[0] == '[' && json.Unmarshal(raw, &pair) == nil:
			if len(pair) != 2 {
				return nil, fmt.Errorf("tokenizer: %s: merge pair has %d elements, want 2", ml.where(i), len(pair))
			}
		default:
			return nil, fmt.Errorf("tokenizer: %s: merge is %s, want a \"left right\" string or a [\"left\", \"right\"] pair", ml.where(i), truncate(string(raw), 40))
		}
		ml.specs = append(ml.specs, mergeSpec{pair[0], pair[1], i})
	}
	vocab := m.Vocab
	var specials []string
	for i, at := range tj.AddedTokens {
		if at.ID == nil || at.Content == "" {
			return nil, fmt.Errorf("tokenizer: %s: added_tokens[%d] lacks an id or content", path, i)
		}
		if id, ok := vocab[at.Content]; ok && id != *at.ID {
			return nil, fmt.Errorf("tokenizer: %s: added_tokens[%d] %q has id %d but model.vocab gives it %d", path, i, at.Content, *at.ID, id)
		}
		vocab[at.Content] = *at.ID
		specials = append(specials, at.Content)
	}
	return newBPE(path, vocab, ml, specials)
}

// newBPE validates and assembles a tokenizer. vocabFile names the file the
// vocabulary came from, for errors; specials lists tokens to recognise
// literally in text (in addition to <|endoftext|>, if present).
func newBPE(vocabFile string, vocab map[string]int64, merges mergeList, specials []string) (*BPE, error) {
	if len(vocab) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: vocabulary is empty", vocabFile)
	}
	maxID := int64(-1)
	for tok, id := range vocab {
		if id < 0 || id > maxVocabID {
			return nil, fmt.Errorf("tokenizer: %s: token %q has id %d, outside [0, %d]", vocabFile, tok, id, maxVocabID)
		}
		maxID = max(maxID, id)
	}
	t := &BPE{
		tokBytes: make([][]byte, maxID+1),
		merges:   make(map[uint64]mergeRule, len(merges.specs)),
		eot:      -1,
	}
	owner := make([]string, maxID+1)
	for tok, id := range vocab {
		if t.tokBytes[id] != nil {
			a, b := min(tok, owner[id]), max(tok, owner[id])
			return nil, fmt.Errorf("tokenizer: %s: tokens %q and %q share id %d", vocabFile, a, b, id)
		}
		owner[id] = tok
		t.tokBytes[id] = tokenToBytes(tok)
	}
	for b := range 256 {
		sym := string(byteEncoder[b])
		id, ok := vocab[sym]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: vocabulary has no token %q for byte 0x%02x (not a GPT-2 style byte-level BPE vocabulary?)", vocabFile, sym, b)
		}
		t.byteID[b] = int32(id)
	}
	for rank, m := range merges.specs {
		a, okA := vocab[m.a]
		b, okB := vocab[m.b]
		switch {
		case !okA:
			return nil, fmt.Errorf("tokenizer: %s: merge %q %q refers to unknown symbol %q (not in %s)", merges.where(m.pos), m.a, m.b, m.a, vocabFile)
		case !okB:
			return nil, fmt.Errorf("tokenizer: %s: merge %q %q refers to unknown symbol %q (not in %s)", merges.where(m.pos), m.a, m.b, m.b, vocabFile)
		}
		r, ok := vocab[m.a+m.b]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: merge %q %q produces %q, which is not in %s", merges.where(m.pos), m.a, m.b, m.a+m.b, vocabFile)
		}
		// Later duplicates override earlier ones, like encoder.py's dict.
		t.merges[pairKey(int32(a), int32(b))] = mergeRule{rank: int32(rank), result: int32(r)}
	}
	if id, ok := vocab[EndOfText]; ok {
		t.eot = int32(id)
		specials = append(specials, EndOfText)
	}
	for _, s := range specials {
		if !slices.ContainsFunc(t.specials, func(x special) bool { return x.text == s }) {
			t.specials = append(t.specials, special{s, int32(vocab[s])})
		}
	}
	slices.SortStableFunc(t.specials, func(x, y special) int { return len(y.text) - len(x.text) })
	return t, nil
}

// byteEncoder is encoder.py's bytes_to_unicode(): the printable Latin-1
// bytes map to themselves, the other 68 bytes to U+0100 onwards, in order.
// byteDecoder is its inverse (-1 for runes that are not byte symbols).
var byteEncoder, byteDecoder = func() (enc [256]rune, dec [256 + 68]int16) {
	for i := range dec {
		dec[i] = -1
	}
	n := 0
	for b := range 256 {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF {
			enc[b] = rune(b)
		} else {
			enc[b] = rune(256 + n)
			n++
		}
		dec[enc[b]] = int16(b)
	}
	return enc, dec
}()

// tokenToBytes maps a vocabulary token back to bytes through byteDecoder.
// Characters outside the byte alphabet (possible only in added tokens) are
// kept as their UTF-8 encoding, which is how special tokens decode.
func tokenToBytes(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		if r >= 0 && int(r) < len(byteDecoder) && byteDecoder[r] >= 0 {
			out = append(out, byte(byteDecoder[r]))
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

// jsonError describes a JSON decoding error with the file name and the
// line and column of the problem.
func jsonError(path string, data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off >= 0 && off <= int64(len(data)) {
		before := data[:off]
		line := bytes.Count(before, []byte("\n")) + 1
		col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
		return fmt.Errorf("tokenizer: %s:%d:%d: malformed JSON: %w", path, line, col, err)
	}
	return fmt.Errorf("tokenizer: %s: malformed JSON: %w", path, err)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
