#version 450
// adamw: one AdamW step on one parameter tensor with PyTorch's
// torch.optim.AdamW semantics (nn.AdamW.Step): w *= decay; m, v moments;
// w -= step * m / (sqrt(v) * rbc2 + eps). The host folds the learning rate,
// the weight decay and the bias corrections into the push constants exactly
// as nn.AdamW does.
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Wt { float w[]; };
layout(std430, binding = 1) readonly buffer Gr { float g[]; };
layout(std430, binding = 2) buffer M1 { float m[]; };
layout(std430, binding = 3) buffer M2 { float v[]; };

layout(push_constant) uniform Params {
    uint n;
    float b1, b2, eps, decay, stepSize, rbc2;
} p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        float gi = g[i];
        float wi = w[i] * p.decay;
        float mi = p.b1 * m[i] + (1.0 - p.b1) * gi;
        float vi = p.b2 * v[i] + (1.0 - p.b2) * gi * gi;
        wi -= p.stepSize * mi / (sqrt(vi) * p.rbc2 + p.eps);
        w[i] = wi;
        m[i] = mi;
        v[i] = vi;
    }
}
