package tokenizer

import (
	_ "embed"
	"sync"
)

// GPT2Spec is the [Load] specification that selects the embedded GPT-2
// tokenizer.
const GPT2Spec = "gpt2"

// GPT-2's BPE files (gpt2/README.md), embedded: about 1.5 MB.
var (
	//go:embed gpt2/encoder.json
	gpt2Encoder []byte
	//go:embed gpt2/vocab.bpe
	gpt2Merges []byte
)

var gpt2Once = sync.OnceValues(func() (*BPE, error) {
	return parseBPEFiles("gpt2/encoder.json (embedded)", gpt2Encoder, "gpt2/vocab.bpe (embedded)", gpt2Merges)
})

// GPT2 returns GPT-2's byte-level BPE tokenizer (50257 ids, <|endoftext|>
// = 50256) from the files embedded in the binary.
func GPT2() (*BPE, error) { return gpt2Once() }

// IsGPT2Vocab reports whether a model vocabulary of K ids is GPT-2's: 50257,
// or the authors' 50258 (GPT-2's ids plus one unused).
func IsGPT2Vocab(K int) bool { return K == 50257 || K == 50258 }
