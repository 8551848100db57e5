package data

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// byteTok is the test tokenizer: id = byte value. With eot >= 0 its
// vocabulary grows by one id, the end-of-text marker.
type byteTok struct {
	eot   int32
	delay bool // sleep a little per Encode, to scramble worker completion order
}

func (t byteTok) Encode(s string) []int32 {
	if t.delay {
		time.Sleep(time.Duration(len(s)%7) * 100 * time.Microsecond)
	}
	ids := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = int32(s[i])
	}
	return ids
}

func (t byteTok) Decode(ids []int32) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id == t.eot && t.eot >= 0 {
			b = append(b, '|')
			continue
		}
		b = append(b, byte(id))
	}
	return string(b)
}

func (t byteTok) VocabSize() int {
	if t.eot >= 0 {
		return int(t.eot) + 1
	}
	return 256
}

func (t byteTok) EOT() int32 { return t.eot }

var (
	plain = byteTok{eot: -1}
	withE = byteTok{eot: 256}
)

// writeTree creates files (path -> content) under a new temp dir.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func whole(c *Corpus) []int32 { return append(slices.Clone(c.Train), c.Val...) }

func TestLoadTextFile(t *testing.T) {
	text := strings.Repeat("To be, or not to be: that is the question. ", 5)
	p := writeFile(t, "t.txt", []byte(text))
	for _, tc := range []struct {
		name string
		tok  byteTok
	}{{"noEOT", plain}, {"EOT", withE}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(p, tc.tok, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.tok.Decode(whole(c)); got != text {
				t.Fatalf("stream = %q, want %q", got, text)
			}
			n := len(text)
			if len(c.Train) != n*9/10 || len(c.Val) != n-n*9/10 {
				t.Errorf("split %d/%d, want %d/%d", len(c.Train), len(c.Val), n*9/10, n-n*9/10)
			}
			if c.Docs != 1 || c.Vocab != tc.tok.VocabSize() || c.Source != p || c.Tokens() != n {
				t.Errorf("Docs=%d Vocab=%d Source=%q Tokens=%d", c.Docs, c.Vocab, c.Source, c.Tokens())
			}
			if cap(c.Train) != len(c.Train) {
				t.Errorf("Train has spare capacity %d: appending to it would clobber Val", cap(c.Train)-len(c.Train))
			}
		})
	}
}

func TestLoadDir(t *testing.T) {
	root := writeTree(t, map[string]string{
		"b.txt":              "B",
		"a.txt":              "A",
		"a/z.txt":            "AZ",
		"a/sub/deep.txt":     "DEEP",
		"a/code.go":          "GO",
		".hidden/secret.txt": "SECRET",
		"a/.git/config":      "CONFIG",
		".dotfile":           "DOT",
		"bin.dat":            "x\x00y",
		"latin1.txt":         "caf\xe9",
		"empty.txt":          "",
	})
	if err := os.Symlink(filepath.Join(root, "a.txt"), filepath.Join(root, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "linkdir")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tok  byteTok
		exts []string
		want string
		docs int
	}{
		{"noEOT", plain, nil, "GODEEPAZAB", 5},
		{"EOT", withE, nil, "GO|DEEP|AZ|A|B", 5},
		{"ext.txt", withE, []string{".txt"}, "DEEP|AZ|A|B", 4},
		{"ext-nodot-upper", withE, []string{"TXT"}, "DEEP|AZ|A|B", 4},
		{"ext.go", plain, []string{".go"}, "GO", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(root, tc.tok, Options{Exts: tc.exts, Split: 0.25})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.tok.Decode(whole(c)); got != tc.want {
				t.Errorf("stream = %q, want %q", got, tc.want)
			}
			if c.Docs != tc.docs {
				t.Errorf("Docs = %d, want %d", c.Docs, tc.docs)
			}
		})
	}
}

