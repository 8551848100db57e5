//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 micro-kernel: four 6x16 tiles of C, one under the other (24 rows),
// from four consecutive packed A micro-panels and one packed B micro-panel:
// the packing of the AVX2 kernel, read four panels at a time.
//
// Register allocation:
//
//	Z0-Z23   the 24 rows of the tile (16 floats each)
//	Z24 Z25  rows of B, alternately (later alpha, beta)
//	SI R8 R9 R10  the four A micro-panels (6 floats per k step each)
//
// Each k step is one load of B and 24 VFMADD231PS with the A element
// broadcast from memory (EVEX embedded broadcast): 24 independent
// accumulators cover the FMA latency of two 512-bit FMA pipes.

// ZERO24 clears the accumulators Z0-Z23.
#define ZERO24 \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPXORD Z23, Z23, Z23

// STORE12X32 writes the 12 x 32 tile in Z0-Z23 to C at DX (row stride BX
// bytes), moving DX to the last row.
#define STORE12X32 \
	VMOVUPS Z0, (DX); \
	VMOVUPS Z1, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z2, (DX); \
	VMOVUPS Z3, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z4, (DX); \
	VMOVUPS Z5, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z6, (DX); \
	VMOVUPS Z7, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z8, (DX); \
	VMOVUPS Z9, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z10, (DX); \
	VMOVUPS Z11, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z12, (DX); \
	VMOVUPS Z13, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z14, (DX); \
	VMOVUPS Z15, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z16, (DX); \
	VMOVUPS Z17, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z18, (DX); \
	VMOVUPS Z19, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z20, (DX); \
	VMOVUPS Z21, 64(DX); \
	ADDQ    BX, DX; \
	VMOVUPS Z22, (DX); \
	VMOVUPS Z23, 64(DX)

// ZSTEP is one k step: B row bo bytes into the B panel, A step ao bytes
// into each A panel, B loaded into zb.
#define ZSTEP(ao, bo, zb) \
	VMOVUPS bo(DI), zb; \
	VFMADD231PS.BCST ao+0(SI), zb, Z0; \
	VFMADD231PS.BCST ao+4(SI), zb, Z1; \
	VFMADD231PS.BCST ao+8(SI), zb, Z2; \
	VFMADD231PS.BCST ao+12(SI), zb, Z3; \
	VFMADD231PS.BCST ao+16(SI), zb, Z4; \
	VFMADD231PS.BCST ao+20(SI), zb, Z5; \
	VFMADD231PS.BCST ao+0(R8), zb, Z6; \
	VFMADD231PS.BCST ao+4(R8), zb, Z7; \
	VFMADD231PS.BCST ao+8(R8), zb, Z8; \
	VFMADD231PS.BCST ao+12(R8), zb, Z9; \
	VFMADD231PS.BCST ao+16(R8), zb, Z10; \
	VFMADD231PS.BCST ao+20(R8), zb, Z11; \
	VFMADD231PS.BCST ao+0(R9), zb, Z12; \
	VFMADD231PS.BCST ao+4(R9), zb, Z13; \
	VFMADD231PS.BCST ao+8(R9), zb, Z14; \
	VFMADD231PS.BCST ao+12(R9), zb, Z15; \
	VFMADD231PS.BCST ao+16(R9), zb, Z16; \
	VFMADD231PS.BCST ao+20(R9), zb, Z17; \
	VFMADD231PS.BCST ao+0(R10), zb, Z18; \
	VFMADD231PS.BCST ao+4(R10), zb, Z19; \
	VFMADD231PS.BCST ao+8(R10), zb, Z20; \
	VFMADD231PS.BCST ao+12(R10), zb, Z21; \
	VFMADD231PS.BCST ao+16(R10), zb, Z22; \
	VFMADD231PS.BCST ao+20(R10), zb, Z23

// ADVANCE moves the four A panels by n bytes.
#define ADVANCE(n) \
	ADDQ $n, SI; \
	ADDQ $n, R8; \
	ADDQ $n, R9; \
	ADDQ $n, R10

