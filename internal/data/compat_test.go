package data

import "github.com/duo-go/duo/internal/tokenizer"

// The tokenizer package's tokenizers must be usable with Load.
var (
	_ Tokenizer = tokenizer.Bytes{}
	_ Tokenizer = tokenizer.Tokenizer(nil)
)
