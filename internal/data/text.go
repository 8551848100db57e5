package data

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// loadTextFile reads one UTF-8 text file (at most maxBytes bytes of it when
// maxBytes > 0) as a single document.
func loadTextFile(path string, tok Tokenizer, maxBytes int64) ([]int32, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, pathErr(path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if maxBytes > 0 {
		// A few bytes beyond the limit tell whether the cut splits a character.
		r = io.LimitReader(f, maxBytes+utf8.UTFMax)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, pathErr(path, err)
	}
	if maxBytes > 0 && int64(len(b)) > maxBytes {
		b = b[:runeCut(b, int(maxBytes))]
	}
	if len(b) == 0 {
		return nil, 0, fmt.Errorf("data: %s: empty corpus (the file is empty)", path)
	}
	if why := notText(b); why != "" {
		return nil, 0, fmt.Errorf("data: %s: not a UTF-8 text file: %s", path, why)
	}
	ids := tok.Encode(string(b))
	return ids, 1, nil
}

// runeCut returns the largest n' <= n such that b[:n'] does not end inside a
// UTF-8 encoded character of b. It needs len(b) > n to see b[n].
func runeCut[T string | []byte](b T, n int) int {
	if n >= len(b) {
		return len(b)
	}
	for k := n; k > 0 && n-k < utf8.UTFMax; k-- {
		if utf8.RuneStart(b[k]) {
			return k
		}
	}
	// No character start within UTFMax bytes: the text is not valid UTF-8
	// there anyway; cut where asked and let validation report it.
	return n
}

// notText reports why b is not UTF-8 text ("" if it is).
func notText(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return fmt.Sprintf("NUL byte at offset %d (binary file?)", i)
	}
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, size := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return fmt.Sprintf("invalid UTF-8 at offset %d", off)
	}
	return ""
}

// extMatcher returns a predicate for file names ending in one of exts.
func extMatcher(exts []string) func(name string) bool {
	if len(exts) == 0 {
		return func(string) bool { return true }
	}
	want := make([]string, 0, len(exts))
	for _, e := range exts {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if !strings.HasPrefix(e, ".") {
			e = "." + e
		}
		want = append(want, e)
	}
	return func(name string) bool {
		name = strings.ToLower(name)
		for _, e := range want {
			if strings.HasSuffix(name, e) && len(name) > len(e) {
				return true
			}
		}
		return false
	}
}

// walkFiles walks root in lexical order and calls visit with each candidate
// document: a regular, non-hidden file matching exts, outside hidden
// directories. Symbolic links, devices, pipes and sockets are skipped. An
// error from visit stops the walk and is returned.
func walkFiles(root string, exts []string, visit func(path string) error) error {
	match := extMatcher(exts)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return pathErr(p, err)
		}
		if p == root {
			return nil
		}
		hidden := strings.HasPrefix(d.Name(), ".")
		switch {
		case d.IsDir():
			if hidden {
				return filepath.SkipDir
			}
		case d.Type().IsRegular():
			if !hidden && match(d.Name()) {
				return visit(p)
			}
		}
		return nil
	})
}

// docResult is one file read and tokenised by a worker.
type docResult struct {
	text string  // the file's text, kept in case MaxBytes cuts it
	ids  []int32 // tok.Encode(text)
	skip bool    // not a text document (empty, binary, invalid UTF-8)
	err  error
}

// docJob asks a worker to read path and send the result on out.
type docJob struct {
	path string
	out  chan docResult
}

// errStop ends the directory walk once the packer needs no more files.
var errStop = errors.New("data: stop walking")

// loadDir tokenises every text file under root and packs the documents in
// walk order. The walk, the reading and tokenising (runtime.GOMAXPROCS(0)
// workers) and the packing run concurrently; results are packed in the order
// the walk found the files, whatever order the workers finish in.
func loadDir(root string, tok Tokenizer, opt Options) ([]int32, int, error) {
	workers := runtime.GOMAXPROCS(0)
	// At most `window` files are read ahead of the one being packed, which
	// bounds memory and the work wasted once MaxBytes is reached.
	window := 4 * workers
	order := make(chan chan docResult, window) // result channels in walk order
	jobs := make(chan docJob)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(workers + 1)
	go func() { // walker
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		err := walkFiles(root, opt.Exts, func(p string) error {
			out := make(chan docResult, 1)
			select {
			case order <- out:
			case <-done:
				return errStop
			}
			select {
			case jobs <- docJob{p, out}:
			case <-done:
				return errStop
			}
			return nil
		})
		if err != nil && err != errStop {
			out := make(chan docResult, 1)
			out <- docResult{err: err}
			select {
			case order <- out:
			case <-done:
			}
		}
	}()
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for j := range jobs {
				select {
				case <-done:
					j.out <- docResult{skip: true}
					continue
				default:
				}
				j.out <- readDoc(j.path, tok)
			}
		}()
	}
	defer func() {
		close(done)
		wg.Wait()
	}()

	eot := tok.EOT()
	var (
		parts [][]int32
		total int
		docs  int
		files int
		used  int64
	)
	add := func(ids []int32) {
		if docs > 0 && eot >= 0 {
			parts = append(parts, []int32{eot})
			total++
		}
		parts = append(parts, ids)
		total += len(ids)
		docs++
	}
	for out := range order {
		r := <-out
		if r.err != nil {
			return nil, 0, r.err
		}
		files++
		if r.skip {
			continue
		}
		if opt.MaxBytes > 0 && used+int64(len(r.text)) > opt.MaxBytes {
			// Cut this document to the remaining budget and stop.
			if cut := runeCut(r.text, int(opt.MaxBytes-used)); cut > 0 {
				add(tok.Encode(r.text[:cut]))
			}
			break
		}
		add(r.ids)
		used += int64(len(r.text))
		if opt.MaxBytes > 0 && used == opt.MaxBytes {
			break
		}
	}
	if files == 0 {
		what := "no files"
		if len(opt.Exts) > 0 {
			what = fmt.Sprintf("no files with extension %s", strings.Join(opt.Exts, ", "))
		}
		return nil, 0, fmt.Errorf("data: %s: empty corpus: directory holds %s (hidden files, hidden directories and symbolic links are skipped)", root, what)
	}
	if docs == 0 {
		return nil, 0, fmt.Errorf("data: %s: empty corpus: none of its %d files is a non-empty UTF-8 text file", root, files)
	}
	stream := make([]int32, 0, total)
	for _, p := range parts {
		stream = append(stream, p...)
	}
	return stream, docs, nil
}

// readDoc reads and tokenises one file of a directory walk. Files that are
// not text are skipped, not errors.
func readDoc(path string, tok Tokenizer) docResult {
	b, err := os.ReadFile(path)
	if err != nil {
		return docResult{err: pathErr(path, err)}
	}
	if len(b) == 0 || notText(b) != "" {
		return docResult{skip: true}
	}
	// b is never written again, so it can back the string without a copy.
	text := unsafe.String(unsafe.SliceData(b), len(b))
	return docResult{text: text, ids: tok.Encode(text)}
}
