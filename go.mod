module github.com/duo-go/duo

go 1.26.8

require (
	github.com/klauspost/cpuid/v2 v2.3.0
	github.com/vulkan-go/vulkan v0.0.0-20221209234627-c0a353ae26c8
	golang.org/x/sys v0.50.0
	// Only in the benchmark-only build (-tags openblas): internal/gemmref's
	// reference columns of duo bench gemm. The engine never imports it.
	gonum.org/v1/gonum v0.17.0
)

require github.com/chromedp/chromedp v0.23.1

require (
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
)
