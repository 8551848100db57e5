// Package autograd is a minimal tape-based reverse-mode automatic
// differentiation over the tensor package's operations.
//
// A Tape records each operation as it runs forward; Backward replays the
// records in reverse, each turning its output's gradient into gradients of
// its inputs. A nil *Tape (or one with grad disabled) records nothing, which
// is the no-grad mode used for inference and for teachers.
package autograd

import (
	"fmt"

	"github.com/duo-go/duo/tensor"
)

// Var is a tensor in the graph, with its gradient once Backward has run.
type Var struct {
	Value *tensor.Tensor
	Grad  *tensor.Tensor // accumulated gradient; nil until one arrives
	grad  bool           // whether gradients flow to this Var
}

// Param returns a Var that receives gradients (a trainable parameter).
func Param(t *tensor.Tensor) *Var { return &Var{Value: t, grad: true} }

// Const returns a Var that receives no gradient.
func Const(t *tensor.Tensor) *Var { return &Var{Value: t} }

// RequiresGrad reports whether gradients flow to v.
func (v *Var) RequiresGrad() bool { return v.grad }

// SetRequiresGrad turns gradient flow to v on or off (freezing a parameter).
func (v *Var) SetRequiresGrad(on bool) { v.grad = on }

// Shape returns the shape of the value.
func (v *Var) Shape() []int { return v.Value.Shape() }

// ZeroGrad drops the accumulated gradient.
func (v *Var) ZeroGrad() { v.Grad = nil }

// accumulate adds g to v's gradient. The first gradient is adopted without a
// copy, so kernels must hand over freshly allocated tensors.
func (v *Var) accumulate(g *tensor.Tensor) {
	if g == nil {
		return
	}
	if v.Grad == nil {
		if !tensor.SameShape(g, v.Value) {
			g = g.Reshape(v.Value.Shape()...)
		}
		v.Grad = g
		return
	}
	tensor.AddScaled(v.Grad, g.Reshape(v.Value.Shape()...), 1)
}

// sameStorage reports whether two gradients are views of one storage (so
// that one of them must be copied before two Vars own them).
func sameStorage(a, b *tensor.Tensor) bool {
	return a.Len() > 0 && b.Len() > 0 && tensor.SameStorage(a, b)
}

type record struct {
	out      *Var
	inputs   []*Var
	backward func(g *tensor.Tensor) []*tensor.Tensor
}

// Tape records operations for reverse-mode differentiation.
type Tape struct {
	records []record
	off     bool
	release bool // Backward recycles intermediate values (SetReleaseValues)
}

// NewTape returns an empty tape that records.
func NewTape() *Tape { return &Tape{} }

// Recording reports whether operations on t are recorded.
func (t *Tape) Recording() bool { return t != nil && !t.off }

// SetRecording turns recording on or off and returns the previous setting.
func (t *Tape) SetRecording(on bool) bool {
	prev := !t.off
	t.off = !on
	return prev
}

// SetReleaseValues makes Backward hand the value buffer of each
// intermediate Var back to the tensor package's pool (tensor.Recycle) as soon
// as the last record that reads it has run, so that the kernels of the
// backward pass and of the next step reuse the memory instead of zeroing new
// buffers. The caller promises not to read the values of the tape's Vars
// after Backward (doing so panics); parameters, inputs, the Var that
// Backward starts from, values that share storage with another tensor and
// small values are never released. A training loop turns it on; code that
// keeps activations after Backward leaves it off (the default).
func (t *Tape) SetReleaseValues(on bool) { t.release = on }

// Len returns the number of recorded operations.
func (t *Tape) Len() int {
	if t == nil {
		return 0
	}
	return len(t.records)
}

// Op wraps out, computed from inputs, as a Var. If any input requires a
// gradient and the tape records, backward is kept: given out's gradient it
// must return one gradient per input (nil where an input needs none; use
// Var.RequiresGrad to skip work). This is how every operation, built in or
// custom, enters the graph.
func (t *Tape) Op(out *tensor.Tensor, inputs []*Var, backward func(g *tensor.Tensor) []*tensor.Tensor) *Var {
	v := &Var{Value: out}
	if !t.Recording() {
		return v
	}
	for _, in := range inputs {
		if in.grad {
			v.grad = true
			break
		}
	}
	if v.grad {
		t.records = append(t.records, record{out: v, inputs: inputs, backward: backward})
	}
	return v
}

// Backward seeds d loss/d loss = 1 for a one-element loss, runs every record
// in reverse and accumulates gradients into the Vars that require them.
// Gradients of intermediate Vars are released as soon as they are consumed,
// and the tape is emptied.
func (t *Tape) Backward(loss *Var) error {
	if loss.Value.Len() != 1 {
		return fmt.Errorf("autograd: backward from a non-scalar of shape %v", loss.Value.Shape())
	}
	if !loss.grad {
		return fmt.Errorf("autograd: backward from a value that does not depend on any parameter")
	}
	seed := tensor.Full(1, loss.Value.Shape()...)
	return t.BackwardWith(loss, seed)
}

// BackwardWith runs the backward pass seeded with the gradient g of out.
func (t *Tape) BackwardWith(out *Var, g *tensor.Tensor) error {
	if !tensor.SameShape(g, out.Value) {
		return fmt.Errorf("autograd: seed gradient %v for value %v", g.Shape(), out.Value.Shape())
	}
	out.accumulate(g.Clone())
	for i := len(t.records) - 1; i >= 0; i-- {
		r := t.records[i]
		t.records[i] = record{}
		if r.out.Grad == nil {
			continue
		}
		g := r.out.Grad
		grads := r.backward(g)
		r.out.Grad = nil // intermediate: free it
		reuse := true
		for j, in := range r.inputs {
			if !in.grad || j >= len(grads) || grads[j] == nil {
				continue
			}
			for _, prev := range grads[:j] {
				if prev != nil && sameStorage(prev, grads[j]) {
					grads[j] = grads[j].Clone() // never let two Vars own one buffer
					break
				}
			}
			if sameStorage(g, grads[j]) {
				reuse = false // passed on (g itself or a view of it)
			}
			in.accumulate(grads[j])
		}
		if reuse {
			// Nothing else holds g: each Var owns its gradient's
			// buffer (see above), and g was r.out's.
			tensor.Recycle(g)
		}
		// Every record reading r.out's value has run: it came later.
		if t.release && r.out != out && !aliasesInput(r) {
			tensor.RecycleUnshared(r.out.Value)
		}
	}
	t.records = t.records[:0]
	return nil
}

// aliasesInput reports whether r's output is the storage of one of its
// inputs (an operation that returned its input).
func aliasesInput(r record) bool {
	for _, in := range r.inputs {
		if tensor.SameStorage(in.Value, r.out.Value) {
			return true
		}
	}
	return false
}

// Reset drops every record without running them.
func (t *Tape) Reset() {
	clear(t.records)
	t.records = t.records[:0]
}
