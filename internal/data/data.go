// Package data is the training-data pipeline: it loads a corpus (a UTF-8
// text file, a directory of them, or a pre-tokenised nanoGPT/llm.c .bin
// file), packs its documents into one token stream, splits that stream into
// training and validation parts, and cuts blocks of L tokens from it.
//
// Packing follows the "wrap" convention: documents are concatenated with the
// tokenizer's end-of-text id between them (when it has one) and blocks are
// cut from the stream without regard to document boundaries.
package data

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/duo-go/duo/tokenizer"
)

// Tokenizer is the tokenizer package's interface: what Load needs to turn
// text into ids.
type Tokenizer = tokenizer.Tokenizer

// Corpus is a tokenised corpus split into train and validation token streams.
type Corpus struct {
	// Train is the first (1-Split) of the packed token stream.
	Train []int32
	// Val is the rest of the stream, the validation tokens.
	Val []int32
	// Vocab is the vocabulary size (tok.VocabSize()): every id is below it.
	Vocab int
	// Source is the path the corpus was loaded from.
	Source string
	// Docs is the number of documents packed into the stream: the text files
	// read (one for a single file), or for a .bin file the number of
	// non-empty runs of tokens between end-of-text ids (1 if the tokenizer
	// has no end-of-text id).
	Docs int
}

// Tokens returns the total number of tokens, len(Train)+len(Val).
func (c *Corpus) Tokens() int { return len(c.Train) + len(c.Val) }

// DefaultSplit is the validation fraction used when Options.Split is 0.
const DefaultSplit = 0.1

// Options controls Load. The zero value is ready to use.
type Options struct {
	// Split is the validation fraction: the first (1-Split) of the tokens
	// are for training, the rest for validation. 0 means DefaultSplit; it
	// must otherwise lie in (0, 1).
	Split float64
	// MaxBytes, when positive, stops reading after this many bytes of text
	// (the last document is cut at a UTF-8 character boundary); for a .bin
	// file it limits the bytes of token data read (MaxBytes/2 tokens).
	// 0 means no limit.
	MaxBytes int64
	// Exts lists the file-name endings to include when walking a directory,
	// e.g. []string{".go"} (matched case-insensitively; the leading dot is
	// optional). Empty means every regular file that holds text.
	Exts []string
}

// Load reads the corpus at path and tokenises it with tok.
//
// path may be
//
//   - a plain UTF-8 text file: one document;
//   - a directory: walked recursively in lexical order, each regular file a
//     document. Hidden files and directories (names starting with "."),
//     symbolic links, empty files, files that are not valid UTF-8 or that
//     contain NUL bytes, and files not matching opt.Exts are skipped. Files
//     are read and tokenised in parallel, runtime.GOMAXPROCS(0) at a time,
//     but the stream is always in walk order;
//   - a file whose name ends in ".bin": pre-tokenised little-endian uint16
//     ids, either flat (nanoGPT) or after llm.c's 256-int32 header (magic
//     20240520, version 1, token count). Ids must be below tok.VocabSize().
//
// Text documents are joined with tok.EOT() between them when it is >= 0.
// Both the training and the validation part must be non-empty.
// Errors name the file and what is wrong with it.
func Load(path string, tok Tokenizer, opt Options) (*Corpus, error) {
	if tok == nil {
		return nil, fmt.Errorf("data: %s: no tokenizer given", path)
	}
	vocab := tok.VocabSize()
	if vocab <= 0 {
		return nil, fmt.Errorf("data: %s: tokenizer has vocabulary size %d", path, vocab)
	}
	split := opt.Split
	if split == 0 {
		split = DefaultSplit
	}
	if math.IsNaN(split) || split <= 0 || split >= 1 {
		return nil, fmt.Errorf("data: %s: validation split %v is not in (0, 1)", path, opt.Split)
	}
	if opt.MaxBytes < 0 {
		return nil, fmt.Errorf("data: %s: MaxBytes %d is negative", path, opt.MaxBytes)
	}
	if path == "" {
		return nil, errors.New("data: empty corpus path")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, pathErr(path, err)
	}

	var (
		stream []int32
		docs   int
	)
	switch {
	case fi.IsDir():
		stream, docs, err = loadDir(path, tok, opt)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("data: %s: not a regular file or directory (mode %v)", path, fi.Mode())
	case strings.EqualFold(filepath.Ext(path), ".bin"):
		stream, docs, err = loadBin(path, vocab, tok.EOT(), opt.MaxBytes)
	default:
		stream, docs, err = loadTextFile(path, tok, opt.MaxBytes)
	}
	if err != nil {
		return nil, err
	}
	if len(stream) == 0 {
		return nil, fmt.Errorf("data: %s: empty corpus (no tokens)", path)
	}

	n := len(stream)
	nTrain := int(float64(n) * (1 - split))
	if nTrain > n {
		nTrain = n
	}
	if nTrain <= 0 || nTrain >= n {
		return nil, fmt.Errorf("data: %s: corpus is too small: %d tokens cannot be split %.0f%%/%.0f%% into non-empty train and validation parts",
			path, n, 100*(1-split), 100*split)
	}
	return &Corpus{
		Train:  stream[:nTrain:nTrain],
		Val:    stream[nTrain:],
		Vocab:  vocab,
		Source: path,
		Docs:   docs,
	}, nil
}

// pathErr formats a file-system error as "data: path: reason", without
// repeating the path that *fs.PathError already carries.
func pathErr(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("data: %s: %w", path, pe.Err)
	}
	return fmt.Errorf("data: %s: %w", path, err)
}
