package shaders

import "testing"

func TestModules(t *testing.T) {
	names := Names()
	if len(names) == 0 {
		t.Fatal("no embedded modules")
	}
	for _, n := range names {
		w, err := Code(n)
		if err != nil {
			t.Fatal(err)
		}
		if w[0] != magic {
			t.Fatalf("%s: bad magic %#x", n, w[0])
		}
	}
	for _, want := range []string{"matmul", "softmax", "softmax_sg", "attention_fwd", "adamw"} {
		if _, err := Code(want); err != nil {
			t.Error(err)
		}
	}
	if _, err := Code("nope"); err == nil {
		t.Error("missing module did not fail")
	}
}
