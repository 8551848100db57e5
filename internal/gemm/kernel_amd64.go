//go:build amd64 && !purego

package gemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// kernel6x16 computes tiles full 6x16 tiles of C = alpha*(bias + A*B) +
// beta*C, one under the other, from tiles consecutive packed A micro-panels
// (k steps of mr floats each) and one packed B micro-panel (k steps of nr
// floats); a nil bias is zero, else 16 floats added to every row. beta == 0
// does not read C. Before each tile it prefetches pfLines cache lines from
// pf on into L2 (a hint: the lines need not be the caller's).
//
//go:noescape
func kernel6x16(k, tiles int, a, b, c *float32, ldc int, alpha, beta float32, bias, pf *float32, pfLines int)

// kernel6x16s is kernel6x16 for unpacked operands: element (i, p) of A is
// a[i*rsa+p*csa] and row p of B is b[p*ldb : p*ldb+16].
//
//go:noescape
func kernel6x16s(k int, a *float32, rsa, csa int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		setAsm(true)
		// GODEBUG=cpu.avx512f=off turns this off (x/sys/cpu reads it).
		setWide(cpu.X86.HasAVX512F)
	}
}

// haveWide reports whether the AVX-512 kernel is built.
const haveWide = true

// asmKernel adapts kernel6x16 to the kernel signature, for one tile; the
// driver guarantees the slices cover the panels and the tile.
func asmKernel(kc int, a, b, c []float32, ldc int, alpha, beta float32, bias []float32) {
	asmKernelTiles(kc, 1, a, b, c, ldc, alpha, beta, bias, nil, 0)
}

// wideTile runs one packed 6x16 tile on AVX-512 through the strided kernel
// (a packed A micro-panel is A with rsa 1 and csa mr, a packed B
// micro-panel B with ldb nr): the tiles the pair and group kernels leave
// over, at twice the AVX2 kernel's width. It has no bias start.
func wideTile(kc int, a, b []float32, c []float32, ldc int, alpha, beta float32) {
	_ = a[mr*kc-1]
	_ = b[nr*kc-1]
	_ = c[(mr-1)*ldc+nr-1]
	kernel6x16zs(kc, &a[0], 1, mr, &b[0], nr, &c[0], ldc, alpha, beta)
}

// asmKernelTiles runs kernel6x16 over tiles tiles, one under the other,
// prefetching pfLines lines of pf into L2 before each (pf nil: none).
// With the AVX-512 kernel, groups of four tiles go through kernel24x16z
// and the rest through wideTile, or kernel6x16 when there is a bias.
func asmKernelTiles(kc, tiles int, a, b, c []float32, ldc int, alpha, beta float32, bias, pf []float32, pfLines int) {
	_ = a[tiles*mr*kc-1]
	_ = b[nr*kc-1]
	_ = c[(tiles*mr-1)*ldc+nr-1]
	var bp, pp *float32
	if bias != nil {
		bp = &bias[:nr][0]
	}
	if len(pf) > 0 {
		pp = &pf[0]
	} else {
		pfLines = 0
	}
	done := 0
	if wide {
		for ; done+wideTiles <= tiles; done += wideTiles {
			kernel24x16z(kc, &a[done*mr*kc], mr*kc, &b[0], &c[done*mr*ldc], ldc, alpha, beta, bp, pp, wideTiles*pfLines)
			if pp != nil {
				pp = (*float32)(unsafe.Add(unsafe.Pointer(pp), wideTiles*pfLines*64))
			}
		}
	}
	if wide && bias == nil {
		for ; done < tiles; done++ {
			wideTile(kc, a[done*mr*kc:], b, c[done*mr*ldc:], ldc, alpha, beta)
		}
	}
	if done < tiles {
		kernel6x16(kc, tiles-done, &a[done*mr*kc], &b[0], &c[done*mr*ldc], ldc, alpha, beta, bp, pp, pfLines)
	}
}

