// Package torchckpt reads files written by torch.save (the zip format of
// PyTorch 1.6 and later), such as PyTorch Lightning .ckpt checkpoints,
// without Python.
//
// The archive holds <name>/data.pkl, a pickle of the saved object, and one
// entry <name>/data/<key> per tensor storage (raw little-endian elements).
// The pickle is decoded by package pickle with an allow-list: only the
// PyTorch tensor rebuild functions and collections.OrderedDict (besides the
// pure builtins package pickle itself interprets) are interpreted; every other callable it names (optimiser
// classes, configuration objects, tokenizers...) becomes an inert
// *pickle.Object and is never run. Tensors are read lazily: opening a
// checkpoint reads only data.pkl, and [Tensor.Float32s] reads one tensor's
// bytes from its storage entry.
package torchckpt

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/duo-go/duo/internal/pickle"
	"github.com/duo-go/duo/internal/safetensors"
)

// maxPickle bounds data.pkl, which holds structure only (tensor data lives
// in separate entries); real checkpoints' are a few MB at most.
const maxPickle = 256 << 20

// Checkpoint is an open torch.save archive.
type Checkpoint struct {
	// Root is the saved object (for a Lightning checkpoint a *pickle.Dict
	// with "state_dict", "ema", "hyper_parameters" and so on).
	Root any

	path     string
	size     int64 // of the archive, bounding what stored entries can hold
	closer   io.Closer
	prefix   string // the archive's top-level directory, with a trailing slash
	entries  map[string]*zip.File
	storages map[string]*storage
}

// storage is one tensor storage: an archive entry of numel elements.
type storage struct {
	key   string
	dtype safetensors.DType
	numel int
	file  *zip.File
}

// Tensor is a tensor of the checkpoint: a view (offset, shape, stride, in
// elements) of a storage. Its data is read by Float32s.
type Tensor struct {
	DType  safetensors.DType
	Shape  []int
	Stride []int
	Offset int

	storage *storage
	ckpt    *Checkpoint
}

// storageTypes maps the torch storage classes named in persistent ids to
// element types.
var storageTypes = map[string]safetensors.DType{
	"FloatStorage":    safetensors.F32,
	"HalfStorage":     safetensors.F16,
	"BFloat16Storage": safetensors.BF16,
	"DoubleStorage":   safetensors.F64,
	"LongStorage":     safetensors.I64,
	"IntStorage":      safetensors.I32,
	"ShortStorage":    safetensors.I16,
	"CharStorage":     safetensors.I8,
	"ByteStorage":     safetensors.U8,
	"BoolStorage":     safetensors.Bool,
}

// Open reads the archive at path and decodes its pickle. Errors name the
// file and the problem.
func Open(filePath string) (*Checkpoint, error) {
	zr, err := zip.OpenReader(filePath)
	if err != nil {
		if errors.Is(err, zip.ErrFormat) {
			return nil, fmt.Errorf("%s: not a zip archive (only the zip format of torch.save, PyTorch >= 1.6, is supported): %w", filePath, err)
		}
		return nil, err
	}
	var size int64
	if fi, err := os.Stat(filePath); err == nil {
		size = fi.Size()
	}
	c, err := open(filePath, &zr.Reader, size)
	if err != nil {
		zr.Close()
		return nil, fmt.Errorf("%s: %w", filePath, err)
	}
	c.closer = zr
	return c, nil
}

// Read reads a torch.save archive held in memory; name labels errors.
func Read(data []byte, name string) (*Checkpoint, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a zip archive (only the zip format of torch.save, PyTorch >= 1.6, is supported): %w", name, err)
	}
	c, err := open(name, zr, int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

func open(filePath string, zr *zip.Reader, size int64) (*Checkpoint, error) {
	c := &Checkpoint{path: filePath, size: size, entries: map[string]*zip.File{}, storages: map[string]*storage{}}
	var pkl *zip.File
	for _, f := range zr.File {
		if _, dup := c.entries[f.Name]; dup {
			return nil, fmt.Errorf("duplicate archive entry %q", f.Name)
		}
		c.entries[f.Name] = f
		dir, base := path.Split(f.Name)
		if base == "data.pkl" && strings.Count(dir, "/") == 1 {
			if pkl != nil {
				return nil, fmt.Errorf("two data.pkl entries (%s, %s)", pkl.Name, f.Name)
			}
			pkl = f
			c.prefix = dir
		}
	}
	if pkl == nil {
		return nil, errors.New("no <name>/data.pkl entry: not a torch.save archive")
	}
	if f, ok := c.entries[c.prefix+"byteorder"]; ok {
		b, err := readAll(f, 16)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("byteorder %q: only little-endian checkpoints are supported", s)
		}
	}
	raw, err := readAll(pkl, maxPickle)
	if err != nil {
		return nil, err
	}
	d := &pickle.Decoder{Persistent: c.persistent, Call: c.call}
	root, err := d.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	c.Root = root
	return c, nil
}

