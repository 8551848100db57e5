package vk

import "fmt"

// embedding gathers rows of table (K, dim) for each int32 id: out is
// (ids.Len(), dim) (tensor.Embedding). An id outside [0, K) yields a zero
// row where the CPU panics: validate ids on the host.
func (d *Device) embedding(out, table, ids *Buffer, dim int) {
	k := rowsOf("embedding", table, dim)
	n := ids.Len()
	mustLen("embedding", out, n*dim)
	d.run(kEmbedding, []uint32{256, 0}, [3]int{gridGroups(n*dim, 256), 1, 1}, push{}.u(n, k, dim),
		rd(table), rd(ids), wr(out))
}

// embeddingBackward scatter-adds the rows of g (ids.Len(), dim) into dtable
// at ids (tensor.EmbeddingBackward), deterministically and without atomics:
// repeated ids are summed in increasing position order, as on the CPU.
func (d *Device) embeddingBackward(dtable, g, ids *Buffer, dim int) {
	k := rowsOf("embedding backward", dtable, dim)
	n := ids.Len()
	mustLen("embedding backward", g, n*dim)
	d.run(kEmbedding, []uint32{uint32(rowGroup(dim)), 1}, rowGrid(n), push{}.u(n, k, dim),
		wr(dtable), rd(ids), rd(g))
}

// gatherLast writes out[r] = t[r, idx[r]] for every row of n
// (tensor.GatherLast); idx holds int32.
func (d *Device) gatherLast(out, t, idx *Buffer, n int) {
	rows := rowsOf("gather", t, n)
	mustLen("gather", idx, rows)
	mustLen("gather", out, rows)
	d.run(kGatherLast, []uint32{0}, [3]int{gridGroups(rows, 256), 1, 1}, push{}.u(rows, n), wr(out), rd(t), rd(idx))
}

// gatherLastBackward writes dx (rows, n), zero except dx[r, idx[r]] = g[r]
// (tensor.GatherLastBackward).
func (d *Device) gatherLastBackward(dx, g, idx *Buffer, n int) {
	rows := rowsOf("gather backward", dx, n)
	mustLen("gather backward", idx, rows)
	mustLen("gather backward", g, rows)
	d.run(kGatherLast, []uint32{1}, [3]int{gridGroups(rows*n, 256), 1, 1}, push{}.u(rows, n), wr(dx), rd(g), rd(idx))
}

// argmax writes, as int32, the index of the largest element of each row of
// n, the first one on ties (tensor.Argmax).
func (d *Device) argmax(out, t *Buffer, n int) {
	rows := rowsOf("argmax", t, n)
	mustLen("argmax", out, rows)
	d.run(kArgmax, []uint32{uint32(rowGroup(n))}, rowGrid(rows), push{}.u(rows, n), wr(out), rd(t))
}

// copyRows copies a block of rows x cols elements:
// dst[dOff + r*dStride + c] = src[sOff + r*sStride + c]. sStride 0 repeats
// one source row (a broadcast).
func (d *Device) copyRows(dst, src *Buffer, rows, cols, dOff, dStride, sOff, sStride int) {
	if rows == 0 || cols == 0 {
		return
	}
	if dOff+(rows-1)*dStride+cols > dst.Len() || sOff+(rows-1)*sStride+cols > src.Len() {
		panic(fmt.Sprintf("vk: copy of %dx%d outside buffers of %d and %d", rows, cols, dst.Len(), src.Len()))
	}
	d.run(kCopy2D, nil, [3]int{gridGroups(rows*cols, 256), 1, 1}, push{}.u(rows, cols, dOff, dStride, sOff, sStride),
		wr(dst), rd(src))
}

// concat joins parts of the given shapes along axis into out (tensor.Concat);
// all other dimensions must agree.
func (d *Device) concat(out *Buffer, axis int, parts []*Buffer, shapes [][]int) {
	if len(parts) != len(shapes) || len(parts) == 0 {
		panic("vk: concat needs one shape per part")
	}
	outer, _, inner := axisDims(shapes[0], axis)
	if axis < 0 {
		axis += len(shapes[0])
	}
	n := 0
	for i, s := range shapes {
		if len(s) != len(shapes[0]) {
			panic(fmt.Sprintf("vk: concat of %v and %v", shapes[0], s))
		}
		for j := range s {
			if j != axis && s[j] != shapes[0][j] {
				panic(fmt.Sprintf("vk: concat of %v and %v on axis %d", shapes[0], s, axis))
			}
		}
		mustLen("concat", parts[i], numel(s))
		n += s[axis]
	}
	mustLen("concat", out, outer*n*inner)
	off := 0
	for i, s := range shapes {
		w := s[axis] * inner
		d.copyRows(out, parts[i], outer, w, off, n*inner, 0, w)
		off += w
	}
}

// split cuts t (of shape) along axis into outs of the given sizes, which
// must add up to the axis length (tensor.Split).
func (d *Device) split(outs []*Buffer, t *Buffer, shape []int, axis int, sizes []int) {
	outer, n, inner := axisDims(shape, axis)
	mustLen("split", t, numel(shape))
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != n || len(outs) != len(sizes) {
		panic(fmt.Sprintf("vk: split of %v on axis %d into %v", shape, axis, sizes))
	}
	off := 0
	for i, s := range sizes {
		w := s * inner
		mustLen("split", outs[i], outer*w)
		d.copyRows(outs[i], t, outer, w, 0, w, off, n*inner)
		off += w
	}
}
