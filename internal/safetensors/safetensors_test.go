package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// raw builds a file from a header string and a data section by hand.
func raw(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func encode(t testing.TB, tensors []Tensor, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sameTensors reports the first difference between two tensor lists.
func sameTensors(t testing.TB, got, want []Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("tensor %d: got %s %s %v %x, want %s %s %v %x", i, g.Name, g.DType, g.Shape, g.Data, w.Name, w.DType, w.Shape, w.Data)
		}
	}
}

func testTensors() []Tensor {
	return []Tensor{
		NewF32("wte", []int{2, 3}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), 1e-30}),
		NewI64("step", nil, []int64{-7}), // scalar
		NewF32("empty", []int{0, 4}, nil),
		{Name: "bf", DType: BF16, Shape: []int{3}, Data: []byte{0x80, 0x3f, 0x00, 0xc0, 0x49, 0x40}},
		{Name: "h", DType: F16, Shape: []int{1, 2}, Data: []byte{0x00, 0x3c, 0x01, 0x00}},
		{Name: "d", DType: F64, Shape: []int{1}, Data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.1))},
		{Name: "i32", DType: I32, Shape: []int{2}, Data: []byte{0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0}},
		{Name: "i16", DType: I16, Shape: []int{1}, Data: []byte{0x00, 0x80}},
		{Name: "i8", DType: I8, Shape: []int{2}, Data: []byte{0x80, 0x7f}},
		{Name: "u8", DType: U8, Shape: []int{2, 1, 1}, Data: []byte{0xff, 1}},
		{Name: "mask", DType: Bool, Shape: []int{3}, Data: []byte{1, 0, 1}},
		NewF32("ünïcode \"name\" <&>", []int{1}, []float32{2}),
	}
}