// func kernel24x16z(k int, a *float32, astride int, b, c *float32, ldc int, alpha, beta float32, bias, pf *float32, pfLines int)
//
// C = alpha*(bias + A*B) + beta*C for 24 rows x 16 columns of C at c (row
// stride ldc floats); A micro-panel j (k steps of 6 floats) at a +
// j*astride floats; b a B micro-panel (k steps of 16 floats); a nil bias is
// zero, else 16 floats added to every row; beta == 0 does not read C.
// Before the tile, pfLines cache lines from pf on are prefetched into L2.
TEXT ·kernel24x16z(SB), NOSPLIT, $0-80
	MOVQ  a+8(FP), SI
	MOVQ  astride+16(FP), AX
	SHLQ  $2, AX
	LEAQ  (SI)(AX*1), R8
	LEAQ  (SI)(AX*2), R9
	LEAQ  (R8)(AX*2), R10
	MOVQ  b+24(FP), DI
	MOVQ  c+32(FP), DX
	MOVQ  ldc+40(FP), BX
	SHLQ  $2, BX
	MOVQ  pf+64(FP), R12
	MOVQ  pfLines+72(FP), R13
	TESTQ R13, R13
	JZ    zinit

zpf:
	PREFETCHT1 (R12)
	ADDQ       $64, R12
	DECQ       R13
	JNZ        zpf

zinit:
	MOVQ  bias+56(FP), R11
	TESTQ R11, R11
	JNZ   zbias
	ZERO24
	JMP    zstart

zbias:
	VMOVUPS (R11), Z0
	VMOVAPS Z0, Z1
	VMOVAPS Z0, Z2
	VMOVAPS Z0, Z3
	VMOVAPS Z0, Z4
	VMOVAPS Z0, Z5
	VMOVAPS Z0, Z6
	VMOVAPS Z0, Z7
	VMOVAPS Z0, Z8
	VMOVAPS Z0, Z9
	VMOVAPS Z0, Z10
	VMOVAPS Z0, Z11
	VMOVAPS Z0, Z12
	VMOVAPS Z0, Z13
	VMOVAPS Z0, Z14
	VMOVAPS Z0, Z15
	VMOVAPS Z0, Z16
	VMOVAPS Z0, Z17
	VMOVAPS Z0, Z18
	VMOVAPS Z0, Z19
	VMOVAPS Z0, Z20
	VMOVAPS Z0, Z21
	VMOVAPS Z0, Z22
	VMOVAPS Z0, Z23

zstart:
	MOVQ k+0(FP), CX
	MOVQ CX, R12
	SHRQ $2, R12
	JZ   ztail

	// Main loop: 4 k steps (96 bytes of each A panel, 256 bytes of B).
zloop4:
	PREFETCHT0 384(SI)
	PREFETCHT0 384(R8)
	PREFETCHT0 384(R9)
	PREFETCHT0 384(R10)
	ZSTEP(0, 0, Z24)
	ZSTEP(24, 64, Z25)
	ZSTEP(48, 128, Z24)
	ZSTEP(72, 192, Z25)
	ADVANCE(96)
	ADDQ $256, DI
	DECQ R12
	JNZ  zloop4

ztail:
	ANDQ $3, CX
	JZ   zdone

zloop1:
	ZSTEP(0, 0, Z24)
	ADVANCE(24)
	ADDQ $64, DI
	DECQ CX
	JNZ  zloop1

zdone:
	// alpha == 1 (every Linear): nothing to scale.
	MOVL alpha+48(FP), AX
	CMPL AX, $0x3f800000
	JEQ  zstore
	VBROADCASTSS alpha+48(FP), Z24
	VMULPS Z24, Z0, Z0
	VMULPS Z24, Z1, Z1
	VMULPS Z24, Z2, Z2
	VMULPS Z24, Z3, Z3
	VMULPS Z24, Z4, Z4
	VMULPS Z24, Z5, Z5
	VMULPS Z24, Z6, Z6
	VMULPS Z24, Z7, Z7
	VMULPS Z24, Z8, Z8
	VMULPS Z24, Z9, Z9
	VMULPS Z24, Z10, Z10
	VMULPS Z24, Z11, Z11
	VMULPS Z24, Z12, Z12
	VMULPS Z24, Z13, Z13
	VMULPS Z24, Z14, Z14
	VMULPS Z24, Z15, Z15
	VMULPS Z24, Z16, Z16
	VMULPS Z24, Z17, Z17
	VMULPS Z24, Z18, Z18
	VMULPS Z24, Z19, Z19
	VMULPS Z24, Z20, Z20
	VMULPS Z24, Z21, Z21
	VMULPS Z24, Z22, Z22
	VMULPS Z24, Z23, Z23

