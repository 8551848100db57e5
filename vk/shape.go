package vk

import "fmt"

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("vk: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

func mustLen(op string, b *Buffer, n int) {
	if b.Len() != n {
		panic(fmt.Sprintf("vk: %s: buffer of %d elements where %d are needed", op, b.Len(), n))
	}
}

// collapse removes the size-1 dimensions of shape and merges neighbours
// that every operand walks contiguously (stride[i] == stride[i+1]*dim[i+1]),
// returning at most 4 dimensions, padded in front with 1s, and each
// operand's strides along them.
func collapse(op string, shape []int, strides ...[]int) (dims [4]int, out [][4]int) {
	var ds []int
	ss := make([][]int, len(strides))
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if k := len(ds) - 1; k >= 0 {
			merge := true
			for s := range strides {
				if ss[s][k] != strides[s][i]*d {
					merge = false
				}
			}
			if merge {
				ds[k] *= d
				for s := range strides {
					ss[s][k] = strides[s][i]
				}
				continue
			}
		}
		ds = append(ds, d)
		for s := range strides {
			ss[s] = append(ss[s], strides[s][i])
		}
	}
	if len(ds) > 4 {
		panic(fmt.Sprintf("vk: %s: shape %v needs %d dimensions after merging; at most 4 are supported", op, shape, len(ds)))
	}
	pad := 4 - len(ds)
	for i := range dims {
		dims[i] = 1
	}
	copy(dims[pad:], ds)
	out = make([][4]int, len(strides))
	for s := range strides {
		copy(out[s][pad:], ss[s])
	}
	return dims, out
}

// axisDims views shape as (outer, n, inner) around axis (negative counts
// from the end), as the tensor package's axis reductions do.
func axisDims(shape []int, axis int) (outer, n, inner int) {
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		panic(fmt.Sprintf("vk: axis %d of shape %v", axis, shape))
	}
	return numel(shape[:axis]), shape[axis], numel(shape[axis+1:])
}

// rowsOf splits a buffer into rows of n (the tensor package's lastDim).
func rowsOf(op string, b *Buffer, n int) int {
	if n <= 0 || b.Len()%n != 0 {
		panic(fmt.Sprintf("vk: %s: %d elements are not rows of %d", op, b.Len(), n))
	}
	return b.Len() / n
}

// rowGroups is the workgroup size of the one-workgroup-per-row kernels: a
// power of two from 32 to 256 that fits the row.
func rowGroup(n int) int {
	wg := 32
	for wg < 256 && wg < n {
		wg *= 2
	}
	return wg
}

// rowGrid is the number of workgroups for a per-row (or per-lane) kernel;
// the shaders loop when there are more rows than groups.
func rowGrid(rows int) [3]int { return [3]int{min(rows, 65535), 1, 1} }
