package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/duo-go/duo/tokenizer"
)

// GPT-2's byte-level BPE, embedded in this package: the tokenizer of the
// authors' checkpoints.
func ExampleGPT2() {
	t, err := tokenizer.GPT2()
	if err != nil {
		log.Fatal(err)
	}
	ids := t.Encode("Hello world<|endoftext|>")
	fmt.Println(ids, t.VocabSize(), t.EOT())
	fmt.Printf("%q\n", t.Decode(ids[:2]))
	// Output:
	// [15496 995 50256] 50257 50256
	// "Hello world"
}

// Load takes the specification a command line exposes: "bytes", "gpt2", or
// a directory (or tokenizer.json) of BPE files.
func ExampleLoad() {
	t, err := tokenizer.Load("bytes")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Encode("Hi!"), t.Decode([]int32{72, 105}), t.VocabSize())
	// Output:
	// [72 105 33] Hi 256
}