// TestLoadDirDeterministic loads many files with different worker counts and
// a tokenizer whose latency varies per file; the stream must not change.
func TestLoadDirDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	files := map[string]string{}
	var names []string
	for i := 0; i < 300; i++ {
		name := filepath.ToSlash(filepath.Join(
			string(rune('a'+rng.IntN(4))), string(rune('a'+rng.IntN(4))), "f"+strings.Repeat("x", rng.IntN(3))+string(rune('a'+i%26))+string(rune('a'+i/26))+".txt"))
		var sb strings.Builder
		for j := rng.IntN(50) + 1; j > 0; j-- {
			sb.WriteByte(byte('a' + rng.IntN(26)))
		}
		files[name] = sb.String()
		names = append(names, name)
	}
	root := writeTree(t, files)
	// Expected: files in lexical walk order. Within one directory the walk
	// order is sorted by name, and paths here are dir/dir/file, so sorting
	// full slash paths gives walk order.
	slices.Sort(names)
	names = slices.Compact(names)
	var want []string
	for _, n := range names {
		want = append(want, files[n])
	}
	wantStream := strings.Join(want, "|")

	tok := byteTok{eot: 256, delay: true}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3, 8, 32} {
		runtime.GOMAXPROCS(procs)
		c, err := Load(root, tok, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Decode(whole(c)); got != wantStream {
			t.Fatalf("GOMAXPROCS=%d: stream differs from walk order", procs)
		}
		if c.Docs != len(names) {
			t.Fatalf("GOMAXPROCS=%d: Docs = %d, want %d", procs, c.Docs, len(names))
		}
		// MaxBytes cut in the middle of the run, also deterministic.
		c, err = Load(root, tok, Options{MaxBytes: 1000})
		if err != nil {
			t.Fatal(err)
		}
		got := tok.Decode(whole(c))
		if n := len(got) - (c.Docs - 1); n != 1000 {
			t.Fatalf("GOMAXPROCS=%d MaxBytes=1000: %d text bytes", procs, n)
		}
		if !strings.HasPrefix(wantStream, got) {
			t.Fatalf("GOMAXPROCS=%d MaxBytes=1000: stream is not a prefix of the full one", procs)
		}
	}
}

func TestMaxBytes(t *testing.T) {
	dir := writeTree(t, map[string]string{"1.txt": "aaaa", "2.txt": "bbbb", "3.txt": "cccc"})
	utf := "0123456789é0123456789"
	file := writeFile(t, "u.txt", []byte(utf))
	for _, tc := range []struct {
		name string
		path string
		tok  byteTok
		max  int64
		want string
		docs int
	}{
		{"dir-cut", dir, plain, 6, "aaaabb", 2},
		{"dir-cut-EOT", dir, withE, 6, "aaaa|bb", 2},
		{"dir-exact", dir, withE, 8, "aaaa|bbbb", 2},
		{"dir-big", dir, withE, 1 << 40, "aaaa|bbbb|cccc", 3},
		{"file-rune", file, plain, 11, "0123456789", 1},
		{"file-after-rune", file, plain, 12, "0123456789é", 1},
		{"file-big", file, plain, 100, utf, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.path, tc.tok, Options{MaxBytes: tc.max})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.tok.Decode(whole(c)); got != tc.want {
				t.Errorf("stream = %q, want %q", got, tc.want)
			}
			if c.Docs != tc.docs {
				t.Errorf("Docs = %d, want %d", c.Docs, tc.docs)
			}
		})
	}
}

func TestSplitSizes(t *testing.T) {
	for _, tc := range []struct {
		n          int
		split      float64
		train, val int
	}{
		{100, 0, 90, 10},
		{100, 0.1, 90, 10},
		{100, 0.25, 75, 25},
		{10, 0.5, 5, 5},
		{10, 0.001, 9, 1},
		{2, 0.5, 1, 1},
		{1_115_394, 0.1, 1_003_854, 111_540},
	} {
		p := writeFile(t, "s.txt", bytes.Repeat([]byte("x"), tc.n))
		c, err := Load(p, plain, Options{Split: tc.split})
		if err != nil {
			t.Fatalf("n=%d split=%v: %v", tc.n, tc.split, err)
		}
		if len(c.Train) != tc.train || len(c.Val) != tc.val {
			t.Errorf("n=%d split=%v: %d/%d, want %d/%d", tc.n, tc.split, len(c.Train), len(c.Val), tc.train, tc.val)
		}
	}
}

func TestBinRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]int32, 3000)
	for i := range ids {
		ids[i] = int32(rng.IntN(257))
	}
	ids[0], ids[1] = 256, 256 // leading EOTs, as llm.c writes them
	docs := countDocs(ids, 256)
	for _, llmc := range []bool{false, true} {
		p := filepath.Join(t.TempDir(), "tok.bin")
		if err := WriteBin(p, ids, llmc); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(p)
		wantSize := int64(2 * len(ids))
		if llmc {
			wantSize += 1024
		}
		if fi.Size() != wantSize {
			t.Fatalf("llmc=%v: file size %d, want %d", llmc, fi.Size(), wantSize)
		}
		c, err := Load(p, withE, Options{})
		if err != nil {
			t.Fatalf("llmc=%v: %v", llmc, err)
		}
		if !slices.Equal(whole(c), ids) {
			t.Fatalf("llmc=%v: ids differ after round trip", llmc)
		}
		if c.Docs != docs || c.Vocab != 257 || len(c.Train) != 2700 {
			t.Errorf("llmc=%v: Docs=%d (want %d) Vocab=%d Train=%d", llmc, c.Docs, docs, c.Vocab, len(c.Train))
		}
		c, err = Load(p, withE, Options{MaxBytes: 201})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(whole(c), ids[:100]) {
			t.Errorf("llmc=%v MaxBytes=201: got %d ids, want the first 100", llmc, c.Tokens())
		}
	}
	// A GPT-2 sized vocabulary and large ids.
	big := []int32{50256, 0, 65535, 1234, 50256, 7, 8, 9, 10, 11}
	p := filepath.Join(t.TempDir(), "big.bin")
	if err := WriteBin(p, big, true); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, fixedVocab{65536, 50256}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(whole(c), big) || c.Docs != 2 {
		t.Errorf("got %v docs %d", whole(c), c.Docs)
	}
	if err := WriteBin(p, []int32{1, 70000}, false); err == nil {
		t.Error("WriteBin accepted id 70000")
	}
}

// fixedVocab is a tokenizer stub with a given vocabulary and EOT.
type fixedVocab struct {
	v   int
	eot int32
}

func (f fixedVocab) Encode(string) []int32 { return nil }
func (f fixedVocab) Decode([]int32) string { return "" }
func (f fixedVocab) VocabSize() int        { return f.v }
func (f fixedVocab) EOT() int32            { return f.eot }

func llmcHeader(magic, version, count int32) []byte {
	h := make([]byte, 1024)
	binary.LittleEndian.PutUint32(h[0:], uint32(magic))
	binary.LittleEndian.PutUint32(h[4:], uint32(version))
	binary.LittleEndian.PutUint32(h[8:], uint32(count))
	return h
}

func u16(ids ...uint16) []byte {
	b := make([]byte, 2*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint16(b[2*i:], id)
	}
	return b
}