// readAll reads a whole archive entry of at most limit bytes.
func readAll(f *zip.File, limit uint64) ([]byte, error) {
	if f.UncompressedSize64 > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", f.Name, f.UncompressedSize64, limit)
	}
	r, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer r.Close()
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}

// Close closes the archive file; tensors can no longer be read.
func (c *Checkpoint) Close() error {
	if c.closer == nil {
		return nil
	}
	return c.closer.Close()
}

// Path returns the file the checkpoint was opened from.
func (c *Checkpoint) Path() string { return c.path }

// persistent resolves ('storage', torch.<T>Storage, key, location, numel).
func (c *Checkpoint) persistent(pid any) (any, error) {
	t, ok := pid.(pickle.Tuple)
	if !ok || len(t) != 5 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id %s is not ('storage', type, key, location, numel)", describe(pid))
	}
	g, ok := t[1].(pickle.Global)
	key, ok2 := t[2].(string)
	numel, ok3 := t[4].(int64)
	if !ok || !ok2 || !ok3 {
		return nil, fmt.Errorf("persistent id %s is not ('storage', type, key, location, numel)", describe(pid))
	}
	dtype, known := storageTypes[g.Name]
	if g.Module != "torch" || !known {
		return nil, fmt.Errorf("storage %q has unsupported type %s", key, g)
	}
	if s, ok := c.storages[key]; ok {
		if s.dtype != dtype || int64(s.numel) != numel {
			return nil, fmt.Errorf("storage %q is referenced as %s x %d and as %s x %d", key, s.dtype, s.numel, dtype, numel)
		}
		return s, nil
	}
	name := c.prefix + "data/" + key
	f, ok := c.entries[name]
	if !ok {
		return nil, fmt.Errorf("storage %q: archive entry %s is missing", key, name)
	}
	if numel < 0 || numel > 1<<56 || uint64(numel) > f.UncompressedSize64 || uint64(numel)*uint64(dtype.Size()) != f.UncompressedSize64 {
		return nil, fmt.Errorf("storage %q: %d elements of %s need %d bytes but %s has %d", key, numel, dtype,
			numel*int64(dtype.Size()), name, f.UncompressedSize64)
	}
	if f.Method == zip.Store && (f.CompressedSize64 != f.UncompressedSize64 || f.UncompressedSize64 > uint64(c.size)) {
		return nil, fmt.Errorf("storage %q: archive entry %s claims %d bytes, more than the archive holds", key, name, f.UncompressedSize64)
	}
	s := &storage{key: key, dtype: dtype, numel: int(numel), file: f}
	c.storages[key] = s
	return s, nil
}

// call interprets the allow-listed callables.
func (c *Checkpoint) call(fn pickle.Global, args pickle.Tuple) (any, bool, error) {
	switch fn.String() {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		t, err := c.rebuildTensor(args)
		return t, true, err
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(args) < 1 {
			return nil, true, errors.New("no arguments")
		}
		if _, ok := args[0].(*Tensor); !ok {
			return nil, true, fmt.Errorf("data is %s, not a tensor", describe(args[0]))
		}
		return args[0], true, nil
	case "torch._tensor._rebuild_from_type_v2":
		// (func, type, args, state): a tensor subclass or a tensor with
		// Python attributes. Only plain tensors and parameters are rebuilt.
		if len(args) != 4 {
			return nil, false, nil
		}
		f, ok1 := args[0].(pickle.Global)
		typ, ok2 := args[1].(pickle.Global)
		inner, ok3 := args[2].(pickle.Tuple)
		if !ok1 || !ok2 || !ok3 || (typ.String() != "torch.Tensor" && typ.String() != "torch.nn.parameter.Parameter") {
			return nil, false, nil
		}
		return c.call(f, inner)
	case "collections.OrderedDict":
		if len(args) == 0 {
			return &pickle.Dict{}, true, nil
		}
		return nil, false, nil
	}
	return nil, false, nil
}

