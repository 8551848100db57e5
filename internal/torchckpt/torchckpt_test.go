package torchckpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/duo-go/duo/internal/pickle"
	"github.com/duo-go/duo/internal/safetensors"
)

const testdata = "../../testdata/"

// The Lightning-style checkpoint written by torch.save (tools/golden/hf_golden.py)
// must hold the same tensors as the safetensors file its script wrote by hand.
func TestLightningCheckpoint(t *testing.T) {
	ck, err := Open(testdata + "lightning_tiny.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	root := ck.Root.(*pickle.Dict)
	sdV, _ := root.Get("state_dict")
	sd, ok := sdV.(*pickle.Dict)
	if !ok {
		t.Fatalf("state_dict is %s", Describe(sdV))
	}
	if _, ok := sd.State.(*pickle.Dict); !ok {
		t.Errorf("the state dict's _metadata attribute (BUILD state) was not kept: %v", sd.State)
	}
	st, err := safetensors.Open(testdata + "hf_tiny/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	for i, k := range sd.Keys {
		name := k.(string)
		tt, ok := sd.Values[i].(*Tensor)
		if !ok {
			t.Fatalf("%s is %s", name, Describe(sd.Values[i]))
		}
		if !tt.Contiguous() || tt.DType != safetensors.F32 {
			t.Errorf("%s: dtype %s, contiguous %v", name, tt.DType, tt.Contiguous())
		}
		want, ok := st.Get(name)
		if !ok {
			if name != "noise.dummy_buffer" {
				t.Errorf("%s is not in the safetensors file", name)
			}
			continue
		}
		n++
		got, err := tt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		w, _ := want.Float32s()
		if !slices.Equal(tt.Shape, want.Shape) || !slices.Equal(got, w) {
			t.Errorf("%s: shape %v, want %v; values equal %v", name, tt.Shape, want.Shape, slices.Equal(got, w))
		}
	}
	if n != len(st.Tensors) {
		t.Errorf("%d of %d tensors compared", n, len(st.Tensors))
	}

	// EMA: a list of tensors, num_updates and decay.
	emaV, _ := root.Get("ema")
	ema := emaV.(*pickle.Dict)
	if v, _ := ema.Get("num_updates"); v != int64(3) {
		t.Errorf("num_updates %v", v)
	}
	if v, _ := ema.Get("decay"); v != 0.9999 {
		t.Errorf("decay %v", v)
	}
	sp, _ := ema.Get("shadow_params")
	if l, ok := sp.(*pickle.List); !ok || len(l.Items) != len(st.Tensors)-1 {
		t.Errorf("shadow_params %s", Describe(sp))
	}

	// Hyper-parameters: OmegaConf objects read as data, other objects inert.
	hpV, _ := root.Get("hyper_parameters")
	hp := Plain(hpV)
	for path, want := range map[string]any{
		"config.model.length": int64(16), "config.model.n_heads": int64(4), "config.model.dropout": 0.1,
		"config.algo.name": "duo", "vocab_size": int64(67),
	} {
		if got, ok := Lookup(hp, path); !ok || got != want {
			t.Errorf("hyper_parameters %s = %v, want %v", path, got, want)
		}
	}
	tok, _ := Lookup(hp, "tokenizer")
	obj, ok := tok.(*pickle.Object)
	if !ok || obj.Class() != "transformers.models.gpt2.tokenization_gpt2_fast.GPT2TokenizerFast" {
		t.Errorf("tokenizer %v", tok)
	} else if state := Plain(obj.State).(map[string]any); state["name_or_path"] != "gpt2" {
		t.Errorf("tokenizer state %v", state)
	}
}

func TestBF16Checkpoint(t *testing.T) {
	ck, err := Open(testdata + "lightning_tiny_bf16.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	st, err := safetensors.Open(testdata + "hf_tiny/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sdV, _ := ck.Root.(*pickle.Dict).Get("state_dict")
	sd := sdV.(*pickle.Dict)
	for i, k := range sd.Keys {
		tt := sd.Values[i].(*Tensor)
		if tt.DType != safetensors.BF16 {
			t.Fatalf("%s: dtype %s", k, tt.DType)
		}
		got, err := tt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := st.Get(k.(string))
		w, _ := want.Float32s()
		for j := range got {
			if math.Abs(float64(got[j]-w[j])) > math.Abs(float64(w[j]))/256 {
				t.Fatalf("%s[%d] = %g, want bf16(%g)", k, j, got[j], w[j])
			}
		}
	}
}

// pkl assembles protocol-2 pickles for tests.
type pkl struct{ bytes.Buffer }

func (p *pkl) str(s string) *pkl {
	p.WriteByte('X')
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}

func (p *pkl) int(n int) *pkl {
	p.WriteByte('J')
	binary.Write(&p.Buffer, binary.LittleEndian, int32(n))
	return p
}

func (p *pkl) raw(s string) *pkl { p.WriteString(s); return p }

func (p *pkl) ints(v ...int) *pkl {
	p.raw("(")
	for _, x := range v {
		p.int(x)
	}
	return p.raw("t")
}

// tensor is a _rebuild_tensor_v2 call on storage key of class cls.
type tensor struct {
	key, cls      string
	numel, offset int
	shape, stride []int
}

// dictPickle is the pickle of {"state_dict": {name: tensor}} (names sorted).
func dictPickle(ts map[string]tensor) []byte {
	p := &pkl{}
	p.raw("\x80\x02}").str("state_dict").raw("}(")
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t := ts[n]
		p.str(n).raw("ctorch._utils\n_rebuild_tensor_v2\n(")
		p.raw("(").str("storage").raw("ctorch\n" + t.cls + "\n").str(t.key).str("cpu").int(t.numel).raw("tQ")
		p.int(t.offset).ints(t.shape...).ints(t.stride...).raw("\x89ccollections\nOrderedDict\n)RtR")
	}
	return p.raw("us.").Bytes()
}

// archive zips entries under the directory "archive/".
func archive(t testing.TB, entries map[string][]byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f, err := w.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(entries[n])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func TestViews(t *testing.T) {
	// A 2x2 view at offset 1 of a 6-element storage, its transpose, and a
	// size-1 dim with an arbitrary stride.
	data := archive(t, map[string][]byte{
		"archive/data.pkl": dictPickle(map[string]tensor{
			"a": {"0", "FloatStorage", 6, 1, []int{2, 2}, []int{2, 1}},
			"b": {"0", "FloatStorage", 6, 0, []int{2, 2}, []int{1, 2}},
			"c": {"0", "FloatStorage", 6, 2, []int{1, 3}, []int{99, 1}},
		}),
		"archive/data/0":  f32bytes(0, 1, 2, 3, 4, 5),
		"archive/version": []byte("3\n"),
	})
	ck, err := Read(data, "views.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	sdV, _ := ck.Root.(*pickle.Dict).Get("state_dict")
	get := func(n string) *Tensor { v, _ := sdV.(*pickle.Dict).Get(n); return v.(*Tensor) }
	if v, err := get("a").Float32s(); err != nil || !slices.Equal(v, []float32{1, 2, 3, 4}) {
		t.Errorf("a = %v, %v", v, err)
	}
	if v, err := get("c").Float32s(); err != nil || !slices.Equal(v, []float32{2, 3, 4}) {
		t.Errorf("c = %v, %v", v, err)
	}
	if _, err := get("b").Float32s(); err == nil || !strings.Contains(err.Error(), "non-contiguous") {
		t.Errorf("b: %v", err)
	}
}

func TestErrors(t *testing.T) {
	ok := map[string]tensor{"w": {"0", "FloatStorage", 4, 0, []int{4}, []int{1}}}
	store := f32bytes(1, 2, 3, 4)
	cases := []struct {
		name    string
		entries map[string][]byte
		want    string
	}{
		{"no data.pkl", map[string][]byte{"archive/x": nil}, "no <name>/data.pkl"},
		{"missing storage", map[string][]byte{"archive/data.pkl": dictPickle(ok)}, "archive/data/0 is missing"},
		{"storage size", map[string][]byte{"archive/data.pkl": dictPickle(ok), "archive/data/0": store[:12]}, "need 16 bytes"},
		{"view past the storage", map[string][]byte{"archive/data.pkl": dictPickle(map[string]tensor{
			"w": {"0", "FloatStorage", 4, 2, []int{3}, []int{1}}}), "archive/data/0": store}, "does not fit"},
		{"rank mismatch", map[string][]byte{"archive/data.pkl": dictPickle(map[string]tensor{
			"w": {"0", "FloatStorage", 4, 0, []int{4}, []int{1, 1}}}), "archive/data/0": store}, "differ in rank"},
		{"unknown storage type", map[string][]byte{"archive/data.pkl": dictPickle(map[string]tensor{
			"w": {"0", "ComplexFloatStorage", 4, 0, []int{4}, []int{1}}}), "archive/data/0": store}, "unsupported type"},
		{"big endian", map[string][]byte{"archive/data.pkl": dictPickle(ok), "archive/data/0": store,
			"archive/byteorder": []byte("big")}, "little-endian"},
		{"truncated pickle", map[string][]byte{"archive/data.pkl": dictPickle(ok)[:40], "archive/data/0": store}, "data.pkl"},
		{"bad persistent id", map[string][]byte{"archive/data.pkl": []byte("\x80\x02K\x01Q.")}, "persistent id"},
	}
	for _, c := range cases {
		_, err := Read(archive(t, c.entries), "bad.ckpt")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "bad.ckpt: ") {
			t.Errorf("%s: error %v, want one naming bad.ckpt and containing %q", c.name, err, c.want)
		}
	}

	// Files that are not zip archives, and the non-contiguous golden tensor.
	dir := t.TempDir()
	for name, content := range map[string]string{
		"legacy.pt": "\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.", // the magic number of the pre-1.6 format
		"empty.pt":  "",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "not a zip archive") || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing.ckpt")); err == nil {
		t.Error("missing file: no error")
	}
	ck, err := Open(testdata + "lightning_bad.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	sdV, _ := ck.Root.(*pickle.Dict).Get("state_dict")
	e, _ := sdV.(*pickle.Dict).Get("backbone.blocks.0.attn_out.weight")
	if _, err := e.(*Tensor).Float32s(); err == nil || !strings.Contains(err.Error(), "non-contiguous") {
		t.Errorf("transposed tensor: %v", err)
	}
}

// FuzzDataPickle feeds arbitrary data.pkl contents, next to a valid
// storage, through the checkpoint decoder: errors are fine, panics not.
func FuzzDataPickle(f *testing.F) {
	f.Add(dictPickle(map[string]tensor{"w": {"0", "FloatStorage", 4, 0, []int{2, 2}, []int{2, 1}}}))
	f.Add(dictPickle(map[string]tensor{"w": {"0", "HalfStorage", 8, 2, []int{2, 3}, []int{3, 1}}}))
	f.Add([]byte("\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n(ctorch._utils\n_rebuild_parameter\nctorch\nTensor\n)}tR."))
	store := f32bytes(1, 2, 3, 4)
	f.Fuzz(func(t *testing.T, pk []byte) {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		for name, b := range map[string][]byte{"a/data.pkl": pk, "a/data/0": store} {
			fw, _ := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			fw.Write(b)
		}
		w.Close()
		ck, err := Read(buf.Bytes(), "fuzz")
		if err != nil {
			return
		}
		var walk func(v any, depth int)
		walk = func(v any, depth int) {
			if depth > 10 {
				return
			}
			switch x := v.(type) {
			case *Tensor:
				x.Float32s()
			case *pickle.Dict:
				for _, y := range x.Values {
					walk(y, depth+1)
				}
			case *pickle.List:
				for _, y := range x.Items {
					walk(y, depth+1)
				}
			case pickle.Tuple:
				for _, y := range x {
					walk(y, depth+1)
				}
			}
		}
		walk(ck.Root, 0)
		Plain(ck.Root)
		_ = fmt.Sprint(Describe(ck.Root))
	})
}

// A storage entry whose header claims more bytes than the file holds is
// refused before anything of that size is allocated.
func TestLyingEntrySize(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	fw, _ := w.CreateHeader(&zip.FileHeader{Name: "a/data.pkl", Method: zip.Store})
	fw.Write(dictPickle(map[string]tensor{"w": {"0", "FloatStorage", 1 << 30, 0, []int{1 << 30}, []int{1}}}))
	raw, err := w.CreateRaw(&zip.FileHeader{Name: "a/data/0", Method: zip.Store, CompressedSize64: 4 << 30, UncompressedSize64: 4 << 30})
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(make([]byte, 16))
	w.Close()
	if _, err := Read(buf.Bytes(), "lie.ckpt"); err == nil || !strings.Contains(err.Error(), "more than the archive holds") {
		t.Errorf("error %v", err)
	}
}
