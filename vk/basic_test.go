package vk_test

import (
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

func TestDevices(t *testing.T) {
	d := device(t)
	devs, err := vk.Devices()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range devs {
		t.Logf("%v suitable=%v %s", i, i.Suitable, i.Reason)
	}
	if d.Info().Index >= len(devs) {
		t.Fatal("device index out of range")
	}
}

func TestUploadDownload(t *testing.T) {
	d := device(t)
	x := randn(rng(1), 1000, 1)
	b := d.NewBufferFrom(x)
	defer b.Release()
	near(t, "roundtrip", b.Download(), x, 0, 0)
	z := d.NewBuffer(77)
	for _, v := range z.Download() {
		if v != 0 {
			t.Fatal("NewBuffer not zeroed")
		}
	}
	ids := []int32{3, -1, 7}
	ib := d.NewBufferInt32(ids)
	got := ib.DownloadInt32()
	for i := range ids {
		if got[i] != ids[i] {
			t.Fatal("int32 roundtrip")
		}
	}
}

func TestSinusoidal(t *testing.T) {
	d := device(t)
	sigma := []float32{0, 0.3, 7}
	out := d.NewBuffer(3 * 2 * 16)
	d.Sinusoidal(out, sigma, 16, 10000)
	near(t, "sinusoidal", out.Download(), tensor.Sinusoidal(sigma, 16, 10000).Data(), 0, 0)
}