// rebuildTensor checks (storage, offset, size, stride, ...) and returns the
// tensor it describes.
func (c *Checkpoint) rebuildTensor(args pickle.Tuple) (*Tensor, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("%d arguments, want at least 4", len(args))
	}
	s, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("storage argument is %s", describe(args[0]))
	}
	off, ok := args[1].(int64)
	if !ok {
		return nil, fmt.Errorf("storage offset is %s", describe(args[1]))
	}
	shape, err := ints(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := ints(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("size %v and stride %v differ in rank", shape, stride)
	}
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > (1<<62)/d) {
			return nil, fmt.Errorf("invalid size %v", shape)
		}
		n *= d
	}
	if off < 0 || off > int64(s.numel) || int64(n) > int64(s.numel)-off {
		return nil, fmt.Errorf("tensor of size %v at offset %d does not fit storage %q of %d elements", shape, off, s.key, s.numel)
	}
	return &Tensor{DType: s.dtype, Shape: shape, Stride: stride, Offset: int(off), storage: s, ckpt: c}, nil
}

// ints converts a tuple of Python ints (a torch.Size or stride) to []int.
func ints(v any, what string) ([]int, error) {
	t, ok := v.(pickle.Tuple)
	if !ok {
		return nil, fmt.Errorf("%s is %s, not a tuple", what, describe(v))
	}
	out := make([]int, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 || n > 1<<40 {
			return nil, fmt.Errorf("%s %v has an invalid entry", what, t)
		}
		out[i] = int(n)
	}
	return out, nil
}

// Contiguous reports whether the tensor's stride is the row-major one
// (dims of size 1 may have any stride).
func (t *Tensor) Contiguous() bool {
	want := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] != 1 && t.Stride[i] != want {
			return false
		}
		want *= t.Shape[i]
	}
	return true
}

// NumElements returns the product of the shape.
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes reads the tensor's elements (raw little-endian, row-major). Only
// contiguous tensors are supported.
func (t *Tensor) Bytes() ([]byte, error) {
	if !t.Contiguous() {
		return nil, fmt.Errorf("%s: tensor of size %v has non-contiguous stride %v (unsupported)", t.ckpt.path, t.Shape, t.Stride)
	}
	es := t.DType.Size()
	n := t.NumElements()
	f := t.storage.file
	r, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", t.ckpt.path, f.Name, err)
	}
	defer r.Close()
	if _, err := io.CopyN(io.Discard, r, int64(t.Offset*es)); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", t.ckpt.path, f.Name, err)
	}
	var b []byte
	if f.Method == zip.Store { // size checked against the archive's by persistent
		b = make([]byte, n*es)
		_, err = io.ReadFull(r, b)
	} else { // a compressed entry's size is unchecked: grow with the data
		b, err = io.ReadAll(io.LimitReader(r, int64(n*es)))
		if err == nil && len(b) != n*es {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", t.ckpt.path, f.Name, err)
	}
	return b, nil
}

// Float32s reads a floating-point tensor (F32, F16, BF16 or F64) as
// float32, row-major.
func (t *Tensor) Float32s() ([]float32, error) {
	b, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	st := safetensors.Tensor{Name: "storage " + t.storage.key, DType: t.DType, Shape: slices.Clone(t.Shape), Data: b}
	v, err := st.Float32s()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.ckpt.path, err)
	}
	return v, nil
}

// describe names a decoded value's type for messages.
func describe(v any) string {
	switch v.(type) {
	case *Tensor:
		return "tensor"
	case *storage:
		return "storage"
	}
	return pickle.TypeName(v)
}

// Describe names the Python type of a value of Root, for error messages.
func Describe(v any) string { return describe(v) }
