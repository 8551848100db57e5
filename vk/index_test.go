package vk_test

import (
	"fmt"
	"testing"

	"github.com/duo-go/duo/tensor"
	"github.com/duo-go/duo/vk"
)

func TestEmbedding(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(14)
		for _, c := range []struct{ k, dim, n int }{{10, 8, 30}, {50, 300, 12}, {3, 5, 600}} {
			name := fmt.Sprintf("%+v", c)
			table := randT(r, 1, c.k, c.dim)
			ids := make([]int32, c.n)
			for i := range ids {
				ids[i] = int32(r.IntN(c.k)) // repeats included
			}
			gt, gi := up(d, table), d.NewBufferInt32(ids)
			out := d.NewBuffer(c.n * c.dim)
			d.Embedding(out, gt, gi, c.dim)
			near(t, "embedding "+name, out.Download(), tensor.Embedding(table, ids).Data(), 0, 0)

			g := randT(r, 1, c.n, c.dim)
			dtable := randT(r, 1, c.k, c.dim)
			gdt := up(d, dtable)
			tensor.EmbeddingBackward(g, ids, dtable)
			d.EmbeddingBackward(gdt, up(d, g), gi, c.dim)
			// Same additions in the same order: equal up to FMA contraction.
			near(t, "embedding backward "+name, gdt.Download(), dtable.Data(), 1e-6, 1e-6)
		}
	})
}

func TestGatherArgmax(t *testing.T) {
	both(t, func(t *testing.T, d *vk.Device) {
		r := rng(15)
		for _, c := range []struct{ rows, n int }{{9, 7}, {4, 1000}} {
			name := fmt.Sprintf("%+v", c)
			x := randT(r, 1, c.rows, c.n)
			x.Data()[3] = 5 // a tie in row 0 (when n > 3): the first wins
			x.Data()[min(5, c.n-1)] = 5
			idx := make([]int32, c.rows)
			for i := range idx {
				idx[i] = int32(r.IntN(c.n))
			}
			gx, gi := up(d, x), d.NewBufferInt32(idx)
			out := d.NewBuffer(c.rows)
			d.GatherLast(out, gx, gi, c.n)
			near(t, "gather "+name, out.Download(), tensor.GatherLast(x, idx).Data(), 0, 0)
			g := randT(r, 1, c.rows)
			dx := d.NewBuffer(x.Len())
			d.GatherLastBackward(dx, up(d, g), gi, c.n)
			near(t, "gather backward "+name, dx.Download(), tensor.GatherLastBackward(g, idx, x.Shape()).Data(), 0, 0)

			am := d.NewBuffer(c.rows)
			d.Argmax(am, gx, c.n)
			got, want := am.DownloadInt32(), tensor.Argmax(x)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("argmax %s row %d: got %d, want %d", name, i, got[i], want[i])
				}
			}
		}
	})
}

func TestConcatSplit(t *testing.T) {
	d := device(t)
	r := rng(16)
	for axis := 0; axis < 3; axis++ {
		s1, s2 := []int{2, 3, 4}, []int{2, 3, 4}
		s2[axis] = 5
		a, b := randT(r, 1, s1...), randT(r, 1, s2...)
		want := tensor.Concat(axis, a, b)
		out := d.NewBuffer(want.Len())
		d.Concat(out, axis, []*vk.Buffer{up(d, a), up(d, b)}, [][]int{s1, s2})
		near(t, fmt.Sprint("concat axis ", axis), out.Download(), want.Data(), 0, 0)
		parts := tensor.Split(want, axis, s1[axis], s2[axis])
		o1, o2 := d.NewBuffer(a.Len()), d.NewBuffer(b.Len())
		d.Split([]*vk.Buffer{o1, o2}, out, want.Shape(), axis, []int{s1[axis], s2[axis]})
		near(t, fmt.Sprint("split 1 axis ", axis), o1.Download(), parts[0].Data(), 0, 0)
		near(t, fmt.Sprint("split 2 axis ", axis), o2.Download(), parts[1].Data(), 0, 0)
	}
}
