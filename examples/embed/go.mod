module example.com/embed

go 1.26.8

require github.com/duo-go/duo v0.0.0

require (
	github.com/klauspost/cpuid/v2 v2.3.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/duo-go/duo => ../..
