#version 450
// copy2d: dst[dOff + r*dStride + c] = src[sOff + r*sStride + c] for r < rows,
// c < cols. The host builds tensor.Concat, Split, Clone, row broadcasts
// (a bias copied into every row of tensor.Linear: sStride 0) and strided
// sub-block copies from it.
layout(local_size_x = 256) in;

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };

layout(push_constant) uniform Params {
    uint rows, cols;
    uint dOff, dStride;
    uint sOff, sStride;
} p;

void main() {
    uint total = p.rows * p.cols;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
        uint r = e / p.cols, c = e % p.cols;
        dst[p.dOff + r * p.dStride + c] = src[p.sOff + r * p.sStride + c];
    }
}