zstore:
	// beta == 0 (+0 or -0): store without reading C.
	MOVL beta+52(FP), AX
	SHLL $1, AX
	JNZ  zbeta
	VMOVUPS Z0, (DX)
	ADDQ    BX, DX
	VMOVUPS Z1, (DX)
	ADDQ    BX, DX
	VMOVUPS Z2, (DX)
	ADDQ    BX, DX
	VMOVUPS Z3, (DX)
	ADDQ    BX, DX
	VMOVUPS Z4, (DX)
	ADDQ    BX, DX
	VMOVUPS Z5, (DX)
	ADDQ    BX, DX
	VMOVUPS Z6, (DX)
	ADDQ    BX, DX
	VMOVUPS Z7, (DX)
	ADDQ    BX, DX
	VMOVUPS Z8, (DX)
	ADDQ    BX, DX
	VMOVUPS Z9, (DX)
	ADDQ    BX, DX
	VMOVUPS Z10, (DX)
	ADDQ    BX, DX
	VMOVUPS Z11, (DX)
	ADDQ    BX, DX
	VMOVUPS Z12, (DX)
	ADDQ    BX, DX
	VMOVUPS Z13, (DX)
	ADDQ    BX, DX
	VMOVUPS Z14, (DX)
	ADDQ    BX, DX
	VMOVUPS Z15, (DX)
	ADDQ    BX, DX
	VMOVUPS Z16, (DX)
	ADDQ    BX, DX
	VMOVUPS Z17, (DX)
	ADDQ    BX, DX
	VMOVUPS Z18, (DX)
	ADDQ    BX, DX
	VMOVUPS Z19, (DX)
	ADDQ    BX, DX
	VMOVUPS Z20, (DX)
	ADDQ    BX, DX
	VMOVUPS Z21, (DX)
	ADDQ    BX, DX
	VMOVUPS Z22, (DX)
	ADDQ    BX, DX
	VMOVUPS Z23, (DX)
	VZEROUPPER
	RET

zbeta:
	VBROADCASTSS beta+52(FP), Z25
	VFMADD231PS (DX), Z25, Z0
	VMOVUPS     Z0, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z1
	VMOVUPS     Z1, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z2
	VMOVUPS     Z2, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z3
	VMOVUPS     Z3, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z4
	VMOVUPS     Z4, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z5
	VMOVUPS     Z5, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z6
	VMOVUPS     Z6, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z7
	VMOVUPS     Z7, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z8
	VMOVUPS     Z8, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z9
	VMOVUPS     Z9, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z10
	VMOVUPS     Z10, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z11
	VMOVUPS     Z11, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z12
	VMOVUPS     Z12, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z13
	VMOVUPS     Z13, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z14
	VMOVUPS     Z14, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z15
	VMOVUPS     Z15, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z16
	VMOVUPS     Z16, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z17
	VMOVUPS     Z17, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z18
	VMOVUPS     Z18, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z19
	VMOVUPS     Z19, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z20
	VMOVUPS     Z20, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z21
	VMOVUPS     Z21, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z22
	VMOVUPS     Z22, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z23
	VMOVUPS     Z23, (DX)
	VZEROUPPER
	RET

// ZSROWS is one k step of the strided AVX-512 kernel: B row at DI into zb,
// the six A elements of rows 0-2 (SI) and 3-5 (R9), rsa bytes apart (R10),
// into accumulators z0..z5.
#define ZSROWS(zb, z0, z1, z2, z3, z4, z5) \
	VMOVUPS (DI), zb; \
	VFMADD231PS.BCST (SI), zb, z0; \
	VFMADD231PS.BCST (SI)(R10*1), zb, z1; \
	VFMADD231PS.BCST (SI)(R10*2), zb, z2; \
	VFMADD231PS.BCST (R9), zb, z3; \
	VFMADD231PS.BCST (R9)(R10*1), zb, z4; \
	VFMADD231PS.BCST (R9)(R10*2), zb, z5; \
	ADDQ R11, SI; \
	ADDQ R11, R9; \
	ADDQ R12, DI

