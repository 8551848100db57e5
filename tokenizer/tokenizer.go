// Package tokenizer converts between text and the integer token ids consumed
// by the Duo models.
//
// Two tokenizers are provided:
//
//   - [Bytes]: a trivial byte-level tokenizer (id = byte value, 256 ids).
//   - [BPE]: GPT-2's byte-level byte-pair encoding, reproducing OpenAI's
//     gpt-2 src/encoder.py token for token (see [BPE] for the exact rules,
//     including the handling of "<|endoftext|>").
//
// [Load] picks one from a short specification string ("bytes" or a path),
// which is what command-line tools should expose.
//
// Decoding follows Python's bytes.decode("utf-8", errors="replace"): the
// token bytes are concatenated and every maximal invalid UTF-8 subsequence is
// replaced by one U+FFFD, exactly as CPython does.
package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tokenizer converts text to token ids and back. Implementations are safe for
// concurrent use.
type Tokenizer interface {
	// Encode returns the token ids of text.
	Encode(text string) []int32
	// Decode returns the text of ids. Ids outside the vocabulary decode to
	// U+FFFD, and invalid UTF-8 in the decoded bytes is replaced the way
	// Python's errors="replace" does.
	Decode(ids []int32) string
	// VocabSize is one more than the largest id Encode can return (and the
	// size of the embedding/output layers a model needs).
	VocabSize() int
	// EOT is the end-of-text id placed between documents when packing
	// training sequences, or -1 if the tokenizer has none.
	EOT() int32
}

// BytesSpec is the [Load] specification that selects the [Bytes] tokenizer.
const BytesSpec = "bytes"

// Load returns the tokenizer described by spec:
//
//   - "bytes": the byte-level [Bytes] tokenizer;
//   - "gpt2": GPT-2's BPE, embedded in the binary ([GPT2]);
//   - a directory: a GPT-2 style [BPE] loaded with [LoadBPE];
//   - a file whose name ends in ".json": a Hugging Face tokenizer.json
//     (fast-tokenizer format) holding a byte-level BPE model.
func Load(spec string) (Tokenizer, error) {
	if spec == "" {
		return nil, fmt.Errorf("tokenizer: empty tokenizer spec (want %q or a directory with GPT-2 BPE files)", BytesSpec)
	}
	if spec == BytesSpec {
		return Bytes{}, nil
	}
	if spec == GPT2Spec {
		t, err := GPT2()
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	fi, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: spec %q is neither %q, %q nor an existing path: %w", spec, BytesSpec, GPT2Spec, err)
	}
	var t *BPE
	switch {
	case fi.IsDir():
		t, err = LoadBPE(spec)
	case strings.HasSuffix(strings.ToLower(filepath.Base(spec)), ".json"):
		t, err = loadTokenizerJSON(spec)
	default:
		err = fmt.Errorf("tokenizer: spec %q is a file but not a tokenizer.json; pass its directory instead", spec)
	}
	if err != nil {
		return nil, err // not a typed nil *BPE inside the interface
	}
	return t, nil
}
