package vk

import "math"

// adamWParams are the hyper-parameters and the step number of one AdamW
// update (nn.AdamW: PyTorch's torch.optim.AdamW).
type adamWParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Step                               int // 1 for the first update
}

// adamW applies one update to the parameter w with gradient g and moments m
// and v, folding the learning rate, decay and bias corrections into the
// kernel's constants exactly as nn.AdamW.Step does.
func (d *Device) adamW(w, g, m, v *Buffer, p adamWParams) {
	n := w.Len()
	mustLen("adamw", g, n)
	mustLen("adamw", m, n)
	mustLen("adamw", v, n)
	bc1 := 1 - math.Pow(p.Beta1, float64(p.Step))
	bc2 := 1 - math.Pow(p.Beta2, float64(p.Step))
	pc := push{}.u(n).f(float32(p.Beta1), float32(p.Beta2), float32(p.Eps), float32(1-p.LR*p.WeightDecay),
		float32(p.LR/bc1), float32(1/math.Sqrt(bc2)))
	d.run(kAdamW, nil, [3]int{gridGroups(n, 256), 1, 1}, pc, wr(w), rd(g), wr(m), wr(v))
}

// sinusoidal writes the DiT's time features for each sigma into out
// (len(sigma), 2*half): [cos(sigma*f_j) | sin(sigma*f_j)] with
// f_j = exp(-ln(maxPeriod) j/half) (tensor.Sinusoidal). The few values are
// computed on the host, bit for bit as the CPU does, and uploaded in order
// with the recorded work (no host wait).
func (d *Device) sinusoidal(out *Buffer, sigma []float32, half int, maxPeriod float64) {
	mustLen("sinusoidal", out, len(sigma)*2*half)
	v := make([]float32, len(sigma)*2*half)
	for b, s := range sigma {
		row := v[b*2*half : (b+1)*2*half]
		for j := 0; j < half; j++ {
			f := math.Exp(-math.Log(maxPeriod) * float64(j) / float64(half))
			a := float64(s) * f
			row[j] = float32(math.Cos(a))
			row[half+j] = float32(math.Sin(a))
		}
	}
	out.Upload(v)
}