func TestLoadErrors(t *testing.T) {
	type setup func(t *testing.T) string
	file := func(name string, b []byte) setup {
		return func(t *testing.T) string { return writeFile(t, name, b) }
	}
	tree := func(files map[string]string) setup {
		return func(t *testing.T) string { return writeTree(t, files) }
	}
	ok := file("ok.txt", []byte("plenty of text here"))
	for _, tc := range []struct {
		name  string
		path  setup
		tok   Tokenizer
		opt   Options
		want  []string // substrings of the error; "$" stands for the path
		skipf func() string
	}{
		{name: "missing", path: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.txt") }, tok: plain, want: []string{"$", "no such file"}},
		{name: "empty path", path: func(*testing.T) string { return "" }, tok: plain, want: []string{"empty corpus path"}},
		{name: "nil tokenizer", path: ok, tok: nil, want: []string{"$", "no tokenizer"}},
		{name: "zero vocab", path: ok, tok: fixedVocab{0, -1}, want: []string{"$", "vocabulary size 0"}},
		{name: "split negative", path: ok, tok: plain, opt: Options{Split: -0.1}, want: []string{"$", "split -0.1"}},
		{name: "split one", path: ok, tok: plain, opt: Options{Split: 1}, want: []string{"$", "split 1 "}},
		{name: "split NaN", path: ok, tok: plain, opt: Options{Split: math.NaN()}, want: []string{"$", "split NaN"}},
		{name: "MaxBytes negative", path: ok, tok: plain, opt: Options{MaxBytes: -1}, want: []string{"$", "MaxBytes -1"}},
		{name: "empty text file", path: file("e.txt", nil), tok: plain, want: []string{"$", "empty"}},
		{name: "text too small", path: file("one.txt", []byte("a")), tok: plain, want: []string{"$", "too small", "1 tokens"}},
		{name: "text invalid UTF-8", path: file("l1.txt", []byte("caf\xe9 au lait")), tok: plain, want: []string{"$", "invalid UTF-8 at offset 3"}},
		{name: "text NUL", path: file("nul.txt", []byte("ab\x00cd")), tok: plain, want: []string{"$", "NUL byte at offset 2"}},
		{name: "empty dir", path: tree(nil), tok: plain, want: []string{"$", "empty corpus", "no files"}},
		{name: "dir only hidden", path: tree(map[string]string{".git/HEAD": "ref", ".x": "y"}), tok: plain, want: []string{"$", "no files"}},
		{name: "dir no ext match", path: tree(map[string]string{"a.txt": "hello"}), tok: plain, opt: Options{Exts: []string{".go"}}, want: []string{"$", "no files with extension .go"}},
		{name: "dir only binary", path: tree(map[string]string{"a.bin": "\x00\x01", "b.txt": "\xff", "c": ""}), tok: plain, want: []string{"$", "none of its 3 files"}},
		{name: "dir too small", path: tree(map[string]string{"a.txt": "x"}), tok: plain, want: []string{"$", "too small"}},
		{name: "bin empty", path: file("e.bin", nil), tok: plain, want: []string{"$", "empty"}},
		{name: "bin odd", path: file("o.bin", []byte{1, 0, 2}), tok: plain, want: []string{"$", "odd byte count 3"}},
		{name: "bin too small", path: file("s.bin", u16(5)), tok: plain, want: []string{"$", "too small"}},
		{name: "bin id out of vocab", path: file("v.bin", u16(1, 2, 300, 4)), tok: plain, want: []string{"$", "token id 300 at byte offset 4", "size 256"}},
		{name: "llmc id out of vocab", path: file("v.bin", append(llmcHeader(LLMCMagic, 1, 3), u16(1, 2, 256)...)), tok: plain, want: []string{"$", "token id 256 at byte offset 1028"}},
		{name: "llmc bad version", path: file("h.bin", append(llmcHeader(LLMCMagic, 2, 2), u16(1, 2)...)), tok: plain, want: []string{"$", "bad llm.c header", "version 2"}},
		{name: "llmc count mismatch", path: file("h.bin", append(llmcHeader(LLMCMagic, 1, 5), u16(1, 2)...)), tok: plain, want: []string{"$", "bad llm.c header", "declares 5 tokens"}},
		{name: "llmc negative count", path: file("h.bin", append(llmcHeader(LLMCMagic, 1, -1), u16(1, 2)...)), tok: plain, want: []string{"$", "bad llm.c header", "declares -1 tokens"}},
		{name: "llmc short header", path: file("h.bin", llmcHeader(LLMCMagic, 1, 0)[:16]), tok: plain, want: []string{"$", "bad llm.c header", "only 16 bytes"}},
		{name: "llmc no tokens", path: file("h.bin", llmcHeader(LLMCMagic, 1, 0)), tok: plain, want: []string{"$", "empty corpus"}},
		{name: "bin MaxBytes 1", path: file("m.bin", u16(1, 2, 3)), tok: plain, opt: Options{MaxBytes: 1}, want: []string{"$", "empty corpus"}},
		{name: "not regular", path: func(*testing.T) string { return "/dev/null" }, tok: plain, want: []string{"/dev/null", "not a regular file"},
			skipf: func() string {
				if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode().IsRegular() {
					return "no /dev/null device"
				}
				return ""
			}},
		{name: "unreadable file in dir", tok: plain, want: []string{"secret.txt", "permission denied"},
			path: func(t *testing.T) string {
				root := writeTree(t, map[string]string{"a.txt": "hello", "secret.txt": "hidden"})
				if err := os.Chmod(filepath.Join(root, "secret.txt"), 0); err != nil {
					t.Fatal(err)
				}
				return root
			},
			skipf: func() string {
				if os.Geteuid() == 0 {
					return "running as root: permissions are not enforced"
				}
				return ""
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skipf != nil {
				if why := tc.skipf(); why != "" {
					t.Skip(why)
				}
			}
			p := tc.path(t)
			c, err := Load(p, tc.tok, tc.opt)
			if err == nil {
				t.Fatalf("no error; corpus of %d tokens", c.Tokens())
			}
			for _, w := range tc.want {
				if w == "$" {
					w = p
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "data: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestTinyShakespeare(t *testing.T) {
	const path = "../../../shared/data/tinyshakespeare.txt"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s absent: %v", path, err)
	}
	c, err := Load(path, plain, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Tokens() != 1_115_394 || len(c.Train) != 1_003_854 || len(c.Val) != 111_540 || c.Docs != 1 {
		t.Errorf("tokens %d train %d val %d docs %d; want 1115394 1003854 111540 1",
			c.Tokens(), len(c.Train), len(c.Val), c.Docs)
	}
	if got := plain.Decode(c.Train[:14]); got != "First Citizen:" {
		t.Errorf("starts %q", got)
	}
}

// FuzzLoadBin checks that no .bin content makes Load panic, and that what
// loads is below the vocabulary.
func FuzzLoadBin(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(u16(1, 2, 3, 4))
	f.Add(append(llmcHeader(LLMCMagic, 1, 2), u16(1, 2)...))
	f.Add(append(llmcHeader(LLMCMagic, 1, 3), u16(1, 2)...))
	f.Add(llmcHeader(LLMCMagic, 1, 0)[:7])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.bin")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p, withE, Options{Split: 0.5})
		if err != nil {
			return
		}
		for _, id := range whole(c) {
			if id < 0 || int(id) >= c.Vocab {
				t.Fatalf("id %d outside vocabulary %d", id, c.Vocab)
			}
		}
	})
}

// goroot is $(go env GOROOT), or the GOROOT this test was built with.
func goroot() string {
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if r := strings.TrimSpace(string(out)); r != "" {
			return r
		}
	}
	return runtime.GOROOT() //nolint:staticcheck // fallback only
}

func BenchmarkLoadGoSrc(b *testing.B) {
	src := filepath.Join(goroot(), "src")
	if _, err := os.Stat(src); err != nil {
		b.Skipf("GOROOT/src absent: %v", err)
	}
	const max = 20 << 20
	b.SetBytes(max)
	for b.Loop() {
		c, err := Load(src, withE, Options{Exts: []string{".go"}, MaxBytes: max})
		if err != nil {
			b.Fatal(err)
		}
		if n := c.Tokens() - (c.Docs - 1); n != max {
			b.Fatalf("%d text bytes, want %d", n, max)
		}
	}
}
