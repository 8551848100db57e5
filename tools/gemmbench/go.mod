module github.com/duo-go/duo/tools/gemmbench

go 1.26.8

require (
	github.com/duo-go/duo v0.0.0-00010101000000-000000000000
	github.com/klauspost/cpuid/v2 v2.3.0
	golang.org/x/sys v0.50.0
	gonum.org/v1/gonum v0.17.0
)

replace github.com/duo-go/duo => ../..
