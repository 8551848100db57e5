//go:build amd64 && !purego

#include "textflag.h"

// Float32 constants of expf (fastmath.go), one per 4 bytes, broadcast into
// the lanes of a Y register with VBROADCASTSS.
DATA expconst<>+0x00(SB)/4, $0x3fb8aa3b // log2(e)
DATA expconst<>+0x04(SB)/4, $0x3f317200 // ln2hi
DATA expconst<>+0x08(SB)/4, $0x35bfbe8e // ln2lo
DATA expconst<>+0x0c(SB)/4, $0x3ab60b61 // 1/720
DATA expconst<>+0x10(SB)/4, $0x3c088889 // 1/120
DATA expconst<>+0x14(SB)/4, $0x3d2aaaab // 1/24
DATA expconst<>+0x18(SB)/4, $0x3e2aaaab // 1/6
DATA expconst<>+0x1c(SB)/4, $0x3f000000 // 1/2
DATA expconst<>+0x20(SB)/4, $0x3f800000 // 1
DATA expconst<>+0x24(SB)/4, $0x0000007f // 127, the exponent bias (int32)
DATA expconst<>+0x28(SB)/4, $0x42b17217 // 88.72283: above, e^x overflows
DATA expconst<>+0x2c(SB)/4, $0xc2aeac4f // -87.33654: below, e^x flushes to 0
DATA expconst<>+0x30(SB)/4, $0x7f800000 // +Inf
GLOBL expconst<>(SB), RODATA|NOPTR, $0x34

// func expAVX2(dst, src *float32, n int)
//
// dst[i] = e^src[i] for i < n, n a multiple of 8, eight lanes at a time with
// the algorithm of expf:
//
//	fn = round(x log2 e)                  (nearest, ties to even)
//	r  = x - fn ln2hi - fn ln2lo          (Cody-Waite, two FMAs; |r| <= ln2/2)
//	p  = 1 + r(1 + r(1/2 + ... r/720))    (degree-6 Taylor, Horner with FMA)
//	e^x = p 2^n1 2^n2, n1 = n>>1, n2 = n-n1
//
// Splitting 2^n into two factors keeps both exponents in the normal range
// for every n in [-126, 128] (n = 128 happens just below the overflow
// bound), so the products are exact. Lanes with x > 88.72283 are then set
// to +Inf and lanes with x < -87.33654 (including -Inf) to 0; NaN propagates
// through the arithmetic (both compares are false for it). dst may equal src.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX // CX = number of 8-lane blocks
	JZ   done

	// Constants that stay in registers for the whole loop.
	VBROADCASTSS expconst<>+0x00(SB), Y15 // log2e
	VBROADCASTSS expconst<>+0x04(SB), Y14 // ln2hi
	VBROADCASTSS expconst<>+0x08(SB), Y13 // ln2lo
	VBROADCASTSS expconst<>+0x0c(SB), Y12 // 1/720
	VBROADCASTSS expconst<>+0x10(SB), Y11 // 1/120
	VBROADCASTSS expconst<>+0x14(SB), Y10 // 1/24
	VBROADCASTSS expconst<>+0x18(SB), Y9  // 1/6
	VBROADCASTSS expconst<>+0x1c(SB), Y8  // 1/2
	VBROADCASTSS expconst<>+0x20(SB), Y7  // 1
	VBROADCASTSS expconst<>+0x24(SB), Y6  // 127 (int32 lanes)

loop:
	VMOVUPS (SI), Y0 // x

	// Range reduction.
	VMULPS    Y15, Y0, Y1 // k = x log2e
	VROUNDPS  $0, Y1, Y1  // fn = round(k)
	VMOVAPS   Y0, Y2
	VFNMADD231PS Y14, Y1, Y2 // r = x - fn ln2hi
	VFNMADD231PS Y13, Y1, Y2 // r -= fn ln2lo

	// p = e^r by Horner: p = p r + c.
	VMOVAPS     Y12, Y3     // p = 1/720
	VFMADD213PS Y11, Y2, Y3 // p = p r + 1/120
	VFMADD213PS Y10, Y2, Y3 // p = p r + 1/24
	VFMADD213PS Y9, Y2, Y3  // p = p r + 1/6
	VFMADD213PS Y8, Y2, Y3  // p = p r + 1/2
	VFMADD213PS Y7, Y2, Y3  // p = p r + 1
	VFMADD213PS Y7, Y2, Y3  // p = p r + 1

	// Scale by 2^n = 2^n1 2^n2, each built as float bits (ni+127)<<23.
	VCVTTPS2DQ Y1, Y4     // n (fn is integral, so truncation is exact)
	VPSRAD     $1, Y4, Y5 // n1 = n >> 1
	VPSUBD     Y5, Y4, Y4 // n2 = n - n1
	VPADDD     Y6, Y5, Y5
	VPSLLD     $23, Y5, Y5 // 2^n1
	VPADDD     Y6, Y4, Y4
	VPSLLD     $23, Y4, Y4 // 2^n2
	VMULPS     Y5, Y3, Y3
	VMULPS     Y4, Y3, Y3 // p 2^n1 2^n2

	// Out-of-range lanes (the compares are ordered: false for NaN).
	VBROADCASTSS expconst<>+0x28(SB), Y4
	VCMPPS       $0x1e, Y4, Y0, Y4 // x > 88.72283 (GT_OQ)
	VBROADCASTSS expconst<>+0x30(SB), Y5
	VBLENDVPS    Y4, Y5, Y3, Y3    // -> +Inf
	VBROADCASTSS expconst<>+0x2c(SB), Y4
	VCMPPS       $0x11, Y4, Y0, Y4 // x < -87.33654 (LT_OQ)
	VANDNPS      Y3, Y4, Y3        // -> 0

	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

	VZEROUPPER

done:
	RET