// asmKernelStrided adapts kernel6x16s; it checks that the last element of A,
// B and C it touches is inside the slices.
func asmKernelStrided(k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	_ = a[(mr-1)*rsa+(k-1)*csa]
	_ = b[(k-1)*ldb+nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	if wide {
		kernel6x16zs(k, &a[0], rsa, csa, &b[0], ldb, &c[0], ldc, alpha, beta)
		return
	}
	kernel6x16s(k, &a[0], rsa, csa, &b[0], ldb, &c[0], ldc, alpha, beta)
}

const haveAsm = true

// packA6 packs six rows of a row-major A, k8 (a multiple of 8) columns,
// into an A micro-panel; it writes 2 floats past dst[6*k8-1].
//
//go:noescape
func packA6(dst, a *float32, lda, k8 int)

// transpose8 writes dst[p*lddst+j] = b[j*ldb+p] for j < 8 and p < k8 (a
// multiple of 8).
//
//go:noescape
func transpose8(dst, b *float32, ldb, k8, lddst int)

// packANAsm packs the first k8 = kc&^7 steps of a full A micro-panel and
// returns k8 (0 when the assembly is off). d must have room for 2 floats
// past 6*k8.
func packANAsm(d, a []float32, lda, kc int) int {
	k8 := kc &^ 7
	if !accel || k8 == 0 {
		return 0
	}
	_ = d[mr*k8+1]
	_ = a[5*lda+k8-1]
	packA6(&d[0], &a[0], lda, k8)
	return k8
}

// packBTAsm packs the first k8 = kc&^7 steps of a full B micro-panel from a
// transposed B and returns k8 (0 when the assembly is off).
func packBTAsm(d, b []float32, ldb, kc int) int {
	k8 := kc &^ 7
	if !accel || k8 == 0 {
		return 0
	}
	_ = d[nr*(k8-1)+nr-1]
	_ = b[15*ldb+k8-1]
	transpose8(&d[0], &b[0], ldb, k8, nr)
	transpose8(&d[8], &b[8*ldb], ldb, k8, nr)
	return k8
}

// copyPanels6 copies rows x 6*panels floats of src (row stride lds) into
// 6-column panels pstride floats apart:
// dst[q*pstride+p*6+i] = src[p*lds+q*6+i].
//
//go:noescape
func copyPanels6(dst, src *float32, lds, rows, panels, pstride int)

// copyPanels16 is copyPanels6 for 16-column panels.
//
//go:noescape
func copyPanels16(dst, src *float32, lds, rows, panels, pstride int)

// copyPanelsAsm copies rows x width*panels floats of src into width-column
// panels (width 6 or 16) pstride floats apart, and reports whether it did
// (false when the assembly is off: the caller copies).
func copyPanelsAsm(width int, dst, src []float32, lds, rows, panels, pstride int) bool {
	if !accel || rows <= 0 || panels <= 0 {
		return false
	}
	_ = src[(rows-1)*lds+width*panels-1]
	_ = dst[(panels-1)*pstride+rows*width-1]
	if width == mr {
		copyPanels6(&dst[0], &src[0], lds, rows, panels, pstride)
	} else {
		copyPanels16(&dst[0], &src[0], lds, rows, panels, pstride)
	}
	return true
}

// kernel24x16z is the AVX-512 kernel: four stacked full 6x16 tiles (24
// rows) of C = alpha*(bias + A*B) + beta*C from four A micro-panels astride
// floats apart and one B micro-panel, prefetching pfLines lines of pf into
// L2 first (gemm512_amd64.s).
//
//go:noescape
func kernel24x16z(k int, a *float32, astride int, b, c *float32, ldc int, alpha, beta float32, bias, pf *float32, pfLines int)

// hasWideCPU reports whether the CPU (as GODEBUG leaves it) runs the
// AVX-512 kernel.
func hasWideCPU() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// kernel6x16zs is kernel6x16s on AVX-512: one ZMM per row, even and odd k
// steps into separate accumulators (gemm512_amd64.s).
//
//go:noescape
func kernel6x16zs(k int, a *float32, rsa, csa int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// kernel12x32z is the AVX-512 kernel over two B micro-panels: 12 rows
// (two A micro-panels astride floats apart) by 32 columns (two B
// micro-panels bstride floats apart) of C = alpha*(bias + A*B) + beta*C,
// bias nil or 32 floats (gemm512_amd64.s).
//
//go:noescape
func kernel12x32z(k int, a *float32, astride int, b *float32, bstride int, c *float32, ldc int, alpha, beta float32, bias, pf *float32, pfLines int)

// asmKernelPairs runs kernel12x32z over pairs 12-row tiles one under the
// other: A micro-panels from ap (two per call), the two B micro-panels of
// bp2, C from c; bias nil or 32 floats; pfLines lines of pf prefetched
// into L2 per call.
func asmKernelPairs(kc, pairs int, ap, bp2, c []float32, ldc int, alpha, beta float32, bias, pf []float32, pfLines int) {
	_ = ap[pairs*2*mr*kc-1]
	_ = bp2[2*nr*kc-1]
	_ = c[(pairs*2*mr-1)*ldc+2*nr-1]
	var bp, pp *float32
	if bias != nil {
		bp = &bias[:2*nr][0]
	}
	if len(pf) > 0 {
		pp = &pf[0]
		pfLines = min(pfLines, len(pf)*4/64/max(pairs, 1))
	} else {
		pfLines = 0
	}
	for q := range pairs {
		kernel12x32z(kc, &ap[q*2*mr*kc], mr*kc, &bp2[0], nr*kc, &c[q*2*mr*ldc], ldc, alpha, beta, bp, pp, pfLines)
		if pp != nil {
			pp = (*float32)(unsafe.Add(unsafe.Pointer(pp), pfLines*64))
		}
	}
}

// fmaLoop512 runs n iterations of 24 independent register-only 512-bit FMAs
// (peak_amd64.s).
//
//go:noescape
func fmaLoop512(n int)

// fmaLoop256 runs n iterations of 12 independent register-only 256-bit FMAs
// (peak_amd64.s).
//
//go:noescape
func fmaLoop256(n int)

// fmaLoop runs n iterations of the 512-bit (wide) or 256-bit FMA loop and
// reports whether it could (false when the CPU, as GODEBUG leaves it, lacks
// the instructions).
func fmaLoop(wide bool, n int) bool {
	switch {
	case wide && hasWideCPU():
		fmaLoop512(n)
	case !wide && cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		fmaLoop256(n)
	default:
		return false
	}
	return true
}

// kernel12x32zt is the thin path's AVX-512 kernel: a 12 x 32 tile of C =
// A*B from 12 unpacked rows of A (element (i, p) at a[i*rsa+p*csa]) and two
// packed B micro-panels bstride floats apart (gemm512_amd64.s).
//
//go:noescape
func kernel12x32zt(k int, a *float32, rsa, csa int, b *float32, bstride int, c *float32, ldc int)

// thinPairKernel runs kernel12x32zt on 12 rows of a (row stride rsa, unit
// column stride) and the two panels of b (nr*k floats each) into tile
// (12 x 32, row stride 2*nr).
func thinPairKernel(k int, a []float32, rsa int, b, tile []float32) {
	_ = a[(2*mr-1)*rsa+k-1]
	_ = b[2*nr*k-1]
	_ = tile[2*mr*2*nr-1]
	kernel12x32zt(k, &a[0], rsa, 1, &b[0], nr*k, &tile[0], 2*nr)
}
