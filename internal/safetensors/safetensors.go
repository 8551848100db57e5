// Package safetensors reads and writes the safetensors checkpoint format.
//
// A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// describing every tensor, then the raw little-endian tensor bytes:
//
//	{"wte": {"dtype": "F32", "shape": [50257, 768], "data_offsets": [0, 154389504]},
//	 "__metadata__": {"step": "1000"}}
//
// data_offsets are [begin, end) byte offsets relative to the first byte after
// the header. Parse validates everything up front, so a *File it returns is
// internally consistent: every tensor's bytes lie inside the data section,
// match its dtype and shape, and overlap no other tensor's.
package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// DType is a tensor element type, spelled as in the safetensors header.
type DType string

// The element types this package understands.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	F64  DType = "F64"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the number of bytes per element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// Tensor is one named tensor. Data holds its elements as raw little-endian
// bytes in row-major order. Tensors returned by Parse and Open alias the
// underlying buffer or mapping: treat Data as read-only.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// numElements returns the product of shape (1 for a scalar), or false if a
// dim is negative or the product overflows int.
func numElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// NumElements returns the number of elements implied by Shape (1 for a
// scalar), or -1 if Shape has a negative dim or its product overflows int.
func (t *Tensor) NumElements() int {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// check reports whether len(t.Data) matches DType and Shape.
func (t *Tensor) check() error {
	size := t.DType.Size()
	if size == 0 {
		return fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
	}
	n, ok := numElements(t.Shape)
	if !ok || n > math.MaxInt/size {
		return fmt.Errorf("safetensors: tensor %q: invalid shape %v", t.Name, t.Shape)
	}
	if len(t.Data) != n*size {
		return fmt.Errorf("safetensors: tensor %q: data is %d bytes, want %d (%s x %v)", t.Name, len(t.Data), n*size, t.DType, t.Shape)
	}
	return nil
}

// Float32s converts an F32, F16, BF16 or F64 tensor to a new []float32.
// F16 and BF16 convert exactly; F64 rounds to nearest.
func (t *Tensor) Float32s() ([]float32, error) {
	n := t.NumElements()
	if n < 0 || t.DType.Size() == 0 || len(t.Data) != n*t.DType.Size() {
		n = 0 // DecodeFloat32 reports the problem
	}
	out := make([]float32, n)
	if err := t.DecodeFloat32(out); err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeFloat32 converts an F32, F16, BF16 or F64 tensor into out, which
// must have exactly one slot per element (no temporary copy is made).
func (t *Tensor) DecodeFloat32(out []float32) error {
	if t.DType != F32 && t.DType != F16 && t.DType != BF16 && t.DType != F64 {
		return fmt.Errorf("safetensors: tensor %q: dtype %q is not a float type", t.Name, t.DType)
	}
	if err := t.check(); err != nil {
		return err
	}
	b := t.Data
	if len(out) != len(b)/t.DType.Size() {
		return fmt.Errorf("safetensors: tensor %q: %d elements into a buffer of %d", t.Name, len(b)/t.DType.Size(), len(out))
	}
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = f16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = bf16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	}
	return nil
}

// Int64s converts an I64, I32, I16, I8 or U8 tensor to a new []int64.
func (t *Tensor) Int64s() ([]int64, error) {
	if t.DType != I64 && t.DType != I32 && t.DType != I16 && t.DType != I8 && t.DType != U8 {
		return nil, fmt.Errorf("safetensors: tensor %q: dtype %q is not an integer type", t.Name, t.DType)
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	b := t.Data
	out := make([]int64, len(b)/t.DType.Size())
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case U8:
		for i := range out {
			out[i] = int64(b[i])
		}
	}
	return out, nil
}

// f16ToF32 converts IEEE 754 binary16 bits to float32, exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, or NaN with its payload kept
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal: rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
	// zero or subnormal: mant * 2^-24, a normal (or zero) float32
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// bf16ToF32 converts bfloat16 bits (the top half of a float32) to float32.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// NewF32 returns an F32 tensor holding data, for writing. Shape is copied.
// On a little-endian machine the tensor's Data is data's memory, not a
// copy (a checkpoint of a large model would otherwise allocate its size
// again): leave data unchanged until the tensor is written.
func NewF32(name string, shape []int, data []float32) Tensor {
	var b []byte
	if littleEndian && len(data) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
	} else {
		b = make([]byte, 4*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
	}
	return Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), Data: b}
}

// littleEndian reports whether the machine stores numbers as safetensors
// does.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// NewI64 returns an I64 tensor holding data, for writing. Shape is copied.
func NewI64(name string, shape []int, data []int64) Tensor {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Tensor{Name: name, DType: I64, Shape: slices.Clone(shape), Data: b}
}

// File is a parsed safetensors file.
type File struct {
	Tensors  []Tensor          // in data-offset order (ties, only possible between empty tensors, by name)
	Metadata map[string]string // the __metadata__ object; nil if absent

	release func() error // unmaps the file behind an Open; nil otherwise
	mapped  []byte       // the mapping behind an Open; nil otherwise
}

// Get returns the tensor called name.
func (f *File) Get(name string) (*Tensor, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// Names returns the tensor names in data-offset order.
func (f *File) Names() []string {
	names := make([]string, len(f.Tensors))
	for i, t := range f.Tensors {
		names[i] = t.Name
	}
	return names
}

// Close releases the memory mapping behind a File from Open; the Data of its
// tensors must not be used afterwards. Close is a no-op for a File from Parse
// and safe to call more than once.
func (f *File) Close() error {
	release := f.release
	f.release = nil
	if release == nil {
		return nil
	}
	return release()
}