// func kernel6x16zs(k int, a *float32, rsa, csa int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
//
// kernel6x16s with one ZMM per row of the tile: even k steps accumulate
// into Z0-Z5 and odd ones into Z6-Z11 (12 independent FMA chains), summed
// at the end.
TEXT ·kernel6x16zs(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rsa+16(FP), R10
	MOVQ csa+24(FP), R11
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), R12
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), BX
	SHLQ $2, R10
	SHLQ $2, R11
	SHLQ $2, R12
	SHLQ $2, BX
	LEAQ (SI)(R10*2), R9
	ADDQ R10, R9
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	MOVQ CX, R13
	SHRQ $1, R13
	JZ   zsodd

zsloop:
	ZSROWS(Z12, Z0, Z1, Z2, Z3, Z4, Z5)
	ZSROWS(Z13, Z6, Z7, Z8, Z9, Z10, Z11)
	DECQ R13
	JNZ  zsloop

zsodd:
	ANDQ $1, CX
	JZ   zsdone
	ZSROWS(Z12, Z0, Z1, Z2, Z3, Z4, Z5)

zsdone:
	VADDPS Z6, Z0, Z0
	VADDPS Z7, Z1, Z1
	VADDPS Z8, Z2, Z2
	VADDPS Z9, Z3, Z3
	VADDPS Z10, Z4, Z4
	VADDPS Z11, Z5, Z5
	MOVL alpha+64(FP), AX
	CMPL AX, $0x3f800000
	JEQ  zsstore
	VBROADCASTSS alpha+64(FP), Z14
	VMULPS Z14, Z0, Z0
	VMULPS Z14, Z1, Z1
	VMULPS Z14, Z2, Z2
	VMULPS Z14, Z3, Z3
	VMULPS Z14, Z4, Z4
	VMULPS Z14, Z5, Z5

zsstore:
	MOVL beta+68(FP), AX
	SHLL $1, AX
	JNZ  zsbeta
	VMOVUPS Z0, (DX)
	ADDQ    BX, DX
	VMOVUPS Z1, (DX)
	ADDQ    BX, DX
	VMOVUPS Z2, (DX)
	ADDQ    BX, DX
	VMOVUPS Z3, (DX)
	ADDQ    BX, DX
	VMOVUPS Z4, (DX)
	ADDQ    BX, DX
	VMOVUPS Z5, (DX)
	VZEROUPPER
	RET

