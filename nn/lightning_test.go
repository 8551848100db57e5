package nn

import (
	"slices"
	"strings"
	"testing"

	"github.com/duo-go/duo/tensor"
)

// The Lightning checkpoint written by torch.save gives PyTorch's logits
// with its raw weights and with its EMA weights (whose list is mapped to
// names by module registration order), and the bf16 one those of its
// rounded weights.
func TestLightningMatchesPyTorch(t *testing.T) {
	g := readHFGolden(t)
	cases := []struct {
		name   string
		file   string
		opt    LightningOptions
		want   *tensor.Tensor
		useEMA bool
	}{
		{"raw", "lightning_tiny.ckpt", LightningOptions{EMA: EMAOff, Dropout: -1}, g.logits, false},
		{"auto takes the EMA", "lightning_tiny.ckpt", LightningOptions{EMA: EMAAuto, Dropout: -1}, g.logitsEMA, true},
		{"required EMA", "lightning_tiny.ckpt", LightningOptions{EMA: EMARequire, Dropout: -1, Length: 16, Heads: 4}, g.logitsEMA, true},
		{"bf16, no hyper-parameters", "lightning_tiny_bf16.ckpt", LightningOptions{EMA: EMAAuto, Length: 16, Dropout: 0}, g.logitsBF16, false},
		{"bare DiT state dict", "dit_state_dict.pt", LightningOptions{Length: 16, Dropout: 0}, g.logits, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, info, err := LoadLightning("../testdata/"+c.file, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, "logits", logitsOf(t, m, g), c.want)
			if info.EMA != c.useEMA {
				t.Errorf("EMA used: %v, want %v", info.EMA, c.useEMA)
			}
			want := Config{Vocab: 67, Length: 16, Hidden: 32, Cond: 16, Blocks: 2, Heads: 4, MLPRatio: 4, Dropout: 0.1}
			if c.opt.Dropout == 0 {
				want.Dropout = 0
			}
			if m.Config != want {
				t.Errorf("config %+v, want %+v", m.Config, want)
			}
			if c.file == "lightning_tiny.ckpt" {
				if info.Algo != "duo" || info.EMAUpdates != 3 || !info.HasEMA || !slices.Equal(info.Ignored, []string{"noise.dummy_buffer"}) {
					t.Errorf("info %+v", info)
				}
			}
		})
	}
}

func TestLightningErrors(t *testing.T) {
	cases := []struct {
		name, file string
		opt        LightningOptions
		want       string
	}{
		{"no EMA", "lightning_tiny_bf16.ckpt", LightningOptions{EMA: EMARequire, Length: 16}, "no EMA weights"},
		{"length unknown", "lightning_tiny_bf16.ckpt", LightningOptions{}, "give it with --length"},
		{"length disagrees", "lightning_tiny.ckpt", LightningOptions{Length: 32, Dropout: -1}, "model_length: --length says 32 but hyper-parameter config.model.length says 16"},
		{"heads disagree", "lightning_tiny.ckpt", LightningOptions{Heads: 2, Dropout: -1}, "n_heads"},
		{"non-contiguous", "lightning_bad.ckpt", LightningOptions{Length: 16, Heads: 4}, "non-contiguous"},
		{"not a zip", "hf_tiny/config.json", LightningOptions{}, "not a zip archive"},
		{"missing", "nosuch.ckpt", LightningOptions{}, "nosuch.ckpt"},
	}
	for _, c := range cases {
		_, _, err := LoadLightning("../testdata/"+c.file, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
			t.Errorf("%s: error %v; want one naming %s and containing %q", c.name, err, c.file, c.want)
		}
	}
}
