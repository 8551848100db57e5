package gemm

// Packed layouts.
//
// A block of op(A), mc x kc, is stored as ceil(mc/mr) micro-panels of
// mr*kc floats; panel q holds rows q*mr..q*mr+mr-1 step by step:
// dst[q*mr*kc + p*mr + i] = op(A)[q*mr+i][p]. Rows past mc are zero.
//
// A block of op(B), kc x nc, is stored as ceil(nc/nr) micro-panels of
// nr*kc floats: dst[q*nr*kc + p*nr + j] = op(B)[p][q*nr+j]. Columns past nc
// are zero.
//
// Zero padding lets the kernels always compute full tiles; the extra rows
// and columns are dropped when the tile is merged into C.

// packA packs op(A)[i0:i0+mc, p0:p0+kc] into dst. dst needs room for
// packSlack floats past the panels.
func packA(transA bool, a []float32, lda, i0, p0, mc, kc int, dst []float32) {
	if transA {
		packATBlock(dst, a[p0*lda+i0:], lda, mc, kc)
		return
	}
	for ir := 0; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		packAN(dst[ir*kc:], a[(i0+ir)*lda+p0:], lda, rows, kc)
	}
}

// packSlack is the room the packing routines may write past the last
// panel (see packA6).
const packSlack = 16

// pstep is how many k steps the copying packers move per panel before going
// on to the next panel: the source rows they read stay in L1 whatever their
// stride.
const pstep = 8

// packATBlock packs an mc x kc block of a transposed A (element (i, p) at
// a[p*lda+i]) into panels, pstep rows of the source at a time.
func packATBlock(dst, a []float32, lda, mc, kc int) {
	full := mc - mc%mr
	for p0 := 0; p0 < kc; p0 += pstep {
		p1 := min(p0+pstep, kc)
		if copyPanelsAsm(mr, dst[p0*mr:], a[p0*lda:], lda, p1-p0, full/mr, mr*kc) {
			continue
		}
		for ir := 0; ir < full; ir += mr {
			d := dst[ir*kc : ir*kc+mr*kc]
			for p := p0; p < p1; p++ {
				*(*[mr]float32)(d[p*mr:]) = *(*[mr]float32)(a[p*lda+ir:])
			}
		}
	}
	if full < mc {
		packAT(dst[full*kc:], a[full:], lda, mc-full, kc)
	}
}

// packAN packs rows x kc of a row-major A (element (i, p) at a[i*lda+p]):
// a transpose of up to six rows into six-float columns.
func packAN(d, a []float32, lda, rows, kc int) {
	if rows == mr {
		k0 := packANAsm(d, a, lda, kc)
		d = d[:mr*kc]
		r0 := a[:kc]
		r1 := a[lda : lda+kc]
		r2 := a[2*lda : 2*lda+kc]
		r3 := a[3*lda : 3*lda+kc]
		r4 := a[4*lda : 4*lda+kc]
		r5 := a[5*lda : 5*lda+kc]
		for p := k0; p < len(r0); p++ {
			o := (*[mr]float32)(d[p*mr:])
			o[0] = r0[p]
			o[1] = r1[p]
			o[2] = r2[p]
			o[3] = r3[p]
			o[4] = r4[p]
			o[5] = r5[p]
		}
		return
	}
	d = d[:mr*kc]
	clear(d)
	for i := 0; i < rows; i++ {
		r := a[i*lda : i*lda+kc]
		for p, v := range r {
			d[p*mr+i] = v
		}
	}
}

// packAT packs rows x kc of a transposed A (element (i, p) at a[p*lda+i]):
// each step copies up to six contiguous floats.
func packAT(d, a []float32, lda, rows, kc int) {
	d = d[:mr*kc]
	if rows == mr {
		for p := 0; p < kc; p++ {
			*(*[mr]float32)(d[p*mr:]) = *(*[mr]float32)(a[p*lda:])
		}
		return
	}
	clear(d)
	for p := 0; p < kc; p++ {
		copy(d[p*mr:p*mr+rows], a[p*lda:p*lda+rows])
	}
}

// packB packs op(B)[p0:p0+kc, j0:j0+nc] into dst.
func packB(transB bool, b []float32, ldb, p0, j0, kc, nc int, dst []float32) {
	if !transB {
		packBNBlock(dst, b[p0*ldb+j0:], ldb, nc, kc)
		return
	}
	for jr := 0; jr < nc; jr += nr {
		cols := min(nr, nc-jr)
		packBT(dst[jr*kc:jr*kc+nr*kc], b[(j0+jr)*ldb+p0:], ldb, cols, kc)
	}
}

// packBNBlock packs a kc x nc block of a row-major B (element (p, j) at
// b[p*ldb+j]) into panels, pstep rows of the source at a time.
func packBNBlock(dst, b []float32, ldb, nc, kc int) {
	full := nc - nc%nr
	for p0 := 0; p0 < kc; p0 += pstep {
		p1 := min(p0+pstep, kc)
		if copyPanelsAsm(nr, dst[p0*nr:], b[p0*ldb:], ldb, p1-p0, full/nr, nr*kc) {
			continue
		}
		for jr := 0; jr < full; jr += nr {
			d := dst[jr*kc : jr*kc+nr*kc]
			for p := p0; p < p1; p++ {
				*(*[nr]float32)(d[p*nr:]) = *(*[nr]float32)(b[p*ldb+jr:])
			}
		}
	}
	if full < nc {
		packBN(dst[full*kc:full*kc+nr*kc], b[full:], ldb, nc-full, kc)
	}
}

// packBN packs kc x cols of a row-major B (element (p, j) at b[p*ldb+j]):
// each step copies up to sixteen contiguous floats.
func packBN(d, b []float32, ldb, cols, kc int) {
	d = d[:nr*kc]
	if cols == nr {
		for p := 0; p < kc; p++ {
			*(*[nr]float32)(d[p*nr:]) = *(*[nr]float32)(b[p*ldb:])
		}
		return
	}
	clear(d)
	for p := 0; p < kc; p++ {
		copy(d[p*nr:p*nr+cols], b[p*ldb:p*ldb+cols])
	}
}

// packBT packs kc x cols of a transposed B (element (p, j) at b[j*ldb+p]):
// a transpose of up to sixteen rows of B into sixteen-float rows.
func packBT(d, b []float32, ldb, cols, kc int) {
	d = d[:nr*kc]
	k0 := 0
	if cols == nr {
		k0 = packBTAsm(d, b, ldb, kc)
	} else {
		clear(d)
	}
	for j := 0; j < cols; j++ {
		r := b[j*ldb : j*ldb+kc]
		for p := k0; p < len(r); p++ {
			d[p*nr+j] = r[p]
		}
	}
}