zsbeta:
	VBROADCASTSS beta+68(FP), Z15
	VFMADD231PS (DX), Z15, Z0
	VMOVUPS     Z0, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z15, Z1
	VMOVUPS     Z1, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z15, Z2
	VMOVUPS     Z2, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z15, Z3
	VMOVUPS     Z3, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z15, Z4
	VMOVUPS     Z4, (DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z15, Z5
	VMOVUPS     Z5, (DX)
	VZEROUPPER
	RET

// The 12x32 kernel: two stacked 6x16 tiles wide by two B micro-panels
// (columns 0-15 from the panel at DI, 16-31 from the next, R11 bytes on),
// so each k step is 2 loads of B, 12 broadcasts of A into registers and 24
// register-register FMAs: 14 loads per 24 FMAs, where the 24x16 kernel
// needs 25.
//
//	Z0-Z23   row r: Z(2r) columns 0-15, Z(2r+1) columns 16-31
//	Z24 Z25  the B rows; Z26-Z31 broadcasts of A

// WSTEP is one k step: A step ao bytes into the panels at SI (rows 0-5)
// and R8 (rows 6-11), B step bo bytes into both B panels.
#define WSTEP(ao, bo) \
	VMOVUPS bo(DI), Z24; \
	VMOVUPS bo(DI)(R11*1), Z25; \
	VBROADCASTSS ao+0(SI), Z26; \
	VFMADD231PS Z24, Z26, Z0; \
	VFMADD231PS Z25, Z26, Z1; \
	VBROADCASTSS ao+4(SI), Z27; \
	VFMADD231PS Z24, Z27, Z2; \
	VFMADD231PS Z25, Z27, Z3; \
	VBROADCASTSS ao+8(SI), Z28; \
	VFMADD231PS Z24, Z28, Z4; \
	VFMADD231PS Z25, Z28, Z5; \
	VBROADCASTSS ao+12(SI), Z29; \
	VFMADD231PS Z24, Z29, Z6; \
	VFMADD231PS Z25, Z29, Z7; \
	VBROADCASTSS ao+16(SI), Z30; \
	VFMADD231PS Z24, Z30, Z8; \
	VFMADD231PS Z25, Z30, Z9; \
	VBROADCASTSS ao+20(SI), Z31; \
	VFMADD231PS Z24, Z31, Z10; \
	VFMADD231PS Z25, Z31, Z11; \
	VBROADCASTSS ao+0(R8), Z26; \
	VFMADD231PS Z24, Z26, Z12; \
	VFMADD231PS Z25, Z26, Z13; \
	VBROADCASTSS ao+4(R8), Z27; \
	VFMADD231PS Z24, Z27, Z14; \
	VFMADD231PS Z25, Z27, Z15; \
	VBROADCASTSS ao+8(R8), Z28; \
	VFMADD231PS Z24, Z28, Z16; \
	VFMADD231PS Z25, Z28, Z17; \
	VBROADCASTSS ao+12(R8), Z29; \
	VFMADD231PS Z24, Z29, Z18; \
	VFMADD231PS Z25, Z29, Z19; \
	VBROADCASTSS ao+16(R8), Z30; \
	VFMADD231PS Z24, Z30, Z20; \
	VFMADD231PS Z25, Z30, Z21; \
	VBROADCASTSS ao+20(R8), Z31; \
	VFMADD231PS Z24, Z31, Z22; \
	VFMADD231PS Z25, Z31, Z23

// CPREFETCH2 prefetches two rows of a 32-column C tile from R13 on (row
// stride BX) into L1 and moves R13 past them.
#define CPREFETCH2 \
	PREFETCHT0 (R13); \
	PREFETCHT0 64(R13); \
	ADDQ       BX, R13; \
	PREFETCHT0 (R13); \
	PREFETCHT0 64(R13); \
	ADDQ       BX, R13

// func kernel12x32z(k int, a *float32, astride int, b *float32, bstride int, c *float32, ldc int, alpha, beta float32, bias, pf *float32, pfLines int)
//
// C = alpha*(bias + A*B) + beta*C for 12 rows x 32 columns of C at c (row
// stride ldc floats); A micro-panels (k steps of 6 floats) at a and a +
// astride floats; B micro-panels (k steps of 16 floats) at b and b +
// bstride floats; a nil bias is zero, else 32 floats added to every row;
// beta == 0 does not read C. First pfLines lines from pf on go to L2.
TEXT ·kernel12x32z(SB), NOSPLIT, $0-88
	MOVQ  a+8(FP), SI
	MOVQ  astride+16(FP), AX
	LEAQ  (SI)(AX*4), R8
	MOVQ  b+24(FP), DI
	MOVQ  bstride+32(FP), R11
	SHLQ  $2, R11
	MOVQ  c+40(FP), DX
	MOVQ  ldc+48(FP), BX
	SHLQ  $2, BX
	MOVQ  pf+72(FP), R12
	MOVQ  pfLines+80(FP), R13
	TESTQ R13, R13
	JZ    winit

wpf:
	PREFETCHT1 (R12)
	ADDQ       $64, R12
	DECQ       R13
	JNZ        wpf

winit:
	// The C tile's 24 lines into L1 while the k loop runs.
	MOVQ DX, R13
	CPREFETCH2
	CPREFETCH2
	CPREFETCH2
	CPREFETCH2
	CPREFETCH2
	CPREFETCH2
	MOVQ  bias+64(FP), R10
	TESTQ R10, R10
	JNZ   wbias
	ZERO24
	JMP    wstart

wbias:
	VMOVUPS (R10), Z0
	VMOVUPS 64(R10), Z1
	VMOVAPS Z0, Z2
	VMOVAPS Z1, Z3
	VMOVAPS Z0, Z4
	VMOVAPS Z1, Z5
	VMOVAPS Z0, Z6
	VMOVAPS Z1, Z7
	VMOVAPS Z0, Z8
	VMOVAPS Z1, Z9
	VMOVAPS Z0, Z10
	VMOVAPS Z1, Z11
	VMOVAPS Z0, Z12
	VMOVAPS Z1, Z13
	VMOVAPS Z0, Z14
	VMOVAPS Z1, Z15
	VMOVAPS Z0, Z16
	VMOVAPS Z1, Z17
	VMOVAPS Z0, Z18
	VMOVAPS Z1, Z19
	VMOVAPS Z0, Z20
	VMOVAPS Z1, Z21
	VMOVAPS Z0, Z22
	VMOVAPS Z1, Z23

wstart:
	MOVQ k+0(FP), CX
	MOVQ CX, R12
	SHRQ $2, R12
	JZ   wtail

wloop4:
	PREFETCHT0 384(SI)
	PREFETCHT0 384(R8)
	WSTEP(0, 0)
	WSTEP(24, 64)
	WSTEP(48, 128)
	WSTEP(72, 192)
	ADDQ $96, SI
	ADDQ $96, R8
	ADDQ $256, DI
	DECQ R12
	JNZ  wloop4

wtail:
	ANDQ $3, CX
	JZ   wdone

wloop1:
	WSTEP(0, 0)
	ADDQ $24, SI
	ADDQ $24, R8
	ADDQ $64, DI
	DECQ CX
	JNZ  wloop1

wdone:
	MOVL alpha+56(FP), AX
	CMPL AX, $0x3f800000
	JEQ  wstore
	VBROADCASTSS alpha+56(FP), Z24
	VMULPS Z24, Z0, Z0
	VMULPS Z24, Z1, Z1
	VMULPS Z24, Z2, Z2
	VMULPS Z24, Z3, Z3
	VMULPS Z24, Z4, Z4
	VMULPS Z24, Z5, Z5
	VMULPS Z24, Z6, Z6
	VMULPS Z24, Z7, Z7
	VMULPS Z24, Z8, Z8
	VMULPS Z24, Z9, Z9
	VMULPS Z24, Z10, Z10
	VMULPS Z24, Z11, Z11
	VMULPS Z24, Z12, Z12
	VMULPS Z24, Z13, Z13
	VMULPS Z24, Z14, Z14
	VMULPS Z24, Z15, Z15
	VMULPS Z24, Z16, Z16
	VMULPS Z24, Z17, Z17
	VMULPS Z24, Z18, Z18
	VMULPS Z24, Z19, Z19
	VMULPS Z24, Z20, Z20
	VMULPS Z24, Z21, Z21
	VMULPS Z24, Z22, Z22
	VMULPS Z24, Z23, Z23

wstore:
	MOVL beta+60(FP), AX
	SHLL $1, AX
	JNZ  wbeta
	STORE12X32
	VZEROUPPER
	RET

wbeta:
	VBROADCASTSS beta+60(FP), Z25
	VFMADD231PS (DX), Z25, Z0
	VFMADD231PS 64(DX), Z25, Z1
	VMOVUPS     Z0, (DX)
	VMOVUPS     Z1, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z2
	VFMADD231PS 64(DX), Z25, Z3
	VMOVUPS     Z2, (DX)
	VMOVUPS     Z3, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z4
	VFMADD231PS 64(DX), Z25, Z5
	VMOVUPS     Z4, (DX)
	VMOVUPS     Z5, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z6
	VFMADD231PS 64(DX), Z25, Z7
	VMOVUPS     Z6, (DX)
	VMOVUPS     Z7, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z8
	VFMADD231PS 64(DX), Z25, Z9
	VMOVUPS     Z8, (DX)
	VMOVUPS     Z9, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z10
	VFMADD231PS 64(DX), Z25, Z11
	VMOVUPS     Z10, (DX)
	VMOVUPS     Z11, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z12
	VFMADD231PS 64(DX), Z25, Z13
	VMOVUPS     Z12, (DX)
	VMOVUPS     Z13, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z14
	VFMADD231PS 64(DX), Z25, Z15
	VMOVUPS     Z14, (DX)
	VMOVUPS     Z15, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z16
	VFMADD231PS 64(DX), Z25, Z17
	VMOVUPS     Z16, (DX)
	VMOVUPS     Z17, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z18
	VFMADD231PS 64(DX), Z25, Z19
	VMOVUPS     Z18, (DX)
	VMOVUPS     Z19, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z20
	VFMADD231PS 64(DX), Z25, Z21
	VMOVUPS     Z20, (DX)
	VMOVUPS     Z21, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z22
	VFMADD231PS 64(DX), Z25, Z23
	VMOVUPS     Z22, (DX)
	VMOVUPS     Z23, 64(DX)
	VZEROUPPER
	RET

// The thin path's AVX-512 kernel: 12 rows of an unpacked A (element (i, p)
// at a[i*rsa + p*csa]; in the thin path, twelve rows of a Linear
// layer's weight matrix read in place) by two packed B micro-panels (32
// columns), into a 12 x 32 tile: the 12x32 kernel's 24 accumulators, with
// A's rows reached from four base registers three rows each.
//
//	Z0-Z23   row r: Z(2r) columns 0-15, Z(2r+1) columns 16-31
//	Z24 Z25  the B rows; Z26-Z31 broadcasts of A
//	SI R9 R12 R13  rows 0, 3, 6, 9 of A (R10 = rsa bytes, R11 = csa bytes)

// TSTEP is one k step of kernel12x32zt.
#define TSTEP \
	VMOVUPS (DI), Z24; \
	VMOVUPS (DI)(R8*1), Z25; \
	VBROADCASTSS (SI), Z26; \
	VFMADD231PS Z24, Z26, Z0; \
	VFMADD231PS Z25, Z26, Z1; \
	VBROADCASTSS (SI)(R10*1), Z27; \
	VFMADD231PS Z24, Z27, Z2; \
	VFMADD231PS Z25, Z27, Z3; \
	VBROADCASTSS (SI)(R10*2), Z28; \
	VFMADD231PS Z24, Z28, Z4; \
	VFMADD231PS Z25, Z28, Z5; \
	VBROADCASTSS (R9), Z29; \
	VFMADD231PS Z24, Z29, Z6; \
	VFMADD231PS Z25, Z29, Z7; \
	VBROADCASTSS (R9)(R10*1), Z30; \
	VFMADD231PS Z24, Z30, Z8; \
	VFMADD231PS Z25, Z30, Z9; \
	VBROADCASTSS (R9)(R10*2), Z31; \
	VFMADD231PS Z24, Z31, Z10; \
	VFMADD231PS Z25, Z31, Z11; \
	VBROADCASTSS (R12), Z26; \
	VFMADD231PS Z24, Z26, Z12; \
	VFMADD231PS Z25, Z26, Z13; \
	VBROADCASTSS (R12)(R10*1), Z27; \
	VFMADD231PS Z24, Z27, Z14; \
	VFMADD231PS Z25, Z27, Z15; \
	VBROADCASTSS (R12)(R10*2), Z28; \
	VFMADD231PS Z24, Z28, Z16; \
	VFMADD231PS Z25, Z28, Z17; \
	VBROADCASTSS (R13), Z29; \
	VFMADD231PS Z24, Z29, Z18; \
	VFMADD231PS Z25, Z29, Z19; \
	VBROADCASTSS (R13)(R10*1), Z30; \
	VFMADD231PS Z24, Z30, Z20; \
	VFMADD231PS Z25, Z30, Z21; \
	VBROADCASTSS (R13)(R10*2), Z31; \
	VFMADD231PS Z24, Z31, Z22; \
	VFMADD231PS Z25, Z31, Z23; \
	ADDQ R11, SI; \
	ADDQ R11, R9; \
	ADDQ R11, R12; \
	ADDQ R11, R13; \
	ADDQ $64, DI

// func kernel12x32zt(k int, a *float32, rsa, csa int, b *float32, bstride int, c *float32, ldc int)
//
// C = A*B for 12 rows x 32 columns of C at c (row stride ldc floats): A
// unpacked as above, B two packed micro-panels (k steps of 16 floats) at b
// and b + bstride floats. C is written, never read.
TEXT ·kernel12x32zt(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rsa+16(FP), R10
	MOVQ csa+24(FP), R11
	MOVQ b+32(FP), DI
	MOVQ bstride+40(FP), R8
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), BX
	SHLQ $2, R10
	SHLQ $2, R11
	SHLQ $2, R8
	SHLQ $2, BX
	LEAQ (SI)(R10*2), R9
	ADDQ R10, R9
	LEAQ (R9)(R10*2), R12
	ADDQ R10, R12
	LEAQ (R12)(R10*2), R13
	ADDQ R10, R13
	ZERO24
	TESTQ CX, CX
	JZ    tstore

tloop:
	TSTEP
	DECQ CX
	JNZ  tloop

tstore:
	STORE12X32
	VZEROUPPER
	RET