func TestRoundTrip(t *testing.T) {
	want := testTensors()
	meta := map[string]string{"step": "1000", "format": "pt"}
	data := encode(t, want, meta)
	if n := binary.LittleEndian.Uint64(data); n%8 != 0 || data[8+n-1] != ' ' && data[8+n-1] != '}' {
		t.Fatalf("header length %d not padded", n)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sameTensors(t, f.Tensors, want) // Encode lays data out in order, so offset order == given order
	if len(f.Metadata) != 2 || f.Metadata["step"] != "1000" || f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	if !slices.Equal(f.Names(), []string{"wte", "step", "empty", "bf", "h", "d", "i32", "i16", "i8", "u8", "mask", "ünïcode \"name\" <&>"}) {
		t.Errorf("names %q", f.Names())
	}
	if x, ok := f.Get("step"); !ok || x.NumElements() != 1 || len(x.Shape) != 0 || x.Shape == nil {
		t.Errorf("Get(step) = %+v, %v", x, ok)
	}
	if x, ok := f.Get("empty"); !ok || x.NumElements() != 0 || len(x.Data) != 0 {
		t.Errorf("Get(empty) = %+v, %v", x, ok)
	}
	if _, ok := f.Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
	for _, x := range f.Tensors {
		if cap(x.Data) != len(x.Data) {
			t.Errorf("%s: cap %d > len %d: appends would clobber the neighbour", x.Name, cap(x.Data), len(x.Data))
		}
	}
	// No metadata: the key is omitted and Metadata stays nil.
	g, err := Parse(encode(t, want[:1], nil))
	if err != nil || g.Metadata != nil {
		t.Fatalf("no-metadata parse: %v, %v", err, g)
	}
}

func TestConversions(t *testing.T) {
	f, err := Parse(encode(t, testTensors(), nil))
	if err != nil {
		t.Fatal(err)
	}
	floats := []struct {
		name string
		want []float32
	}{
		{"wte", []float32{1, -2, 3.5, 0, float32(math.Inf(1)), 1e-30}},
		{"bf", []float32{1, -2, 3.140625}},
		{"h", []float32{1, 0x1p-24}},
		{"d", []float32{0.1}},
		{"empty", []float32{}},
	}
	for _, c := range floats {
		x, _ := f.Get(c.name)
		got, err := x.Float32s()
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s.Float32s() = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	ints := []struct {
		name string
		want []int64
	}{
		{"step", []int64{-7}},
		{"i32", []int64{-1, 5}},
		{"i16", []int64{-32768}},
		{"i8", []int64{-128, 127}},
		{"u8", []int64{255, 1}},
	}
	for _, c := range ints {
		x, _ := f.Get(c.name)
		got, err := x.Int64s()
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s.Int64s() = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	for _, name := range []string{"step", "mask", "u8"} {
		x, _ := f.Get(name)
		if _, err := x.Float32s(); err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("%s.Float32s() error %v, want one naming the tensor", name, err)
		}
	}
	for _, name := range []string{"wte", "mask", "bf"} {
		x, _ := f.Get(name)
		if _, err := x.Int64s(); err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("%s.Int64s() error %v, want one naming the tensor", name, err)
		}
	}
	bad := Tensor{Name: "short", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}
	if _, err := bad.Float32s(); err == nil || !strings.Contains(err.Error(), `"short"`) {
		t.Errorf("short Data: error %v", err)
	}
}

func TestF16(t *testing.T) {
	cases := []struct {
		h    uint16
		want uint32 // float32 bits
	}{
		{0x0000, 0x00000000},           // +0
		{0x8000, 0x80000000},           // -0
		{0x3c00, math.Float32bits(1)},  // 1
		{0xc000, math.Float32bits(-2)}, // -2
		{0x3555, math.Float32bits(0.333251953125)},
		{0x7bff, math.Float32bits(65504)},     // max finite
		{0x0400, math.Float32bits(0x1p-14)},   // min normal
		{0x03ff, math.Float32bits(0x3ffp-24)}, // max subnormal
		{0x0001, math.Float32bits(0x1p-24)},   // min subnormal
		{0x8001, math.Float32bits(-0x1p-24)},  // negative subnormal
		{0x0155, math.Float32bits(0x155p-24)}, // subnormal
		{0x7c00, 0x7f800000},                  // +inf
		{0xfc00, 0xff800000},                  // -inf
		{0x7e00, 0x7fc00000},                  // quiet NaN
		{0x7c01, 0x7f802000},                  // signalling NaN, payload kept
		{0xfe01, 0xffc02000},                  // negative NaN with payload
	}
	for _, c := range cases {
		if got := math.Float32bits(f16ToF32(c.h)); got != c.want {
			t.Errorf("f16 %#04x -> %#08x, want %#08x", c.h, got, c.want)
		}
	}
	// Exhaustive check against float64 arithmetic: sign * mant * 2^(exp-25).
	for h := range 1 << 16 {
		exp, mant := h>>10&0x1f, h&0x3ff
		got := f16ToF32(uint16(h))
		if exp == 0x1f {
			if (mant == 0) != math.IsInf(float64(got), 0) || (mant != 0) != math.IsNaN(float64(got)) {
				t.Fatalf("f16 %#04x -> %v", h, got)
			}
			continue
		}
		want := math.Ldexp(float64(mant), -24)
		if exp != 0 {
			want = math.Ldexp(float64(mant|0x400), exp-25)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if math.Float32bits(got) != math.Float32bits(float32(want)) {
			t.Fatalf("f16 %#04x -> %v, want %v", h, got, want)
		}
	}
}

func TestBF16(t *testing.T) {
	cases := []struct {
		h    uint16
		want uint32
	}{
		{0x0000, 0x00000000},
		{0x8000, 0x80000000},
		{0x3f80, math.Float32bits(1)},
		{0xc000, math.Float32bits(-2)},
		{0x4049, math.Float32bits(3.140625)},
		{0x0001, 0x00010000}, // subnormal
		{0x0080, math.Float32bits(0x1p-126)},
		{0x7f7f, math.Float32bits(0x1.fep127)},
		{0x7f80, 0x7f800000},
		{0xff80, 0xff800000},
		{0x7fc0, 0x7fc00000},
		{0x7f81, 0x7f810000}, // signalling NaN, payload kept
	}
	for _, c := range cases {
		if got := math.Float32bits(bf16ToF32(c.h)); got != c.want {
			t.Errorf("bf16 %#04x -> %#08x, want %#08x", c.h, got, c.want)
		}
	}
}

// TestEncodeGolden pins the exact bytes: sorted keys, space padding, data in
// the given order.
func TestEncodeGolden(t *testing.T) {
	got := encode(t, []Tensor{NewF32("b", []int{2}, []float32{1, 2}), NewI64("a", nil, []int64{7})}, map[string]string{"k": "v"})
	js := `{"__metadata__":{"k":"v"},"a":{"dtype":"I64","shape":[],"data_offsets":[8,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	js += strings.Repeat(" ", (8-len(js)%8)%8)
	want := raw(js, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 7, 0, 0, 0, 0, 0, 0, 0})
	if !bytes.Equal(got, want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestEncodeRejects(t *testing.T) {
	cases := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    string
	}{
		{"duplicate", []Tensor{NewF32("w", nil, []float32{1}), NewF32("w", nil, []float32{2})}, nil, `"w": duplicate`},
		{"short data", []Tensor{{Name: "w", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}, nil, `"w": data is 4 bytes, want 8`},
		{"long data", []Tensor{NewF32("w", []int{1}, []float32{1, 2})}, nil, `"w": data is 8 bytes, want 4`},
		{"unknown dtype", []Tensor{{Name: "w", DType: "F8", Data: []byte{1}}}, nil, `"w": unknown dtype`},
		{"negative dim", []Tensor{{Name: "w", DType: U8, Shape: []int{-1}}}, nil, `"w": invalid shape`},
		{"overflow", []Tensor{{Name: "w", DType: U8, Shape: []int{math.MaxInt, 2}}}, nil, `"w": invalid shape`},
		{"reserved", []Tensor{NewF32("__metadata__", nil, []float32{1})}, nil, "reserved"},
		{"bad utf8", []Tensor{NewF32("w\xff", nil, []float32{1})}, nil, "UTF-8"},
		{"bad meta", nil, map[string]string{"k": "\xff"}, "__metadata__"},
	}
	for _, c := range cases {
		err := Encode(&bytes.Buffer{}, c.tensors, c.meta)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestParseLenient(t *testing.T) {
	// Header out of offset order, a gap and trailing bytes, extra padding.
	h := `{"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}, "a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}    `
	f, err := Parse(raw(h, []byte{0, 'a', 0, 0, 0, 0, 'b', 'b', 0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, f.Tensors, []Tensor{
		{Name: "a", DType: U8, Shape: []int{1}, Data: []byte("a")},
		{Name: "b", DType: U8, Shape: []int{2}, Data: []byte("bb")},
	})
	// Empty tensors may share an offset with each other and with a neighbour's edge.
	h = `{"z2":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},` +
		`"z1":{"dtype":"F32","shape":[3,0],"data_offsets":[4,4]},"z0":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`
	if f, err = Parse(raw(h, make([]byte, 4))); err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !slices.Equal(got, []string{"z0", "x", "z1", "z2"}) {
		t.Errorf("order %q", got)
	}
	if f, err = Parse(raw(`{}`, nil)); err != nil || len(f.Tensors) != 0 {
		t.Errorf("empty file: %v, %v", f, err)
	}
}

func TestParseRejects(t *testing.T) {
	// entry formats one tensor's header entry.
	entry := func(name, body string) string { return `"` + name + `":{` + body + `}` }
	one := func(body string) []byte { return raw("{"+entry("w", body)+"}", make([]byte, 16)) }
	ok := `"dtype":"F32","shape":[2],"data_offsets":[0,8]`
	huge := binary.LittleEndian.AppendUint64(nil, 1<<62)
	overflow := "overflow"
	if math.MaxInt == math.MaxInt32 {
		overflow = "not an array of integers" // on 32-bit these dims do not even fit in an int
	}
	cases := []struct {
		name string
		data []byte
		want []string // substrings of the error
	}{
		{"empty", nil, []string{"0 bytes", "shorter"}},
		{"short", []byte{1, 2, 3}, []string{"3 bytes", "shorter"}},
		{"header past end", raw(`{}`, nil)[:9], []string{"header length 2", "past the end"}},
		{"absurd header", append(huge, "{}"...), []string{"header length 4611686018427387904", "limit"}},
		{"zero header", raw(``, nil), []string{"header", "not a JSON object"}},
		{"not utf8", raw("{\"w\xff\":{}}", nil), []string{"header", "UTF-8"}},
		{"malformed", raw(`{"w":{"dtype":"F32",`, nil), []string{"header", "malformed"}},
		{"unterminated", raw(`{"w":{}`, nil), []string{"header", "malformed"}},
		{"array header", raw(`[1,2]`, nil), []string{"header", "not a JSON object"}},
		{"trailing", raw(`{} {}`, nil), []string{"header", "trailing"}},
		{"bad key", raw(`{1:2}`, nil), []string{"header", "malformed"}},
		{"entry not object", raw(`{"w":[1]}`, nil), []string{`"w"`, "not a JSON object"}},
		{"entry null", raw(`{"w":null}`, nil), []string{`"w"`, "not a JSON object"}},
		{"missing dtype", one(`"shape":[2],"data_offsets":[0,8]`), []string{`"w"`, "missing dtype"}},
		{"missing shape", one(`"dtype":"F32","data_offsets":[0,8]`), []string{`"w"`, "missing shape"}},
		{"missing offsets", one(`"dtype":"F32","shape":[2]`), []string{`"w"`, "missing data_offsets"}},
		{"dtype number", one(`"dtype":5,"shape":[2],"data_offsets":[0,8]`), []string{`"w"`, "dtype 5 is not a string"}},
		{"dtype null", one(`"dtype":null,"shape":[2],"data_offsets":[0,8]`), []string{`"w"`, "dtype null"}},
		{"shape string", one(`"dtype":"F32","shape":"2","data_offsets":[0,8]`), []string{`"w"`, "shape"}},
		{"shape null", one(`"dtype":"F32","shape":null,"data_offsets":[0,8]`), []string{`"w"`, "shape null"}},
		{"shape float", one(`"dtype":"F32","shape":[2.5],"data_offsets":[0,8]`), []string{`"w"`, "shape [2.5]"}},
		{"shape too big", one(`"dtype":"F32","shape":[1e30],"data_offsets":[0,8]`), []string{`"w"`, "shape"}},
		{"offsets object", one(`"dtype":"F32","shape":[2],"data_offsets":{}`), []string{`"w"`, "data_offsets"}},
		{"unknown field", one(ok + `,"extra":1`), []string{`"w"`, `unknown field "extra"`}},
		{"duplicate field", one(ok + `,"dtype":"I64"`), []string{`"w"`, `duplicate key "dtype"`}},
		{"unknown dtype", one(`"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,8]`), []string{`"w"`, `unknown dtype "F8_E4M3"`}},
		{"empty dtype", one(`"dtype":"","shape":[2],"data_offsets":[0,8]`), []string{`"w"`, `unknown dtype ""`}},
		{"negative dim", one(`"dtype":"F32","shape":[-2],"data_offsets":[0,8]`), []string{`"w"`, "negative dim"}},
		{"negative dims", one(`"dtype":"F32","shape":[-2,-4],"data_offsets":[0,32]`), []string{`"w"`, "negative dim"}},
		{"overflow", one(`"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]`), []string{`"w"`, overflow}},
		{"overflow then zero", one(`"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]`), []string{`"w"`, overflow}},
		{"bytes overflow", one(`"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]`), []string{`"w"`, overflow}},
		{"one offset", one(`"dtype":"F32","shape":[2],"data_offsets":[8]`), []string{`"w"`, "data_offsets [8]"}},
		{"three offsets", one(`"dtype":"F32","shape":[2],"data_offsets":[0,8,8]`), []string{`"w"`, "data_offsets [0 8 8]"}},
		{"reversed", one(`"dtype":"F32","shape":[0],"data_offsets":[8,4]`), []string{`"w"`, "begin <= end"}},
		{"negative offset", one(`"dtype":"F32","shape":[2],"data_offsets":[-8,0]`), []string{`"w"`, "0 <= begin"}},
		{"end past data", one(`"dtype":"F32","shape":[2],"data_offsets":[12,20]`), []string{`"w"`, "beyond the 16-byte data section"}},
		{"size mismatch", one(`"dtype":"F32","shape":[3],"data_offsets":[0,8]`), []string{`"w"`, "span 8 bytes, want 12"}},
		{"size mismatch dtype", one(`"dtype":"F64","shape":[2],"data_offsets":[0,8]`), []string{`"w"`, "want 16"}},
		{"scalar size", one(`"dtype":"F32","shape":[],"data_offsets":[0,0]`), []string{`"w"`, "want 4"}},
		{"overlap", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
			[]string{`"b"`, `overlap tensor "a"`}},
		{"identical ranges", raw(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)),
			[]string{`"b"`, `overlap tensor "a"`}},
		{"empty inside", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}`, make([]byte, 8)),
			[]string{`"e"`, `overlap tensor "a"`}},
		{"duplicate tensor", raw("{"+entry("w", ok)+","+entry("w", ok)+"}", make([]byte, 8)), []string{`"w"`, "duplicate"}},
		{"duplicate escaped", raw("{"+entry("w", ok)+","+entry(`\u0077`, ok)+"}", make([]byte, 8)), []string{`"w"`, "duplicate"}},
		{"metadata number", raw(`{"__metadata__":{"k":1}}`, nil), []string{"__metadata__", `"k"`, "not a string"}},
		{"metadata null value", raw(`{"__metadata__":{"k":null}}`, nil), []string{"__metadata__", `"k"`, "not a string"}},
		{"metadata array", raw(`{"__metadata__":["k"]}`, nil), []string{"__metadata__", "not a JSON object"}},
		{"metadata null", raw(`{"__metadata__":null}`, nil), []string{"__metadata__", "not a JSON object"}},
		{"metadata duplicate", raw(`{"__metadata__":{"k":"a","k":"b"}}`, nil), []string{"__metadata__", `duplicate key "k"`}},
		{"metadata twice", raw(`{"__metadata__":{},"__metadata__":{}}`, nil), []string{"header", `duplicate key "__metadata__"`}},
	}
	for _, c := range cases {
		f, err := Parse(c.data)
		if err == nil {
			t.Errorf("%s: Parse accepted it: %+v", c.name, f)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

func TestWriteFileOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	want := testTensors()
	for range 2 { // the second write replaces the first
		if err := WriteFile(path, want, map[string]string{"a": "b"}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, f.Tensors, want)
	if f.Metadata["a"] != "b" {
		t.Errorf("metadata %v", f.Metadata)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
		t.Errorf("dir holds %q", names)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileFails(t *testing.T) {
	dir := t.TempDir()
	ok := testTensors()
	// An invalid tensor fails part-way through encoding: nothing may remain.
	bad := append(slices.Clone(ok), Tensor{Name: "bad", DType: F32, Shape: []int{2}, Data: make([]byte, 3)})
	if err := WriteFile(filepath.Join(dir, "x.safetensors"), bad, nil); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("bad tensor: error %v", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("failed write left %q", names)
	}
	// A nonexistent directory, and a "directory" that is a regular file.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing", "x.safetensors"), filepath.Join(file, "x.safetensors")} {
		if err := WriteFile(p, ok, nil); err == nil {
			t.Errorf("WriteFile(%s) succeeded", p)
		}
	}
	// Renaming onto an existing directory fails after the temp file was written.
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "sub"), ok, nil); err == nil {
		t.Error("WriteFile onto a directory succeeded")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"file", "sub"}) {
		t.Errorf("failed writes left %q", names)
	}
	// A read-only directory (meaningless for root, who may write anyway).
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: skipping the read-only directory case")
		return
	}
	if err := WriteFile(filepath.Join(ro, "x.safetensors"), ok, nil); err == nil {
		t.Error("WriteFile into a read-only directory succeeded")
	}
	if names := dirNames(t, ro); len(names) != 0 {
		t.Errorf("read-only dir holds %q", names)
	}
}

func TestOpenTruncated(t *testing.T) {
	dir := t.TempDir()
	full := encode(t, testTensors(), nil)
	for _, n := range []int{0, 5, 8, 20, len(full) - 1} {
		path := filepath.Join(dir, "cut.safetensors")
		if err := os.WriteFile(path, full[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if f, err := Open(path); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("Open of %d-byte prefix: %v, %v", n, f, err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Open(missing): %v", err)
	}
}
