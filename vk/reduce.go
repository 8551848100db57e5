package vk

import (
	"fmt"
	"slices"
)

// Operation codes of reduce_axis.comp.
const (
	rSum = iota
	rMean
	rMax
	rLSE
)

func (d *Device) reduceAxis(name string, op uint32, out, t *Buffer, shape []int, axis int) {
	outer, n, inner := axisDims(shape, axis)
	mustLen(name, t, numel(shape))
	mustLen(name, out, outer*inner)
	wg := rowGroup(n)
	d.run(kReduceAxis, []uint32{uint32(wg), op}, rowGrid(outer*inner), push{}.u(outer, n, inner), wr(out), rd(t))
}

// sum sums t (of the given shape) over axis (tensor.Sum; keep only changes
// the shape, not the data).
func (d *Device) sum(out, t *Buffer, shape []int, axis int) {
	d.reduceAxis("sum", rSum, out, t, shape, axis)
}

// mean averages t over axis (tensor.Mean).
func (d *Device) mean(out, t *Buffer, shape []int, axis int) {
	d.reduceAxis("mean", rMean, out, t, shape, axis)
}

// max takes the maximum of t over axis (tensor.Max).
func (d *Device) max(out, t *Buffer, shape []int, axis int) {
	d.reduceAxis("max", rMax, out, t, shape, axis)
}

// logSumExp computes log(sum(exp(t))) over axis, stably (tensor.LogSumExp).
func (d *Device) logSumExp(out, t *Buffer, shape []int, axis int) {
	d.reduceAxis("logsumexp", rLSE, out, t, shape, axis)
}

// maxBackward routes g (shaped like x reduced over axis) to the first
// maximal element of each lane of x; dx is zero elsewhere
// (tensor.MaxBackward).
func (d *Device) maxBackward(dx, g, x *Buffer, shape []int, axis int) {
	outer, n, inner := axisDims(shape, axis)
	mustLen("max backward", x, numel(shape))
	mustLen("max backward", dx, numel(shape))
	mustLen("max backward", g, outer*inner)
	d.run(kAxis, []uint32{1}, [3]int{gridGroups(outer*inner, 256), 1, 1}, push{}.u(outer, n, inner).f(0), wr(dx), rd(g), rd(x))
}

// expandAxis broadcasts g, shaped like likeShape reduced over axis, back to
// likeShape, multiplied by scale (tensor.ExpandAxis, the backward of Sum and
// mean).
func (d *Device) expandAxis(out, g *Buffer, likeShape []int, axis int, scale float32) {
	outer, n, inner := axisDims(likeShape, axis)
	mustLen("expand axis", out, numel(likeShape))
	mustLen("expand axis", g, outer*inner)
	d.run(kAxis, []uint32{0}, [3]int{gridGroups(outer*n*inner, 256), 1, 1}, push{}.u(outer, n, inner).f(scale), wr(out), rd(g), rd(g))
}

// reduceTo sums g (of gShape) over the dimensions that were broadcast to
// produce it from shape (tensor.ReduceTo, the backward of broadcasting).
// With accumulate the sums are added to out. When the shapes are equal it
// copies (or adds) g into out.
func (d *Device) reduceTo(out, g *Buffer, gShape, shape []int, accumulate bool) {
	mustLen("reduceto", g, numel(gShape))
	mustLen("reduceto", out, numel(shape))
	if len(shape) > len(gShape) {
		panic(fmt.Sprintf("vk: reduceto from %v to %v", gShape, shape))
	}
	if slices.Equal(gShape, shape) && !accumulate {
		d.copyBuf(out, g)
		return
	}
	// Align shape to g and classify each dimension of g.
	full := append(make([]int, len(gShape)-len(shape)), shape...)
	var dims, red []int
	for i, gd := range gShape {
		td := full[i]
		if i < len(gShape)-len(shape) {
			td = 1
		}
		if td != 1 && td != gd {
			panic(fmt.Sprintf("vk: reduceto from %v to %v", gShape, shape))
		}
		if gd == 1 {
			continue
		}
		r := 0
		if td == 1 {
			r = 1
		}
		if k := len(red) - 1; k >= 0 && red[k] == r {
			dims[k] *= gd // neighbours of the same kind merge: g is contiguous
			continue
		}
		dims = append(dims, gd)
		red = append(red, r)
	}
	if len(dims) > 4 {
		panic(fmt.Sprintf("vk: reduceto from %v to %v needs %d dimensions; at most 4 are supported", gShape, shape, len(dims)))
	}
	var pd, ps, pr [4]int
	pad := 4 - len(dims)
	for i := range pd {
		pd[i] = 1
	}
	copy(pd[pad:], dims)
	copy(pr[pad:], red)
	s := 1
	for i := 3; i >= 0; i-- {
		ps[i] = s
		s *= pd[i]
	}
	nOut, nRed := 1, 1
	for i := range pd {
		if pr[i] == 1 {
			nRed *= pd[i]
		} else {
			nOut *= pd[i]
		}
	}
	pc := push{}.u(pd[:]...).u(ps[:]...).u(pr[:]...).u(nOut, nRed)
	d.run(kReduceTo, []uint32{b2u(accumulate)}, [3]int{gridGroups(nOut, 256), 1, 1}, pc, wr(out), rd(g))
}

// reduceAll writes sum(t) or sum(t*t) into out[0] (or adds it).
func (d *Device) reduceAll(out, t *Buffer, square, accumulate bool) {
	if out.Len() < 1 {
		panic("vk: reduction into an empty buffer")
	}
	n := t.Len()
	groups := min(max((n+255)/256, 1), 256)
	part := d.newBuffer(groups)
	defer part.Release()
	d.run(kReduceAll, []uint32{256}, [3]int{groups, 1, 1}, push{}.u(n, int(b2u(square)), 0, 0), wr(part), rd(t))
	d.run(kReduceAll, []uint32{256}, [3]int{1, 1, 1}, push{}.u(groups, 0, 1, int(b2u(accumulate))), wr(out), rd(part))
}

// sumAll writes the sum of all elements of t into out[0] (tensor.SumAll,
// in float32 with compensated partial sums), or adds it with accumulate.
func (d *Device) sumAll(out, t *Buffer, accumulate bool) { d.reduceAll(out, t, false, accumulate) }

// sumSquares writes the sum of the squares of t into out[0], or adds it with
// accumulate: over all gradients, the square of nn.GradNorm.
func (d *Device) sumSquares(out, t *Buffer, accumulate bool) { d.reduceAll(out, t, true, accumulate) }
