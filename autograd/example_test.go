package autograd_test

import (
	"fmt"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/tensor"
)

// The tape records each operation as it runs; Backward fills the gradients
// of the parameters. Here loss = mean((x W^T + b)^2) for one row x.
func ExampleTape() {
	w := autograd.Param(tensor.From([]float32{1, 2, 3, 4}, 2, 2)) // 2 outputs x 2 inputs
	b := autograd.Param(tensor.From([]float32{0.5, -0.5}, 2))
	x := autograd.Const(tensor.From([]float32{1, 1}, 1, 2))

	tp := autograd.NewTape()
	tp.SetReleaseValues(true) // a training loop reads only the loss after Backward
	y := tp.Linear(x, w, b)   // [3.5, 6.5]
	loss := tp.MeanAll(tp.Mul(y, y))
	fmt.Println("loss:", loss.Value.Item())
	if err := tp.Backward(loss); err != nil {
		panic(err)
	}
	fmt.Println("dW:", w.Grad.Host(), "db:", b.Grad.Host())
	// Output:
	// loss: 27.25
	// dW: [3.5 3.5 6.5 6.5] db: [3.5 6.5]
}
